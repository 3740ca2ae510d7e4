package executor

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/structs"
)

// defaultPath is the PATH of the tests' tasks.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// TestMain lets the test binary play the nai binary: the tests start
// `<test binary> executor DIR`, the executor `<test binary> exec-shim ...`,
// and tasks may run `<test binary> test-helper ...`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "executor":
			os.Exit(Main(os.Args[2:]))
		case "exec-shim":
			os.Exit(ShimMain(os.Args[2:]))
		case "test-helper":
			os.Exit(testHelper(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// testHelper holds task behaviours that are awkward in shell.
func testHelper(args []string) int {
	if len(args) == 2 && args[0] == "alloc-mib" {
		n, _ := strconv.Atoi(args[1])
		var keep [][]byte
		for i := 0; i < n; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j) // touch every page so it is really charged
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep), "MiB")
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown test helper", args)
	return 2
}

func selfExe(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tWriter sends log lines to t.Log until the test ends; lines from
// goroutines that outlive it are dropped (t.Log would panic).
type tWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func newTWriter(t *testing.T) *tWriter {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

// testCgroups returns a real cgroup manager, or nil when this host does
// not let the tests make cgroups.
func testCgroups(t *testing.T) cgroups.Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	m, err := cgroups.New("", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Logf("cgroups unavailable: %v", err)
		return nil
	}
	// Probe: a manager that cannot create a group is as good as none.
	name := fmt.Sprintf("nai-probe-%d", os.Getpid())
	g, err := m.Create(name, cgroups.Limits{Pids: 10})
	if err != nil {
		t.Logf("cgroups unavailable: %v", err)
		return nil
	}
	if err := g.Delete(); err != nil {
		t.Fatalf("remove probe cgroup: %v", err)
	}
	return m
}

// makeCgroup creates an allocation cgroup for an executor test, or skips
// the test where cgroups are unavailable.
func makeCgroup(t *testing.T, l cgroups.Limits) string {
	t.Helper()
	m := testCgroups(t)
	if m == nil {
		t.Skip("cgroups unavailable on this host")
	}
	name := fmt.Sprintf("nai-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	if _, err := m.Create(name, l); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() {
		if g, err := m.Open(name); err == nil {
			_ = g.Kill()
			_ = g.Delete()
		}
	})
	return name
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gone reports whether a process is dead (or a zombie waiting for a reaper).
func gone(pid int) bool {
	_, alive := parentPid(pid)
	return !alive
}

// readPids reads a file of pids, one per line, as written by `echo $!`.
func readPids(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pid %q in %s", f, path)
		}
		out = append(out, n)
	}
	return out
}

// newDir makes a fresh alloc dir with its work dir.
func newDir(t *testing.T) Dir {
	t.Helper()
	dir := Dir(filepath.Join(t.TempDir(), "alloc"))
	if err := os.MkdirAll(dir.Path("work"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startExecutor writes a spec into a fresh alloc dir and starts the
// executor on it as the agent would; the caller waits with waitExecutor.
func startExecutor(t *testing.T, spec Spec) (Dir, *exec.Cmd) {
	t.Helper()
	dir := newDir(t)
	if spec.Dir == "" {
		spec.Dir = dir.Path("work")
	}
	if spec.Env == nil {
		spec.Env = []string{"PATH=" + defaultPath, "ALLOC=" + string(dir)}
	}
	if spec.KillGrace == 0 {
		spec.KillGrace = structs.Duration(300 * time.Millisecond)
	}
	// As the agent writes it: the spec inside alloc.json.
	if err := WriteJSONAtomic(dir.Path(AllocFile), AllocRecord{Executor: &spec}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(selfExe(t), "executor", string(dir))
	w := newTWriter(t)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return dir, cmd
}

// runExecutorOn runs the executor on an existing alloc dir to its end, in a
// child process: in this process it would reap the test's other children.
func runExecutorOn(t *testing.T, dir Dir) {
	t.Helper()
	cmd := exec.Command(selfExe(t), "executor", string(dir))
	w := newTWriter(t)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		t.Fatalf("executor: %v", err)
	}
}

func waitExecutor(t *testing.T, dir Dir, cmd *exec.Cmd) *ExitStatus {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("executor failed: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("executor did not end within 30s")
	}
	st, err := dir.ReadExit()
	if err != nil || st == nil {
		t.Fatalf("no exit status: %v", err)
	}
	return st
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func intPtr(i int) *int { return &i }
