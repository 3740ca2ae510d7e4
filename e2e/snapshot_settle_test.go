package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// settleJob runs until the file go exists, writing its pid first.
func settleJob(name, dir string) string {
	return `job "` + name + `" {
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["-c", "echo $$ > ` + dir + `/` + name + `.pid; while [ ! -e ` + dir + `/go ]; do sleep 0.1; done"]
  }
}
`
}

// An operator restores a snapshot on a live cluster (an operator's
// drill): job 1 ran when it was taken and ended after, job 2 was
// submitted after it and still runs. The restored servers list 1.1 as
// running, which its client no longer runs, and know nothing of 2.1,
// which its client runs. The client must settle both: report 1.1 ended
// (it stayed "running" for ever, and could not even be cancelled) and stop
// 2.1 (it ran on, unseen, holding its GPUs). The next job gets id 2 again:
// the earlier 2.1's dir must not keep its 2.1 from starting.
func TestSnapshotRestoreSettlesClients(t *testing.T) {
	dataDir := t.TempDir()
	a := startAgent(t, dataDir, 1)
	work := t.TempDir()
	searchable(t, work)
	ctx := context.Background()

	one := a.submit(work, "one", settleJob("one", work))
	waitFor(t, time.Minute, "job one runs", func() bool {
		j, _, err := a.api().Job(ctx, one)
		return err == nil && j.Status == structs.JobRunning
	})
	file := filepath.Join(work, "drill.snap")
	a.mustNai("operator", "snapshot", "save", file)

	writeFile(t, work, "go", "")
	if j := a.waitJob(one, time.Minute); j.Status != structs.JobComplete {
		t.Fatalf("job %s ended %s", one, j.Status)
	}
	if err := os.Remove(filepath.Join(work, "go")); err != nil {
		t.Fatal(err)
	}
	two := a.submit(work, "two", settleJob("two", work))
	var pid int
	waitFor(t, time.Minute, "job two's task", func() bool {
		b, err := os.ReadFile(filepath.Join(work, "two.pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})

	a.mustNai("operator", "snapshot", "restore", file)

	// 2.1 is unknown to the restored servers: its task is stopped.
	waitFor(t, 30*time.Second, "job two's task, unknown to the restored servers, to be stopped", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
	// 1.1 is settled: it ended, so it is not running any more.
	var ended *structs.Allocation
	waitFor(t, 30*time.Second, "the restored allocation of job one to be settled", func() bool {
		allocs, err := a.api().JobAllocations(ctx, one)
		if err != nil {
			return false
		}
		for _, al := range allocs {
			if al.ID == one+".1" && al.Terminal() {
				ended = al
				return true
			}
		}
		return false
	})
	if !strings.Contains(ended.ClientStatus.Message, "not running on this node") {
		t.Errorf("allocation %s ended %s/%s %q, want it to say it is not running on its node",
			ended.ID, ended.ClientStatus.Status, ended.ClientStatus.ExitReason, ended.ClientStatus.Message)
	}
	// Retried or lost, job one ends (its file go is gone: a retry waits;
	// put it back).
	writeFile(t, work, "go", "")
	a.waitJob(one, time.Minute)

	// The job id counter went back with the state: the next job is 2
	// again, and runs although the earlier 2.1 left its dir.
	again := a.submit(work, "again", settleJob("again", work))
	if again != two {
		t.Errorf("the job after the restore is %s, want %s again (the id counter went back with the state)", again, two)
	}
	if j := a.waitJob(again, time.Minute); j.Status != structs.JobComplete {
		t.Fatalf("job %s after the restore ended %s: %s", again, j.Status, j.Reason)
	}
	if again == two {
		moved, _ := filepath.Glob(filepath.Join(dataDir, "client", "replaced", "allocs", two+".1-*"))
		if len(moved) != 1 {
			t.Errorf("the earlier %s.1's dir moved aside: %v, want one", two, moved)
		}
	}
}
