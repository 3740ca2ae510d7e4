package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The three binaries as they ship: every agent of these tests is `nai
// agent` exec'ing the nai-agent beside nai. Here: the executor of a job is
// the small nai-executor beside them, or the CLI binary nai when there is
// none (an install without it); nai-executor run by hand says what it
// expects; and a CLI binary without the agent beside it (and none on PATH)
// says what is missing instead of starting nothing.
func TestBinaries(t *testing.T) {
	a := startAgent(t, t.TempDir(), 1)
	defer a.stop()
	executorBin := filepath.Join(filepath.Dir(naiBin), "nai-executor")

	t.Run("the executor is nai-executor", func(t *testing.T) {
		if got := taskParent(t, a); len(got) < 3 || got[0] != executorBin || got[1] != "executor" {
			t.Errorf("the task's parent is %q: want %s executor ALLOC_DIR", got, executorBin)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(naiBin), "nai-agent")); err != nil {
			t.Fatalf("nai-agent beside nai: %v", err)
		}
	})

	t.Run("without nai-executor the executor is nai", func(t *testing.T) {
		dir := t.TempDir()
		for _, b := range []string{"nai", "nai-agent"} {
			linkOrCopy(t, filepath.Join(filepath.Dir(naiBin), b), filepath.Join(dir, b))
		}
		cli := filepath.Join(dir, "nai")
		old := startAgentFrom(t, cli, t.TempDir(), 1)
		defer old.stop()
		if got := taskParent(t, old); len(got) < 3 || got[0] != cli || got[1] != "executor" {
			t.Errorf("the task's parent is %q: want %s executor ALLOC_DIR", got, cli)
		}
	})

	t.Run("nai-executor by hand", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{nil, "no command given: expected executor or exec-shim"},
			{[]string{"agent"}, `unknown command "agent": expected executor or exec-shim`},
			{[]string{"executor"}, "usage: nai-executor executor ALLOC_DIR"},
		} {
			out, err := exec.Command(executorBin, tc.args...).CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
				t.Errorf("nai-executor %q: %v (want exit 2 and %q)\n%s", tc.args, err, tc.want, out)
			}
		}
	})

	t.Run("nai agent without nai-agent", func(t *testing.T) {
		lone := filepath.Join(t.TempDir(), "nai")
		linkOrCopy(t, naiBin, lone)
		cmd := exec.Command(lone, "agent", "-dev", "-http-addr", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "PATH=/nonexistent")
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "nai-agent") || !strings.Contains(string(out), lone) {
			t.Errorf("nai agent with no nai-agent: %v\n%s", err, out)
		}
	})
}

// taskParent runs a job whose task prints its parent's command line (the
// executor's: on cgroup v2 the exec shim execs the task, so the parent
// stays the executor), and returns it split into words.
func taskParent(t *testing.T, a *agent) []string {
	t.Helper()
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
	return strings.Fields(a.mustNai("job", "logs", id))
}

// linkOrCopy puts the binary src at dst: a hard link when both are on one
// file system (no copy of tens of MB), else a copy.
func linkOrCopy(t *testing.T, src, dst string) {
	t.Helper()
	if os.Link(src, dst) == nil {
		return
	}
	copyFile(t, src, dst)
}

// copyFile copies the binary src to dst, a file of its own (with its own
// page cache).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
