package contrib

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboard: the dashboard is valid JSON that Grafana imports
// (a Prometheus data source input, unique panel ids), and every nai_
// series a panel queries is one the agents export (server/metrics.go,
// client/metrics_export.go), so a renamed metric cannot leave a panel
// silently empty.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/nai.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs []struct{ Name, PluginID string } `json:"__inputs"`
		Title  string                            `json:"title"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana/nai.json: %v", err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("inputs %+v: want one Prometheus data source", d.Inputs)
	}
	var exported strings.Builder
	for _, f := range []string{"../server/metrics.go", "../client/metrics_export.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exported.Write(src)
	}
	name := regexp.MustCompile(`\bnai_[a-z_]+\b`)
	ids := map[int]bool{}
	used := map[string]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					m = strings.TrimSuffix(m, suf)
				}
				used[m] = true
				if !strings.Contains(exported.String(), `"`+m+`"`) {
					t.Errorf("panel %q queries %s, which no agent exports", p.Title, m)
				}
			}
		}
	}
	for _, m := range []string{"nai_gpus", "nai_queue_jobs", "nai_gpu_utilization_ratio", "nai_scheduler_pass_seconds",
		"nai_placements_total", "nai_job_outcomes_total", "nai_raft_commit_seconds", "nai_raft_leader_changes_total", "nai_blob_store_bytes"} {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}
