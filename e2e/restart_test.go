package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// State survives a restart: finished jobs and their outputs are still
// there, and a job that ran through the restart is not left running.
func TestRestartKeepsJobs(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, 4)
	work := t.TempDir()
	writeFile(t, work, "run.sh", lifecycleScript)
	file := writeFile(t, work, "job.hcl", lifecycleJob)
	id := strings.TrimSpace(a.mustNai("job", "run", "-detach", file))
	if j := a.waitJob(id, 60*time.Second); j.Status != structs.JobComplete {
		t.Fatalf("job %s ended %s", id, j.Status)
	}
	// A second job is running when the agent is killed.
	writeFile(t, work, "slow/run.sh", "#!/bin/sh\necho slow-start\nsleep 3\necho slow-end\n")
	slowFile := writeFile(t, work, "slow/job.hcl", strings.Replace(lifecycleJob, `"lifecycle"`, `"slow"`, 1))
	slow := strings.TrimSpace(a.mustNai("job", "run", "-detach", slowFile))
	waitFor(t, 30*time.Second, "the slow job's process runs", func() bool {
		out, _, _ := a.nai("job", "logs", slow)
		return strings.Contains(out, "slow-start")
	})
	a.kill()

	b := startAgent(t, data, 4)
	j := b.job(id)
	if j.Status != structs.JobComplete || j.ExitCode == nil || *j.ExitCode != 0 {
		t.Fatalf("after restart job %s is %s exit %v", id, j.Status, j.ExitCode)
	}
	dl := t.TempDir()
	b.mustNai("job", "outputs", id, "-o", dl)
	if got, err := os.ReadFile(filepath.Join(dl, "ckpt", "model.bin")); err != nil || string(got) != "weights-"+id {
		t.Fatalf("output after restart = %q, %v", got, err)
	}
	// The job that was running when the agent died is re-attached (its
	// executor outlives the agent) and finishes normally.
	sj := b.waitJob(slow, 60*time.Second)
	if sj.Status != structs.JobComplete {
		t.Fatalf("job running across the restart ended %s (%s)", sj.Status, sj.ExitReason)
	}
	if logs := b.mustNai("job", "logs", slow); !strings.Contains(logs, "slow-start\nslow-end") {
		t.Fatalf("re-attached job's log = %q, want it to have run once, to the end", logs)
	}
}
