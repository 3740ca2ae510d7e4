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

// clusterWide are the series every server exports alike, read from the
// replicated state: a sum over the servers counts each figure once per
// server, so a panel takes their max first (docs/operations.md).
var clusterWide = []string{"nai_gpus", "nai_nodes", "nai_queue_jobs", "nai_job_outcomes_total", "nai_jobs_finished"}

// TestGrafanaClusterWideMax: no panel sums a per-server cluster-wide
// series; the innermost aggregation over each is a max.
func TestGrafanaClusterWideMax(t *testing.T) {
	b, err := os.ReadFile("grafana/nai.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range clusterWide {
				re := regexp.MustCompile(`\b` + m + `\b`)
				for _, loc := range re.FindAllStringIndex(tg.Expr, -1) {
					if agg := innermostAggregation(tg.Expr, loc[0]); agg != "max" {
						t.Errorf("panel %q: %s is aggregated with %q, want max (every server exports it): %s", p.Title, m, agg, tg.Expr)
					}
				}
			}
		}
	}
	// Every template variable is used by some query.
	for _, v := range d.Templating.List {
		used := false
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				used = used || strings.Contains(tg.Expr, "$"+v.Name)
			}
		}
		if !used {
			t.Errorf("template variable $%s is used by no panel", v.Name)
		}
	}
}

func TestInnermostAggregation(t *testing.T) {
	for expr, want := range map[string]string{
		`sum(nai_gpus{state="free"})`:                            "sum",
		`sum(max by (node) (nai_gpus{state="free"}))`:            "max",
		`sum by (state) (max by (node, state) (nai_gpus))`:       "max",
		`sum by (status) (nai_nodes)`:                            "sum",
		`max by (reason) (increase(nai_job_outcomes_total[1h]))`: "max",
		`nai_gpus`: "",
	} {
		if got := innermostAggregation(expr, strings.Index(expr, "nai_")); got != want {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}

// innermostAggregation returns the aggregation operator (sum, max, ...)
// nearest around position i of a PromQL expression, "" for none.
// Functions (increase, rate, ...) between are looked through.
func innermostAggregation(expr string, i int) string {
	aggs := map[string]bool{"sum": true, "max": true, "min": true, "avg": true, "count": true, "topk": true, "bottomk": true, "quantile": true, "group": true, "stddev": true, "stdvar": true}
	word := regexp.MustCompile(`([a-z_]+)\s*$`)
	for {
		// The unmatched '(' before i.
		depth := 0
		j := i - 1
		for ; j >= 0; j-- {
			if expr[j] == ')' {
				depth++
			} else if expr[j] == '(' {
				if depth == 0 {
					break
				}
				depth--
			}
		}
		if j < 0 {
			return ""
		}
		before := strings.TrimRight(expr[:j], " ")
		// A grouping clause: "max by (node) (" — skip "(node)" and "by".
		if strings.HasSuffix(before, ")") {
			k := strings.LastIndex(before, "(")
			before = strings.TrimRight(before[:k], " ")
			before = strings.TrimSuffix(strings.TrimSuffix(before, "by"), "without")
		}
		m := word.FindStringSubmatch(before)
		if m == nil {
			i = j
			continue
		}
		if aggs[m[1]] {
			return m[1]
		}
		i = j
	}
}
