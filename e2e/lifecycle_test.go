package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The job of the lifecycle test: it reports what it was given, writes
// metrics and an output file, and prints to both streams.
const lifecycleScript = `#!/bin/sh
echo "cuda=[$CUDA_VISIBLE_DEVICES] gpus=$NAI_NUM_GPUS job=$NAI_JOB_ID alloc=$NAI_ALLOC_ID node=$NAI_NODE_NAME"
echo "to stderr" >&2
echo '{"step": 1, "loss": 0.9}' >> "$NAI_METRICS_FILE"
echo '{"step": 2, "loss": 0.31, "accuracy": 0.875}' >> "$NAI_METRICS_FILE"
mkdir -p "$NAI_OUTPUT_DIR/ckpt"
printf 'weights-%s' "$NAI_JOB_ID" > "$NAI_OUTPUT_DIR/ckpt/model.bin"
echo done
`

const lifecycleJob = `job "lifecycle" {
  time_limit = "5m"
  code = "."
  resources {
    cpu    = 0.5
    memory = "128MiB"
    gpu {
      count = 2
    }
  }
  task {
    command = "/bin/sh"
    args    = ["run.sh"]
  }
}
`

func TestJobLifecycle(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	writeFile(t, work, "run.sh", lifecycleScript)
	file := writeFile(t, work, "job.hcl", lifecycleJob)

	// Attached run: prints the id, follows, streams stdout, exits 0.
	out, errOut, code := a.nai("job", "run", file)
	if code != 0 {
		t.Fatalf("nai job run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "done") || !strings.Contains(out, "cuda=[") {
		t.Fatalf("job run did not stream the job's stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	id := ""
	for _, f := range strings.Fields(errOut + " " + out) {
		if _, err := strconv.Atoi(f); err == nil {
			id = f
			break
		}
	}
	if id == "" {
		t.Fatalf("no job id in the output of job run:\n%s\n%s", out, errOut)
	}

	j := a.job(id)
	if j.Status != structs.JobComplete || j.ExitCode == nil || *j.ExitCode != 0 {
		t.Fatalf("job %s: status %s exit %v reason %q, want complete 0", id, j.Status, j.ExitCode, j.Reason)
	}
	if len(j.GPUs) != 2 || j.NodeID == "" || j.StartTime.IsZero() || j.EndTime.IsZero() || j.SubmitTime.IsZero() {
		t.Fatalf("job %s lacks placement facts: %+v", id, j)
	}
	u, _ := os_user()
	if j.User != u {
		t.Errorf("job user = %q, want the local account %q", j.User, u)
	}

	// CUDA_VISIBLE_DEVICES is exactly the GPUs the job got.
	logs := a.mustNai("job", "logs", id)
	want := "cuda=[" + joinInts(j.GPUs) + "] gpus=2 job=" + id
	if !strings.Contains(logs, want) {
		t.Fatalf("logs %q do not contain %q", logs, want)
	}
	if got := a.mustNai("job", "logs", "-stderr", id); !strings.Contains(got, "to stderr") {
		t.Fatalf("stderr log = %q", got)
	}

	// Metrics: the last value of each key.
	var m structs.JobMetrics
	if err := json.Unmarshal([]byte(a.mustNai("job", "metrics", "-json", id)), &m); err != nil {
		t.Fatal(err)
	}
	if m.Metrics["loss"] != 0.31 || m.Metrics["step"] != 2 || m.Metrics["accuracy"] != 0.875 {
		t.Fatalf("metrics = %v, want the last values step=2 loss=0.31 accuracy=0.875", m.Metrics)
	}

	// Outputs: what the job wrote in NAI_OUTPUT_DIR, byte for byte.
	dl := t.TempDir()
	a.mustNai("job", "outputs", id, "-o", dl)
	got, err := os.ReadFile(filepath.Join(dl, "ckpt", "model.bin"))
	if err != nil || string(got) != "weights-"+id {
		t.Fatalf("downloaded output = %q, %v; want %q", got, err, "weights-"+id)
	}

	// The node shows the GPUs free again.
	var n structs.Node
	if err := json.Unmarshal([]byte(a.mustNai("node", "status", "-json", j.NodeID)), &n); err != nil {
		t.Fatal(err)
	}
	for _, g := range n.GPUs {
		if g.JobID != "" {
			t.Errorf("GPU %d still held by job %s after the job ended", g.Index, g.JobID)
		}
	}
}

// Three 2-GPU jobs on 4 GPUs: never more than two at once, all complete.
func TestGPUsAreNotShared(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	trace := filepath.Join(work, "trace")
	writeFile(t, work, "run.sh", `#!/bin/sh
echo "start $NAI_JOB_ID $CUDA_VISIBLE_DEVICES $(date +%s%N)" >> "`+trace+`"
sleep 1
echo "end $NAI_JOB_ID $CUDA_VISIBLE_DEVICES $(date +%s%N)" >> "`+trace+`"
`)
	file := writeFile(t, work, "job.hcl", strings.Replace(lifecycleJob, `"lifecycle"`, `"share"`, 1))
	var ids []string
	for range 3 {
		ids = append(ids, strings.TrimSpace(a.mustNai("job", "run", "-detach", file)))
	}
	for _, id := range ids {
		if j := a.waitJob(id, 60*time.Second); j.Status != structs.JobComplete {
			t.Fatalf("job %s ended %s (%s), want complete", id, j.Status, j.Reason)
		}
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		t     int64
		start bool
		gpus  string
	}
	var evs []ev
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("bad trace line %q", line)
		}
		ts, _ := strconv.ParseInt(f[3], 10, 64)
		evs = append(evs, ev{ts, f[0] == "start", f[2]})
	}
	if len(evs) != 6 {
		t.Fatalf("trace has %d events, want 6:\n%s", len(evs), b)
	}
	slices.SortStableFunc(evs, func(x, y ev) int {
		if x.t != y.t {
			return int(x.t - y.t)
		}
		if !x.start && y.start { // an end at the same instant frees first
			return -1
		}
		return 0
	})
	running, peak := 0, 0
	held := map[string]int{}
	for _, e := range evs {
		for _, g := range strings.Split(e.gpus, ",") {
			if e.start {
				held[g]++
				if held[g] > 1 {
					t.Fatalf("GPU %s given to two jobs at once:\n%s", g, b)
				}
			} else {
				held[g]--
			}
		}
		if e.start {
			running++
		} else {
			running--
		}
		peak = max(peak, running)
	}
	if peak > 2 {
		t.Fatalf("%d jobs ran at once on 4 GPUs with 2 each:\n%s", peak, b)
	}
}

// Cancelling a job kills its whole process tree, including a child that
// left the process group.
func TestCancelKillsProcessTree(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	pids := filepath.Join(work, "pids")
	writeFile(t, work, "run.sh", `#!/bin/sh
sleep 300 &
echo $! >> "`+pids+`"
setsid sleep 301 &
echo $! >> "`+pids+`"
sh -c 'sleep 302 & echo $! >> "`+pids+`"; wait' &
echo $$ >> "`+pids+`"
echo started
wait
`)
	file := writeFile(t, work, "job.hcl", strings.Replace(lifecycleJob, `"lifecycle"`, `"forker"`, 1))
	id := strings.TrimSpace(a.mustNai("job", "run", "-detach", file))
	var list []int
	waitFor(t, 30*time.Second, "the job has started its children", func() bool {
		b, _ := os.ReadFile(pids)
		list = list[:0]
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil {
				list = append(list, p)
			}
		}
		return len(list) == 4
	})
	a.mustNai("job", "cancel", id)
	j := a.waitJob(id, 60*time.Second)
	if j.Status != structs.JobCancelled {
		t.Fatalf("cancelled job ended %s (%s)", j.Status, j.ExitReason)
	}
	waitFor(t, 15*time.Second, "every process of the cancelled job is gone", func() bool {
		for _, p := range list {
			if alive(p) {
				return false
			}
		}
		return true
	})
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
