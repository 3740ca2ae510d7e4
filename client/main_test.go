package client

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/internal/testtool"
)

// TestMain lets the test binary play the nai binary: the runner starts
// `<test binary> executor DIR`, the executor `<test binary> exec-shim ...`,
// and tasks may run `<test binary> test-helper ...`. With TEST_EXE_LOG
// set, the executor and the shim append their role and binary to that file
// (TestExecutorBinary).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "executor":
			logExe("executor")
			os.Exit(executor.Main(os.Args[2:]))
		case "exec-shim":
			logExe("exec-shim")
			os.Exit(executor.ShimMain(os.Args[2:]))
		case "test-helper":
			os.Exit(testHelper(os.Args[2:]))
		}
	}
	stop := testtool.Watchdog()
	code := m.Run()
	stop()
	os.Exit(code)
}

func logExe(role string) {
	p := os.Getenv("TEST_EXE_LOG")
	if p == "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		exe = err.Error()
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintln(f, role, exe)
	f.Close()
}

// testHelper holds task behaviours that are awkward in shell.
func testHelper(args []string) int {
	if len(args) == 1 && (args[0] == "serve" || args[0] == "mute") {
		return serveHelper(args[0]) // service_test.go
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

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(newTWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testCgroups returns a real cgroup manager, or nil when this host does
// not let the tests make cgroups.
func testCgroups(t *testing.T) cgroups.Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	m, err := cgroups.New("", testLogger(t))
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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which sits in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) == 0 || f[0] == "Z" || f[0] == "X"
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

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
