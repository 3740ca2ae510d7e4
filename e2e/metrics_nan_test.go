package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// divergeScript writes metrics as a diverging Python run does
// (json.dumps writes NaN, Infinity and -Infinity bare), with two lines
// that are not JSON at all.
const divergeScript = `#!/bin/sh
m="$NAI_METRICS_FILE"
echo 'starting training' >> "$m"
echo '{"step": 1, "loss": 0.5, "grad": 1.5}' >> "$m"
echo '{"step": 2, "loss": 0.25, "eval": {"acc": NaN}}' >> "$m"
echo '{"step": 3, "loss": NaN, "grad": Infinity, "lr": 0.1}' >> "$m"
echo '{"step": 4, "loss": NaN, "grad": -Infinity}' >> "$m"
echo 'Traceback (most recent call last):' >> "$m"
echo weights > "$NAI_OUTPUT_DIR/model.txt"
`

const divergeJob = `job "diverge" {
  time_limit = "5m"
  code = "."
  resources {
    cpu    = 0.5
    memory = "128MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["diverge.sh"]
  }
  output {
    model = "diverged"
  }
}
`

// TestMetricsNaN: lines with NaN and ±Infinity are kept, the diverged
// metric shows as NaN (not its last finite value) with where it became
// so, and lines that are not JSON are counted, in the CLI and the agent's
// log.
func TestMetricsNaN(t *testing.T) {
	a := startAgent(t, t.TempDir(), 1)
	work := t.TempDir()
	writeFile(t, work, "diverge.sh", divergeScript)
	id := a.submit(work, "diverge", divergeJob)
	j := a.waitJob(id, 3*time.Minute)
	if j.Status != structs.JobComplete {
		t.Fatalf("job %s: %s (%s)", id, j.Status, j.Reason)
	}
	// The job keeps the loss that became NaN as such, not its last
	// finite value 0.25 (raft log format 7), and so does the model
	// version made from its outputs.
	if _, ok := j.Metrics["loss"]; ok || j.NonFiniteMetrics["loss"].Value != "NaN" || j.NonFiniteMetrics["loss"].Line != 4 ||
		j.NonFiniteMetrics["grad"].Value != "-Infinity" || j.NonFiniteMetrics["grad"].First != "Infinity" {
		t.Errorf("job %s: metrics %v, non-finite %+v; want loss NaN and grad -Infinity kept as such", id, j.Metrics, j.NonFiniteMetrics)
	}
	if show := a.mustNai("model", "show", "diverged"); !strings.Contains(show, "loss=NaN") || strings.Contains(show, "loss=0.25") {
		t.Errorf("nai model show diverged claims a finite loss:\n%s", show)
	}

	out, errOut, code := a.nai("job", "metrics", id)
	if code != 0 {
		t.Fatalf("nai job metrics: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"grad  -Infinity\n", "loss  NaN\n", "lr    0.1\n", "step  4\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("nai job metrics lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{
		"grad became Infinity at step 3 (line 4 of NAI_METRICS_FILE); it is -Infinity now",
		"loss became NaN at step 3 (line 4 of NAI_METRICS_FILE)",
		"2 lines of NAI_METRICS_FILE were not JSON and were skipped",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("nai job metrics does not say %q:\n%s", want, errOut)
		}
	}

	// Every JSON line, the non-finite values as strings, in -all.
	all, errOut, code := a.nai("job", "metrics", "-all", id)
	if code != 0 {
		t.Fatalf("nai job metrics -all: exit %d: %s", code, errOut)
	}
	wantAll := "grad=1.5 loss=0.5 step=1\n" +
		"eval={\"acc\":\"NaN\"} loss=0.25 step=2\n" +
		"grad=Infinity loss=NaN lr=0.1 step=3\n" +
		"grad=-Infinity loss=NaN step=4\n"
	if all != wantAll {
		t.Errorf("nai job metrics -all:\n%s\nwant:\n%s", all, wantAll)
	}
	if !strings.Contains(errOut, "2 lines of NAI_METRICS_FILE were not JSON") {
		t.Errorf("nai job metrics -all does not count the skipped lines: %q", errOut)
	}
	var hist structs.JobMetrics
	if err := json.Unmarshal([]byte(a.mustNai("job", "metrics", "-all", "-json", id)), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.History) != 4 || !strings.Contains(string(hist.History[2]), `"loss": "NaN"`) || hist.SkippedLines != 2 || hist.NonFinite["loss"].Line != 4 {
		t.Errorf("metrics -all -json: %s, skipped %d, non-finite %+v", hist.History, hist.SkippedLines, hist.NonFinite)
	}

	// nai job status shows the NaN too.
	if st := a.mustNai("job", "status", id); !strings.Contains(st, "loss became NaN at step 3") || !strings.Contains(st, "NaN\n") {
		t.Errorf("job status:\n%s", st)
	}

	// The client's log says it, with the job's id.
	waitFor(t, 10*time.Second, "the agent logs the NaN and the skipped lines", func() bool {
		logs := a.logs.String()
		return strings.Contains(logs, `msg="metric is not a finite number"`) && strings.Contains(logs, "job="+id) &&
			strings.Contains(logs, `msg="lines of NAI_METRICS_FILE were not JSON objects and were skipped"`)
	})
}

// TestMetricsNaNAfterReport: a loss the servers already hold as finite
// (0.25, reported while the job ran) that then becomes NaN is NaN in the
// job, in nai job metrics without the history and in the model version made
// from the run, not the 0.25 the merge of the reports kept before format 7.
func TestMetricsNaNAfterReport(t *testing.T) {
	a := startAgent(t, t.TempDir(), 1)
	work, gate := t.TempDir(), filepath.Join(t.TempDir(), "go-on")
	writeFile(t, work, "late.sh", `#!/bin/sh
m="$NAI_METRICS_FILE"
echo '{"step": 1, "loss": 0.25}' >> "$m"
while [ ! -e "$1" ]; do sleep 0.05; done
echo '{"step": 2, "loss": NaN}' >> "$m"
echo weights > "$NAI_OUTPUT_DIR/model.txt"
`)
	id := a.submit(work, "late", `job "late" {
  time_limit = "5m"
  code = "."
  resources {
    cpu    = 0.5
    memory = "128MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["late.sh", "`+gate+`"]
  }
  output {
    model = "late-nan"
  }
}
`)
	waitFor(t, time.Minute, "the servers hold loss 0.25", func() bool {
		return a.job(id).Metrics["loss"] == 0.25
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	j := a.waitJob(id, time.Minute)
	if j.Status != structs.JobComplete {
		t.Fatalf("job %s: %s (%s)", id, j.Status, j.Reason)
	}
	if _, ok := j.Metrics["loss"]; ok || j.NonFiniteMetrics["loss"].Value != "NaN" {
		t.Errorf("job %s: metrics %v, non-finite %+v; want loss NaN, not 0.25", id, j.Metrics, j.NonFiniteMetrics)
	}
	var m structs.JobMetrics
	if err := json.Unmarshal([]byte(a.mustNai("job", "metrics", "-json", id)), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Metrics["loss"]; ok || m.NonFinite["loss"].Value != "NaN" {
		t.Errorf("nai job metrics -json: %+v; want loss NaN only", m)
	}
	if show := a.mustNai("model", "show", "late-nan"); !strings.Contains(show, "loss=NaN") || strings.Contains(show, "loss=0.25") {
		t.Errorf("nai model show late-nan claims the finite loss:\n%s", show)
	}
}
