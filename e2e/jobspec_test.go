package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The tests of issue 3 (the job file language) against a dev agent:
// sweeps, dependencies, stdin and JSON job files, and the dry run.

// gatedScript is a job that records when it starts and ends in trace and
// waits until the file gate exists, so a test decides when jobs finish.
// It prints its sweep environment and arguments, then exits with $EXIT.
func gatedScript(trace, gate string) string {
	return `#!/bin/sh
echo "start $NAI_JOB_ID $(date +%s%N)" >> "` + trace + `"
env | grep '^NAI_SWEEP_' | sort
echo "args: $*"
while [ ! -e "` + gate + `" ]; do sleep 0.05; done
echo "end $NAI_JOB_ID $(date +%s%N)" >> "` + trace + `"
exit "${EXIT:-0}"
`
}

const sweepJob = `job "sweep" {
  time_limit = "5m"
  code       = "."
  sweep {
    max_parallel = 2
    values = {
      lr    = [0.1, 0.01, 0.001]
      batch = [32, 64]
    }
  }
  resources {
    cpu    = 0.1
    memory = "64MiB"
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/sh"
    args    = ["run.sh", "--lr=${sweep.lr}", "--batch=${sweep.batch}"]
  }
}
`

// arrayMembers returns the jobs of an array, by index.
func (a *agent) arrayMembers(arrayID string) []*structs.Job {
	a.t.Helper()
	jobs, err := a.api().Jobs(context.Background(), true)
	if err != nil {
		a.t.Fatal(err)
	}
	var out []*structs.Job
	for _, j := range jobs {
		if j.ArrayID == arrayID {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(x, y *structs.Job) int { return x.ArrayIndex - y.ArrayIndex })
	return out
}

// jobNow reads a job through the API (cheaper than the CLI in a poll).
func (a *agent) jobNow(id string) *structs.Job {
	a.t.Helper()
	j, _, err := a.api().Job(context.Background(), id)
	if err != nil {
		a.t.Fatalf("read job %s: %v", id, err)
	}
	return j
}

func countStatus(jobs []*structs.Job, s structs.JobStatus) int {
	n := 0
	for _, j := range jobs {
		if j.Status == s {
			n++
		}
	}
	return n
}

// traceEvent is one line of a trace file.
type traceEvent struct {
	t     int64
	start bool
	job   string
}

func readTrace(t *testing.T, path string) []traceEvent {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var evs []traceEvent
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad trace line %q", line)
		}
		ts, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("bad time in trace line %q", line)
		}
		evs = append(evs, traceEvent{ts, f[0] == "start", f[1]})
	}
	return evs
}

// peakRunning is the most jobs a trace shows running at once.
func peakRunning(evs []traceEvent) int {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(x, y traceEvent) int {
		if x.t != y.t {
			if x.t < y.t {
				return -1
			}
			return 1
		}
		if !x.start && y.start { // an end at the same instant frees first
			return -1
		}
		return 0
	})
	running, peak := 0, 0
	for _, e := range evs {
		if e.start {
			running++
		} else {
			running--
		}
		peak = max(peak, running)
	}
	return peak
}

// A 3 x 2 sweep becomes 6 jobs with their values in the environment and
// in the arguments; max_parallel = 2 holds even with 8 free GPUs; the
// queue shows the waiting members folded; cancelling the array id stops
// the rest.
func TestSweepArray(t *testing.T) {
	a := startAgent(t, t.TempDir(), 8)
	work := t.TempDir()
	trace, gate := filepath.Join(work, "trace"), filepath.Join(work, "gate")
	writeFile(t, work, "run.sh", gatedScript(trace, gate))
	file := writeFile(t, work, "sweep.hcl", sweepJob)

	arrayID := strings.TrimSpace(a.mustNai("job", "run", "-detach", file))
	members := a.arrayMembers(arrayID)
	if len(members) != 6 {
		t.Fatalf("sweep %s has %d members, want 6", arrayID, len(members))
	}
	waitFor(t, 60*time.Second, "two members start and four wait for max_parallel", func() bool {
		m := a.arrayMembers(arrayID)
		return countStatus(m, structs.JobRunning) == 2 && countStatus(m, structs.JobPending) == 4 &&
			strings.HasPrefix(m[5].Reason, "ArrayLimit")
	})
	// Two processes really run before anything ends.
	waitFor(t, 60*time.Second, "two members write their start", func() bool {
		b, _ := os.ReadFile(trace)
		return strings.Count(string(b), "start ") == 2
	})
	queue := a.mustNai("queue")
	if want := arrayID + "_[2-5]"; !strings.Contains(queue, want) {
		t.Errorf("nai queue does not fold the waiting members as %s:\n%s", want, queue)
	}
	// nai job status of the array id shows the sweep folded; ID_INDEX
	// names one member.
	st := a.mustNai("job", "status", arrayID)
	if want := arrayID + "_[2-5]  pending"; !strings.Contains(st, "6 jobs") || !strings.Contains(st, want) {
		t.Errorf("nai job status %s does not show the sweep folded (want %q):\n%s", arrayID, want, st)
	}
	if one := a.mustNai("job", "status", arrayID+"_3"); !strings.Contains(one, "ID") || !strings.Contains(one, members[3].ID) {
		t.Errorf("nai job status %s_3 does not show member 3 (job %s):\n%s", arrayID, members[3].ID, one)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range members {
		j := a.waitJob(m.ID, 120*time.Second)
		if j.Status != structs.JobComplete {
			t.Fatalf("member %s ended %s (%s), want complete", j.ID, j.Status, j.Reason)
		}
		lr, batch := j.SweepValues["lr"], j.SweepValues["batch"]
		key := lr + "/" + batch
		if seen[key] || lr == "" || batch == "" {
			t.Errorf("member %d has sweep values %v: missing or repeated", j.ArrayIndex, j.SweepValues)
		}
		seen[key] = true
		logs := a.mustNai("job", "logs", j.ID)
		want := fmt.Sprintf("NAI_SWEEP_BATCH=%s\nNAI_SWEEP_LR=%s\nargs: --lr=%s --batch=%s\n", batch, lr, lr, batch)
		if !strings.Contains(logs, want) {
			t.Errorf("member %d logs %q, want them to contain %q", j.ArrayIndex, logs, want)
		}
	}
	if len(seen) != 6 {
		t.Errorf("the sweep covered %d value pairs, want 6", len(seen))
	}
	evs := readTrace(t, trace)
	if len(evs) != 12 {
		t.Fatalf("trace has %d events, want 12", len(evs))
	}
	if peak := peakRunning(evs); peak != 2 {
		b, _ := os.ReadFile(trace)
		t.Fatalf("%d members ran at once with max_parallel = 2:\n%s", peak, b)
	}

	// A second submission, never let through its gate: cancelling the
	// array id ends the running members and the waiting ones.
	gate2 := filepath.Join(work, "gate2")
	writeFile(t, work, "run.sh", gatedScript(trace, gate2))
	array2 := strings.TrimSpace(a.mustNai("job", "run", "-detach", file))
	waitFor(t, 60*time.Second, "two members of the second sweep run", func() bool {
		return countStatus(a.arrayMembers(array2), structs.JobRunning) == 2
	})
	a.mustNai("job", "cancel", array2)
	for _, m := range a.arrayMembers(array2) {
		if j := a.waitJob(m.ID, 60*time.Second); j.Status != structs.JobCancelled {
			t.Errorf("member %d of the cancelled sweep ended %s (%s), want cancelled", j.ArrayIndex, j.Status, j.Reason)
		}
	}
}

// dependentJob is a job file whose parent comes from -var parent=ID.
const dependentJob = `variable "parent" {}
job "child" {
  time_limit = "5m"
  depends_on = ["afterok:${var.parent}"]
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "echo child ran"]
  }
}
`

// parentJob waits at a gate and exits with the given code.
func parentJob(exit int) string {
	return fmt.Sprintf(`job "parent" {
  time_limit = "5m"
  code       = "."
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["run.sh"]
    env     = { EXIT = "%d" }
  }
}
`, exit)
}

// afterok holds a job while its parent runs, starts it when the parent
// completes, and cancels it (DependencyNeverSatisfied) when the parent
// fails.
func TestAfterOK(t *testing.T) {
	a := startAgent(t, t.TempDir(), 2)
	for _, tc := range []struct {
		name       string
		exit       int
		wantParent structs.JobStatus
		wantChild  structs.JobStatus
	}{
		{"parent completes", 0, structs.JobComplete, structs.JobComplete},
		{"parent fails", 3, structs.JobFailed, structs.JobCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			trace, gate := filepath.Join(work, "trace"), filepath.Join(work, "gate")
			writeFile(t, work, "run.sh", gatedScript(trace, gate))
			parent := strings.TrimSpace(a.mustNai("job", "run", "-detach", writeFile(t, work, "parent.hcl", parentJob(tc.exit))))
			waitFor(t, 60*time.Second, "the parent runs", func() bool {
				return a.jobNow(parent).Status == structs.JobRunning
			})
			child := strings.TrimSpace(a.mustNai("job", "run", "-detach", "-var", "parent="+parent, writeFile(t, work, "child.hcl", dependentJob)))
			waitFor(t, 60*time.Second, "the child says it waits for its parent", func() bool {
				j := a.jobNow(child)
				return j.Status == structs.JobPending && strings.Contains(j.Reason, "Dependency") && strings.Contains(j.Reason, parent)
			})
			if st := a.mustNai("job", "status", child); !strings.Contains(st, "waiting for job "+parent) {
				t.Errorf("nai job status does not say what the child waits for:\n%s", st)
			}
			if err := os.WriteFile(gate, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			p := a.waitJob(parent, 60*time.Second)
			if p.Status != tc.wantParent {
				t.Fatalf("parent ended %s (%s), want %s", p.Status, p.Reason, tc.wantParent)
			}
			c := a.waitJob(child, 60*time.Second)
			if c.Status != tc.wantChild {
				t.Fatalf("child ended %s (reason %q), want %s", c.Status, c.Reason, tc.wantChild)
			}
			switch tc.wantChild {
			case structs.JobComplete:
				if c.StartTime.Before(p.EndTime) {
					t.Errorf("child started at %s, before its parent ended at %s", c.StartTime, p.EndTime)
				}
				if logs := a.mustNai("job", "logs", child); !strings.Contains(logs, "child ran") {
					t.Errorf("child logs = %q", logs)
				}
			case structs.JobCancelled:
				if c.Reason != "DependencyNeverSatisfied" || c.AllocID != "" {
					t.Errorf("child: reason %q, alloc %q; want DependencyNeverSatisfied and never placed", c.Reason, c.AllocID)
				}
				// Now that the parent has failed, a new child is refused at
				// submit, as Slurm refuses it ("Job dependency problem").
				_, stderr, code := a.nai("job", "run", "-detach", "-var", "parent="+parent, writeFile(t, work, "child2.hcl", dependentJob))
				want := "dependency afterok:" + parent + " can never be satisfied: job " + parent + " ended failed"
				if code == 0 || !strings.Contains(stderr, want) {
					t.Errorf("a child of the failed parent: exit %d, stderr %q; want refused with %q", code, stderr, want)
				}
				// The same dependency as sbatch -d takes it, on the command line.
				_, stderr, code = a.nai("job", "run", "-detach", "-dependency", "afterok:"+parent, "--", "true")
				if code == 0 || !strings.Contains(stderr, want) {
					t.Errorf("-dependency afterok:%s: exit %d, stderr %q; want refused with %q", parent, code, stderr, want)
				}
			}
		})
	}
}

// naiStdin runs the CLI with stdin as its standard input.
func (a *agent) naiStdin(stdin string, args ...string) (string, string, int) {
	a.t.Helper()
	return runCLI(a.t, cliRun{env: []string{"NAI_ADDR=" + a.addr}, stdin: stdin}, args...)
}

const echoJob = `job "echo" {
  time_limit = "5m"
  labels     = { origin = "stdin" }
  resources {
    cpu    = 0.1
    memory = "64MiB"
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "echo \"hello $GREETING\""]
    env     = { GREETING = "from ${upper("nai")}" }
  }
}
`

// `nai job run -` reads the job from standard input; the JSON of
// `nai job inspect -json` and the HCL of `nai job inspect -hcl` are job
// files that submit the same job again.
func TestJobFromStdinAndInspect(t *testing.T) {
	a := startAgent(t, t.TempDir(), 2)
	runs := func(what, id string) *structs.Job {
		t.Helper()
		j := a.waitJob(id, 60*time.Second)
		if j.Status != structs.JobComplete {
			t.Fatalf("%s: job %s ended %s (%s)", what, id, j.Status, j.Reason)
		}
		if logs := a.mustNai("job", "logs", id); logs != "hello from NAI\n" {
			t.Fatalf("%s: job %s logs %q", what, id, logs)
		}
		return j
	}
	out, errOut, code := a.naiStdin(echoJob, "job", "run", "-detach", "-")
	if code != 0 {
		t.Fatalf("nai job run - : exit %d\n%s%s", code, out, errOut)
	}
	first := runs("HCL from stdin", strings.TrimSpace(out))

	work := t.TempDir()
	inspectJSON := a.mustNai("job", "inspect", "-json", first.ID)
	inspectHCL := a.mustNai("job", "inspect", "-hcl", first.ID)
	for _, tc := range []struct {
		name, file, stdin string
	}{
		{"JSON file", writeFile(t, work, "job.json", inspectJSON), ""},
		{"JSON on stdin", "-", inspectJSON},
		{"HCL of inspect", writeFile(t, work, "job.hcl", inspectHCL), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := a.naiStdin(tc.stdin, "job", "run", "-detach", tc.file)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			again := runs(tc.name, strings.TrimSpace(out))
			if again.ID == first.ID {
				t.Fatalf("resubmission got the same id %s", again.ID)
			}
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"name", again.Name, first.Name},
				{"task", fmt.Sprint(again.Task), fmt.Sprint(first.Task)},
				{"resources", again.Resources, first.Resources},
				{"labels", fmt.Sprint(again.Labels), fmt.Sprint(first.Labels)},
				{"time limit", again.TimeLimit, first.TimeLimit},
				{"user", again.User, first.User},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v as in the first submission", c.what, c.got, c.want)
				}
			}
		})
	}
}

// `nai job plan` names the node for a job that fits (exit 0), and for one
// that must wait behind a running job with a time limit it says so with
// an estimated start (exit 1). Neither submits anything.
func TestJobPlan(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	trace, gate := filepath.Join(work, "trace"), filepath.Join(work, "gate")
	writeFile(t, work, "run.sh", gatedScript(trace, gate))
	twoGPUs := writeFile(t, work, "two.hcl", strings.Replace(lifecycleJob, `"lifecycle"`, `"two"`, 1))

	out, errOut, code := a.nai("job", "plan", twoGPUs)
	if code != 0 || !strings.Contains(out, `Job "two" would start now on node e2e-node with GPUs `) {
		t.Fatalf("plan of a job that fits: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// A blocker takes all four GPUs for at most an hour.
	blocker := strings.Replace(strings.Replace(lifecycleJob, `"lifecycle"`, `"blocker"`, 1), "count = 2", "count = 4", 1)
	blocker = strings.Replace(blocker, `time_limit = "5m"`, `time_limit = "1h"`, 1)
	id := strings.TrimSpace(a.mustNai("job", "run", "-detach", writeFile(t, work, "blocker.hcl", blocker)))
	waitFor(t, 60*time.Second, "the blocker runs", func() bool { return a.jobNow(id).Status == structs.JobRunning })
	t.Cleanup(func() {
		os.WriteFile(gate, nil, 0o644)
		a.waitJob(id, 60*time.Second)
	})

	before := time.Now()
	out, errOut, code = a.nai("job", "plan", twoGPUs)
	if code != 1 || !strings.Contains(out, `Job "two" would wait: Resources`) || !strings.Contains(out, "; estimated start ") {
		t.Fatalf("plan of a job that must wait: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	out, errOut, code = a.nai("job", "plan", "-json", twoGPUs)
	var resp structs.JobPlanResponse
	if err := json.Unmarshal([]byte(out), &resp); err != nil || code != 1 || len(resp.Jobs) != 1 || resp.Jobs[0].Wait == nil {
		t.Fatalf("plan -json: exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	est := resp.Jobs[0].Wait.EstimatedStart
	if est.Before(before.Add(55*time.Minute)) || est.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("estimated start %s, want about an hour after %s (the blocker's time limit)", est, before)
	}
	jobs, err := a.api().Jobs(context.Background(), true)
	if err != nil || len(jobs) != 1 {
		t.Errorf("after three plans the agent has %d jobs (%v), want only the blocker", len(jobs), err)
	}
}

// A batch script's --array is a sweep too, sent as one spec: each member
// runs with its own SLURM_ARRAY_TASK_ID, and -json answers as for jobs.
// TestSbatchArrayOfOne: --array=5 (and 7-7) is the array of one that Slurm
// makes: member A_5 of array A, with the array's variables, its %A_%a log
// name and A_5 in nai queue and nai job status.
func TestSbatchArrayOfOne(t *testing.T) {
	a := startAgent(t, t.TempDir(), 1)
	dir := t.TempDir()
	for _, tc := range []struct{ spec, task string }{{"5", "5"}, {"7-7", "7"}} {
		script := writeFile(t, dir, "one.sh", "#!/bin/bash\n#SBATCH --array="+tc.spec+"\n#SBATCH -n 1\n#SBATCH -o "+dir+"/one-%A_%a.out\n"+
			"echo id=$SLURM_ARRAY_JOB_ID task=$SLURM_ARRAY_TASK_ID count=$SLURM_ARRAY_TASK_COUNT min=$SLURM_ARRAY_TASK_MIN max=$SLURM_ARRAY_TASK_MAX step=$SLURM_ARRAY_TASK_STEP\n")
		var resp structs.JobRegisterResponse
		if err := json.Unmarshal([]byte(a.mustNai("job", "run", "-json", script)), &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.JobIDs) != 1 || resp.ArrayID != resp.JobIDs[0] {
			t.Fatalf("--array=%s: %+v, want one job whose id is the array's", tc.spec, resp)
		}
		id := resp.ArrayID
		ref := id + "_" + tc.task
		j := a.waitJob(id, 60*time.Second)
		if j.Status != structs.JobComplete || j.ArrayID != id {
			t.Fatalf("--array=%s: job %s %s (%s), array %q", tc.spec, id, j.Status, j.Reason, j.ArrayID)
		}
		want := fmt.Sprintf("id=%s task=%s count=1 min=%s max=%s step=1\n", id, tc.task, tc.task, tc.task)
		if logs := a.mustNai("job", "logs", ref); logs != want {
			t.Errorf("nai job logs %s = %q, want %q", ref, logs, want)
		}
		if st := a.mustNai("job", "status", id); !strings.Contains(st, ref) {
			t.Errorf("nai job status %s does not name %s:\n%s", ref, ref, st)
		}
		if q := a.mustNai("queue", "-all", "-jobs", id); !strings.Contains(q, "\n"+ref+" ") {
			t.Errorf("nai queue does not name job %s %s:\n%s", id, ref, q)
		}
		// %A_%a: the array's id and the task id, as Slurm names it.
		name := filepath.Join(dir, "one-"+ref+".out")
		waitFor(t, 10*time.Second, name, func() bool {
			b, err := os.ReadFile(name)
			return err == nil && string(b) == want
		})
	}
}

func TestSbatchArray(t *testing.T) {
	a := startAgent(t, t.TempDir(), 2)
	script := writeFile(t, t.TempDir(), "arr.sh", "#!/bin/bash\n#SBATCH --array=1-7:3\n#SBATCH -n 1\necho task $SLURM_ARRAY_TASK_ID\n")
	var resp structs.JobRegisterResponse
	if err := json.Unmarshal([]byte(a.mustNai("job", "run", "-json", script)), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.JobIDs) != 3 || resp.ArrayID != resp.JobIDs[0] {
		t.Fatalf("nai job run -json of an array: %+v, want 3 jobs, the array's id the first", resp)
	}
	members := a.arrayMembers(resp.ArrayID)
	if len(members) != 3 {
		t.Fatalf("array %s has %d members, want 3", resp.ArrayID, len(members))
	}
	for i, m := range members {
		j := a.waitJob(m.ID, 60*time.Second)
		want := fmt.Sprint(1 + 3*i)
		if j.Status != structs.JobComplete || j.ArrayIndex != i || j.SweepValues[structs.ArrayTaskIDKey] != want {
			t.Errorf("member %d: %s (%s), index %d, values %v; want complete with task id %s", i, j.Status, j.Reason, j.ArrayIndex, j.SweepValues, want)
		}
		if logs := a.mustNai("job", "logs", j.ID); !strings.Contains(logs, "task "+want+"\n") {
			t.Errorf("member %d logs %q, want task %s", i, logs, want)
		}
		// ID_N is the member of task id N, as in Slurm.
		if logs := a.mustNai("job", "logs", resp.ArrayID+"_"+want); !strings.Contains(logs, "task "+want+"\n") {
			t.Errorf("nai job logs %s_%s: %q, want task %s", resp.ArrayID, want, logs, want)
		}
	}
	// The array id is also its first member's: its logs, with a note.
	if out, errOut, code := a.nai("job", "logs", resp.ArrayID); code != 0 || out != "task 1\n" || !strings.Contains(errOut, "these are the logs of its first, "+resp.ArrayID+"_1") {
		t.Errorf("nai job logs %s: exit %d, %q, %q; want task 1's logs with a note naming %s_1", resp.ArrayID, code, out, errOut, resp.ArrayID)
	}
	// A dependency on one member by its task id, and on the whole array.
	dep := writeFile(t, t.TempDir(), "dep.sh", "#!/bin/bash\n#SBATCH --dependency=afterok:"+resp.ArrayID+"_7,afterany:"+resp.ArrayID+"\n#SBATCH -n 1\necho after\n")
	id := strings.TrimSpace(a.mustNai("job", "run", "-detach", dep))
	j := a.waitJob(id, 60*time.Second)
	if j.Status != structs.JobComplete || len(j.DependsOn) != 2 || j.DependsOn[0] != (structs.Dependency{Type: structs.AfterOK, JobID: members[2].ID}) {
		t.Errorf("dependent job %s: %s (%s), depends on %+v; want complete, on member %s", id, j.Status, j.Reason, j.DependsOn, members[2].ID)
	}
}
