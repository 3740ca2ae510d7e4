package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nai-project/nai/structs"
)

// scrape reads /v1/metrics with Prometheus's own text parser.
func scrape(t *testing.T, addr, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, addr+"/v1/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}

// sumSeries sums the values of a family's series whose labels match.
func sumSeries(f *dto.MetricFamily, labels map[string]string) float64 {
	var sum float64
	for _, m := range f.GetMetric() {
		ok := true
		for k, v := range labels {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// TestMetricsEndpoint scrapes a dev agent running jobs: every series the
// dashboards use is there, and the GPUs counted allocated are the GPUs of
// the running jobs.
func TestMetricsEndpoint(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	dir := t.TempDir()
	// One job that ends (an outcome), two that hold 1 + 2 GPUs until
	// released.
	done := a.submit(dir, "quick", `job "quick" {
  resources {
    cpu    = 0.2
    memory = "64MiB"
  }
  task { command = "/bin/true" }
}
`)
	a.waitJob(done, 60*time.Second)
	hold := func(name string, gpus int) string {
		return a.submit(dir, name, `job "`+name+`" {
  resources {
    cpu    = 0.2
    memory = "64MiB"
    gpu { count = `+strconv.Itoa(gpus)+` }
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "while [ ! -e `+dir+`/release ]; do sleep 0.05; done"]
  }
}
`)
	}
	ids := []string{hold("one", 1), hold("two", 2)}
	waitFor(t, 60*time.Second, "both jobs run", func() bool {
		for _, id := range ids {
			j, _, err := a.api().Job(context.Background(), id)
			if err != nil || j.Status != structs.JobRunning {
				return false
			}
		}
		return true
	})
	// nai top shows who holds which GPU.
	top := a.mustNai("top", "-once")
	for _, want := range []string{"4 GPUs: 3 allocated, 1 free, 0 unhealthy", "queue: 2 running, 0 pending", ids[0] + " one", ids[1] + " two"} {
		if !strings.Contains(top, want) {
			t.Errorf("nai top -once lacks %q:\n%s", want, top)
		}
	}
	fams := scrape(t, a.addr, "")
	for _, name := range []string{
		"nai_queue_jobs", "nai_gpus", "nai_gpu_utilization_ratio", "nai_scheduler_pass_seconds",
		"nai_placements_total", "nai_job_outcomes_total", "nai_raft_commit_seconds",
		"nai_raft_leader_changes_total", "nai_blob_store_bytes", "go_goroutines", "go_memstats_heap_alloc_bytes",
		"process_resident_memory_bytes",
	} {
		if fams[name] == nil {
			t.Errorf("series %s missing from /v1/metrics", name)
		}
	}
	if t.Failed() {
		return
	}
	running, err := a.api().Queue(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var gpus int
	for _, j := range running {
		if j.Status == structs.JobRunning {
			gpus += len(j.GPUs)
		}
	}
	if got := sumSeries(fams["nai_gpus"], map[string]string{"state": "allocated"}); got != float64(gpus) || gpus != 3 {
		t.Errorf("nai_gpus{state=allocated} = %v; the running jobs hold %d GPUs (want 3)", got, gpus)
	}
	if got := sumSeries(fams["nai_gpus"], map[string]string{"state": "free"}); got != 1 {
		t.Errorf("nai_gpus{state=free} = %v, want 1", got)
	}
	if got := sumSeries(fams["nai_queue_jobs"], map[string]string{"queue": "default", "state": "running"}); got != 2 {
		t.Errorf("nai_queue_jobs{queue=default,state=running} = %v, want 2", got)
	}
	if got := sumSeries(fams["nai_job_outcomes_total"], map[string]string{"reason": "complete"}); got != 1 {
		t.Errorf("nai_job_outcomes_total{reason=complete} = %v, want 1", got)
	}
	if got := sumSeries(fams["nai_placements_total"], nil); got < 3 {
		t.Errorf("nai_placements_total = %v, want at least 3", got)
	}
	if h := fams["nai_scheduler_pass_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() == 0 {
		t.Errorf("nai_scheduler_pass_seconds has no observations")
	}
	if h := fams["nai_raft_commit_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() == 0 {
		t.Errorf("nai_raft_commit_seconds has no observations")
	}
	if got := sumSeries(fams["nai_raft_leader_changes_total"], nil); got < 1 {
		t.Errorf("nai_raft_leader_changes_total = %v, want at least the first election", got)
	}
	if got := len(fams["nai_gpu_utilization_ratio"].GetMetric()); got != 4 {
		t.Errorf("nai_gpu_utilization_ratio has %d series, want one per GPU (4)", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		a.waitJob(id, 60*time.Second)
	}
}

// TestMetricsACL: with ACLs on, /v1/metrics needs an operator token.
func TestMetricsACL(t *testing.T) {
	a, mgmt := startACLAgent(t, 1)
	ctx := context.Background()
	if _, err := mgmt.CreateUser(ctx, &structs.User{Name: "carol"}); err != nil {
		t.Fatal(err)
	}
	user, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{User: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{Name: "prometheus", Policies: []string{structs.PolicyOperator}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a user's token", user.SecretID, http.StatusForbidden},
		{"an operator token", op.SecretID, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, a.addr+"/v1/metrics", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: /v1/metrics answered %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	if fams := scrape(t, a.addr, op.SecretID); fams["nai_gpus"] == nil {
		t.Errorf("the operator's scrape has no nai_gpus")
	}
}
