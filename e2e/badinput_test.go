package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestBadInput(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()

	t.Run("syntax error is reported with its position and nothing is submitted", func(t *testing.T) {
		file := writeFile(t, work, "broken.hcl", "job \"x\" {\n  priority = \n}\n")
		out, errOut, code := a.nai("job", "run", "-detach", file)
		if code == 0 {
			t.Fatalf("exit 0 for a broken file; stdout %q", out)
		}
		if !strings.Contains(errOut, "broken.hcl:") {
			t.Fatalf("stderr does not name file:line:col:\n%s", errOut)
		}
		jobs, err := a.api().Jobs(context.Background(), true)
		if err != nil || len(jobs) != 0 {
			t.Fatalf("jobs after a broken submission: %d, %v", len(jobs), err)
		}
	})

	t.Run("more GPUs than any node has waits with a reason", func(t *testing.T) {
		file := writeFile(t, work, "big.hcl", `job "big" {
  resources {
    gpu {
      count = 8
    }
  }
  task {
    command = "/bin/true"
  }
}
`)
		out, errOut, code := a.nai("job", "run", "-detach", file)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(errOut, "8 GPUs") {
			t.Errorf("job run did not warn that no node has 8 GPUs: %q", errOut)
		}
		id := strings.TrimSpace(out)
		waitFor(t, 10*time.Second, "the big job has a reason", func() bool {
			j := a.job(id)
			return j.Status == structs.JobPending && strings.Contains(j.Reason, "NoNodeFits")
		})
		q := a.mustNai("queue")
		if !strings.Contains(q, "NoNodeFits") {
			t.Errorf("nai queue does not show the reason:\n%s", q)
		}
		a.mustNai("job", "cancel", id)
	})

	t.Run("unknown job id", func(t *testing.T) {
		_, errOut, code := a.nai("job", "status", "99999")
		if code == 0 || !strings.Contains(errOut, "not found") {
			t.Fatalf("exit %d, stderr %q; want a not-found error", code, errOut)
		}
	})

	t.Run("absurd resources are refused", func(t *testing.T) {
		file := writeFile(t, work, "absurd.hcl", `job "absurd" {
  resources {
    cpu = -2
  }
  task {
    command = "/bin/true"
  }
}
`)
		if _, _, code := a.nai("job", "run", "-detach", file); code == 0 {
			t.Fatal("negative cpu accepted")
		}
		// The server checks too, for requests that skip the CLI.
		_, err := a.api().Register(context.Background(), &structs.Job{Name: "raw", Resources: structs.Resources{GPU: structs.GPURequest{Count: 100000}}, Task: structs.Task{Command: "/bin/true"}})
		if err == nil || structs.CodeOf(err) != structs.CodeInvalid {
			t.Fatalf("server accepted 100000 GPUs: %v", err)
		}
	})

	t.Run("non-JSON body", func(t *testing.T) {
		resp, err := http.Post(a.addr+"/v1/jobs", "application/json", strings.NewReader("job { nope"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d for a non-JSON body, want 400", resp.StatusCode)
		}
	})
}
