package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A finished job's logs, outputs and metrics are kept on the servers as
// blobs: they can be read after the node's own copy is gone.
func TestFinalLogsOutliveTheNode(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, 4)
	work := t.TempDir()
	writeFile(t, work, "run.sh", lifecycleScript)
	file := writeFile(t, work, "job.hcl", lifecycleJob)
	id := strings.TrimSpace(a.mustNai("job", "run", "-detach", file))
	j := a.waitJob(id, 60*time.Second)
	if j.Status != structs.JobComplete {
		t.Fatalf("job %s ended %s", id, j.Status)
	}
	waitFor(t, 10*time.Second, "the final logs are recorded", func() bool {
		j = a.job(id)
		return j.StdoutDigest != "" && j.StderrDigest != ""
	})
	// The node loses everything it had of the job.
	allocDir := filepath.Join(data, "client", "allocs", j.AllocID)
	if _, err := os.Stat(allocDir); err != nil {
		t.Fatalf("alloc dir %s: %v", allocDir, err)
	}
	if err := os.RemoveAll(allocDir); err != nil {
		t.Fatal(err)
	}
	if out := a.mustNai("job", "logs", id); !strings.Contains(out, "cuda=[") || !strings.Contains(out, "done") {
		t.Fatalf("stdout after the node lost it: %q", out)
	}
	if out := a.mustNai("job", "logs", "-stderr", id); out != "to stderr\n" {
		t.Fatalf("stderr after the node lost it: %q", out)
	}
	dl := t.TempDir()
	a.mustNai("job", "outputs", id, "-o", dl)
	if got, err := os.ReadFile(filepath.Join(dl, "ckpt", "model.bin")); err != nil || string(got) != "weights-"+id {
		t.Fatalf("outputs after the node lost them: %q, %v", got, err)
	}
	if out := a.mustNai("job", "metrics", "-all", id); !strings.Contains(out, "0.31") || !strings.Contains(out, "0.9") {
		t.Fatalf("metric history after the node lost it: %q", out)
	}
}
