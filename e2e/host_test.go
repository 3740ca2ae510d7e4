package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// gateJob is a job on one GPU that prints "start", waits until the file
// gate exists, prints "end" and exits with code.
func gateJob(name, gate string, code int) string {
	return fmt.Sprintf(`job %q {
  time_limit = "10m"
  resources {
    cpu    = 0.1
    memory = "64MiB"
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "echo start; while [ ! -e %s ]; do sleep 0.1; done; echo end; exit %d"]
  }
}
`, name, gate, code)
}

func open(t *testing.T, gate string) {
	t.Helper()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Kill -9 the agent while jobs run and start it again on the same data
// dir: the jobs that run through the restart finish and report normally,
// and one that finished while the agent was away is reported with its real
// exit code.
func TestHostAgentKilledWhileJobsRun(t *testing.T) {
	data, work, gates := t.TempDir(), t.TempDir(), t.TempDir()
	gate := func(name string) string { return filepath.Join(gates, "go-"+name) }
	// Whatever happens, no job is left waiting for its gate.
	t.Cleanup(func() {
		for _, n := range []string{"ok", "three", "away"} {
			_ = os.WriteFile(gate(n), nil, 0o644)
		}
	})
	a := startAgent(t, data, 4)
	ok := a.submit(work, "ok", gateJob("ok", gate("ok"), 0))
	three := a.submit(work, "three", gateJob("three", gate("three"), 3))
	away := a.submit(work, "away", gateJob("away", gate("away"), 7))
	for _, id := range []string{ok, three, away} {
		// Placed is not enough: the client must have started it, or a
		// kill now would find no executor to outlive the agent.
		waitFor(t, 60*time.Second, "job "+id+" runs on the client", func() bool {
			allocs, err := a.api().JobAllocations(context.Background(), id)
			return err == nil && len(allocs) > 0 && allocs[len(allocs)-1].ClientStatus.Status == structs.AllocRunning
		})
	}
	awayAlloc := a.job(away).AllocID
	a.kill()

	// While the agent is down, one job finishes: its executor records how.
	open(t, gate("away"))
	waitFor(t, 60*time.Second, "the job finishes while the agent is down", func() bool {
		return fileExists(filepath.Join(data, "client", "allocs", awayAlloc, "exit.json"))
	})

	b := startAgent(t, data, 4)
	open(t, gate("ok"))
	open(t, gate("three"))
	tests := []struct {
		id         string
		wantStatus structs.JobStatus
		wantCode   int
	}{
		{ok, structs.JobComplete, 0},
		{three, structs.JobFailed, 3},
		{away, structs.JobFailed, 7},
	}
	for _, tc := range tests {
		j := b.waitJob(tc.id, 90*time.Second)
		if j.Status != tc.wantStatus || j.ExitCode == nil || *j.ExitCode != tc.wantCode || j.ExitReason != structs.ExitExited {
			t.Errorf("job %s (%s): %s exit %v reason %q, want %s exit %d reason exited", tc.id, j.Name, j.Status, fmtCode(j.ExitCode), j.ExitReason, tc.wantStatus, tc.wantCode)
		}
		if j.Attempt != 1 {
			t.Errorf("job %s ran %d times, want once", tc.id, j.Attempt)
		}
		if logs := b.mustNai("job", "logs", tc.id); logs != "start\nend\n" {
			t.Errorf("job %s logs = %q, want start and end: one run, re-attached", tc.id, logs)
		}
	}
}

func fmtCode(c *int) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprint(*c)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// A job that allocates past its memory limit ends oom-killed; another job
// on the same agent completes, and the agent carries on.
func TestHostOOMKilledJob(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	a.requireCgroups()
	work, gates := t.TempDir(), t.TempDir()
	gate := filepath.Join(gates, "go-other")
	t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) })
	other := a.submit(work, "other", gateJob("other", gate, 0))
	waitFor(t, 60*time.Second, "the other job runs", func() bool { return a.job(other).Status == structs.JobRunning })

	// tail keeps a line until its newline: 300 MiB of zeros is one line.
	hog := a.submit(work, "hog", `job "hog" {
  time_limit = "5m"
  resources {
    cpu    = 0.5
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "head -c 300M /dev/zero | tail > /dev/null"]
  }
}
`)
	j := a.waitJob(hog, 120*time.Second)
	if j.Status != structs.JobFailed || j.ExitReason != structs.ExitOOMKilled {
		t.Fatalf("memory hog: %s reason %q exit %s (%s), want failed oom-killed", j.Status, j.ExitReason, fmtCode(j.ExitCode), j.Reason)
	}
	if got := a.job(other).Status; got != structs.JobRunning {
		t.Fatalf("the other job is %s after the OOM kill, want still running", got)
	}
	open(t, gate)
	if o := a.waitJob(other, 60*time.Second); o.Status != structs.JobComplete {
		t.Fatalf("the other job ended %s (%s), want complete", o.Status, o.ExitReason)
	}
}

// An XID injected on the GPU of a running job withdraws that GPU: the node
// shows it unhealthy, a job that needs all 4 GPUs waits, and the job on it
// ends gpu-failed.
func TestHostGPUFaultWithdrawsGPU(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work, gates := t.TempDir(), t.TempDir()
	gate := filepath.Join(gates, "go-victim")
	t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) })
	victim := a.submit(work, "victim", gateJob("victim", gate, 0))
	waitFor(t, 60*time.Second, "the job runs", func() bool { return a.job(victim).Status == structs.JobRunning })
	j := a.job(victim)
	if len(j.GPUs) != 1 {
		t.Fatalf("job holds gpus %v, want one", j.GPUs)
	}
	gpu := j.GPUs[0]

	// Its GPU's samples reach the node's answer while it runs.
	waitFor(t, 60*time.Second, "the gpu's utilisation on the node", func() bool {
		allocs, err := a.api().JobAllocations(context.Background(), victim)
		return err == nil && len(allocs) == 1 && len(allocs[0].ClientStatus.GPUUsage) == 1 && allocs[0].ClientStatus.GPUUsage[0].Index == gpu
	})
	if out := a.mustNai("node", "status", "e2e-node"); !strings.Contains(out, "UTIL") || !strings.Contains(out, "%") {
		t.Errorf("node status shows no gpu utilisation:\n%s", out)
	}
	if out := a.mustNai("job", "status", victim); !strings.Contains(out, "GPU usage (attempt 1)") {
		t.Errorf("job status shows no gpu usage:\n%s", out)
	}

	if err := a.api().InjectGPUFault(context.Background(), fmt.Sprintf("%d:xid=79", gpu)); err != nil {
		t.Fatalf("inject fault: %v", err)
	}
	end := a.waitJob(victim, 60*time.Second)
	if end.Status != structs.JobFailed || end.ExitReason != structs.ExitGPUFailed || !strings.Contains(end.Reason, "xid 79") {
		t.Errorf("job on the failed gpu: %s reason %q (%s), want failed gpu-failed naming xid 79", end.Status, end.ExitReason, end.Reason)
	}
	waitFor(t, 30*time.Second, "the node shows the gpu unhealthy", func() bool {
		for _, g := range a.node().GPUs {
			if g.Index == gpu {
				return !g.Healthy && strings.Contains(g.Unhealthy, "xid 79")
			}
		}
		return false
	})
	if out := a.mustNai("node", "status", "e2e-node"); !strings.Contains(out, "no (xid 79") {
		t.Errorf("node status does not show the withdrawn gpu:\n%s", out)
	}

	all := a.submit(work, "all", strings.Replace(strings.Replace(gateJob("all", gate, 0), "count = 1", "count = 4", 1), `"all"`, `"all4"`, 1))
	waitFor(t, 30*time.Second, "the 4-gpu job has a reason to wait", func() bool {
		j := a.job(all)
		return j.Status == structs.JobPending && (strings.HasPrefix(j.Reason, "NoNodeFits") || strings.HasPrefix(j.Reason, "Resources"))
	})
	t.Logf("the 4-gpu job waits: %s", a.job(all).Reason)
	a.mustNai("job", "cancel", all)

	// The other GPUs still take work.
	open(t, gate)
	next := a.submit(work, "next", gateJob("next", gate, 0))
	if nj := a.waitJob(next, 60*time.Second); nj.Status != structs.JobComplete || len(nj.GPUs) != 1 || nj.GPUs[0] == gpu {
		t.Errorf("job after the withdrawal: %s on gpus %v, want complete on a healthy gpu (not %d)", nj.Status, nj.GPUs, gpu)
	}
}
