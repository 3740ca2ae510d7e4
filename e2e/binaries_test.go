package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The two binaries as they ship: every agent of these tests is `nai agent`
// exec'ing the nai-agent beside nai. Here: the executor of a job is the
// small CLI binary, and a CLI binary without the agent beside it (and none
// on PATH) says what is missing instead of starting nothing.
func TestBinaries(t *testing.T) {
	a := startAgent(t, t.TempDir(), 1)
	defer a.stop()

	t.Run("the executor is nai", func(t *testing.T) {
		// The task's parent is its executor (on cgroup v2 through the exec
		// shim, which execs the task: the parent stays the executor).
		file := writeFile(t, t.TempDir(), "parent.hcl", `job "parent" {
  task {
    command = "sh"
    args    = ["-c", "tr '\\0' ' ' < /proc/$PPID/cmdline"]
  }
}
`)
		id := strings.TrimSpace(a.mustNai("job", "run", "-detach", file))
		if j := a.waitJob(id, time.Minute); j.Status != structs.JobComplete {
			t.Fatalf("job %s: %s", id, j.Status)
		}
		out := a.mustNai("job", "logs", id)
		fields := strings.Fields(out)
		if len(fields) < 3 || fields[0] != naiBin || fields[1] != "executor" {
			t.Errorf("the task's parent is %q: want %s executor ALLOC_DIR", out, naiBin)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(naiBin), "nai-agent")); err != nil {
			t.Fatalf("nai-agent beside nai: %v", err)
		}
	})

	t.Run("nai agent without nai-agent", func(t *testing.T) {
		lone := filepath.Join(t.TempDir(), "nai")
		b, err := os.ReadFile(naiBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lone, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(lone, "agent", "-dev", "-http-addr", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "PATH=/nonexistent")
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "nai-agent") || !strings.Contains(string(out), lone) {
			t.Errorf("nai agent with no nai-agent: %v\n%s", err, out)
		}
	})
}
