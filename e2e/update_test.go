package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// nai job update (scontrol update) on a real agent: a pending job takes
// the new values and the scheduler sees them; bad values and jobs that
// are not pending are refused and change nothing.
func TestJobUpdate(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	file := writeFile(t, work, "wait.hcl", `job "later" {
  begin_after = "1h"
  resources {
    cpu    = 0.5
    memory = "64MiB"
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/true"
  }
}
`)
	out, errOut, code := a.nai("job", "run", "-detach", file)
	if code != 0 {
		t.Fatalf("job run: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	job := func() *structs.Job {
		t.Helper()
		j, _, err := a.api().Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}

	out, errOut, code = a.nai("job", "update", "-time", "30m", "-gpus", "2", "-mem", "128MiB", "-name", "sooner", "-priority", "80", id)
	if code != 0 || out != "Job "+id+" updated: name \"sooner\", priority 80, time limit 30m, GPUs 2, memory 128MiB.\n" {
		t.Fatalf("job update: exit %d\nstdout: %q\nstderr: %s", code, out, errOut)
	}
	j := job()
	if j.TimeLimit != structs.Duration(30*time.Minute) || j.Resources.GPU.Count != 2 || j.Resources.MemoryBytes != 128<<20 ||
		j.Name != "sooner" || j.Priority != 80 || j.Resources.CPU != 0.5 || j.Status != structs.JobPending {
		t.Errorf("updated job: %+v", j)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{id}, "nothing to change"},
		{[]string{"-gpus", "-1", id}, "-gpus -1: expected 0 or more"},
		{[]string{"-time", "soon", id}, "-time:"},
		{[]string{"-priority", "101", id}, "-priority 101: expected 0 to 100"},
		{[]string{"-mem", "1", id}, "below the 4MiB a task needs"},
		{[]string{"-gpus", "4000", id}, "as updated would be invalid"},
		{[]string{"-gpus", "1", "999"}, "not found"},
	} {
		_, errOut, code := a.nai(append([]string{"job", "update"}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("job update %v: exit %d, want an error saying %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
	if j2 := job(); j2.Resources != j.Resources || j2.Name != j.Name || j2.TimeLimit != j.TimeLimit {
		t.Errorf("a refused update changed the job: %+v", j2)
	}

	// -gpus-per-node (Slurm's --gres=gpu:N) on a job of two nodes.
	gang := writeFile(t, work, "gang.hcl", `job "gang" {
  begin_after = "1h"
  resources {
    nodes  = 2
    cpu    = 0.5
    memory = "64MiB"
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/true"
  }
}
`)
	out, _, _ = a.nai("job", "run", "-detach", gang)
	gid := strings.TrimSpace(out)
	if out, errOut, code := a.nai("job", "update", "-gpus-per-node", "3", gid); code != 0 || !strings.Contains(out, "GPUs 6") {
		t.Errorf("-gpus-per-node 3 on a 2-node job: exit %d, %q %s", code, out, errOut)
	}
	if g, _, _ := a.api().Job(context.Background(), gid); g.Resources.GPU.Count != 3 || g.Resources.Nodes != 2 {
		t.Errorf("after -gpus-per-node 3: %+v", g.Resources)
	}

	// A job that has run refuses the request, whatever else it names.
	done := writeFile(t, work, "now.hcl", `job "now" {
  resources {
    cpu    = 0.5
    memory = "64MiB"
  }
  task {
    command = "/bin/true"
  }
}
`)
	out, _, _ = a.nai("job", "run", "-detach", done)
	ended := strings.TrimSpace(out)
	a.waitJob(ended, 30*time.Second)
	_, errOut, code = a.nai("job", "update", "-priority", "10", id, ended)
	if code == 0 || !strings.Contains(errOut, "job "+ended+" is complete: only a pending job can be updated") {
		t.Errorf("update naming an ended job: exit %d\n%s", code, errOut)
	}
	if j2 := job(); j2.Priority != 80 {
		t.Errorf("the pending job named beside it changed: priority %d", j2.Priority)
	}
}
