package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/cgroups/cgroupfs"
	"github.com/nai-project/nai/internal/testtool"
	"golang.org/x/sys/unix"
)

// The test binary doubles as the job: re-executed with envHelper set, it
// joins the cgroup named by envGroup the way the client's exec shim does
// (AddProc(os.Getpid()) first), then runs one action.
const (
	envHelper = "NAI_CGROUPS_TEST_HELPER"
	envGroup  = "NAI_CGROUPS_TEST_GROUP"
	envV2     = "NAI_CGROUPS_TEST_V2" // set: join through newV2 (the unified mount)
)

func TestMain(m *testing.M) {
	if action := os.Getenv(envHelper); action != "" {
		os.Exit(runHelper(action, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func runHelper(action string, args []string) int {
	if name := os.Getenv(envGroup); name != "" {
		var mgr Manager
		var err error
		if os.Getenv(envV2) != "" {
			mgr, err = newV2("", slog.New(slog.DiscardHandler))
		} else {
			mgr, err = New("", slog.New(slog.DiscardHandler))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: manager:", err)
			return 90
		}
		g, err := mgr.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: open:", err)
			return 91
		}
		if err := g.AddProc(os.Getpid()); err != nil {
			fmt.Fprintln(os.Stderr, "helper: join:", err)
			return 92
		}
	}
	switch action {
	case "alloc": // alloc MiB: touch that much memory, in 1 MiB steps
		mib, _ := strconv.Atoi(args[0])
		var keep [][]byte
		for i := 0; i < mib; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("survived", len(keep))
		return 0
	case "spin": // spin SECONDS: two busy goroutines for that much wall time
		secs, _ := strconv.ParseFloat(args[0], 64)
		end := time.Now().Add(time.Duration(secs * float64(time.Second)))
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
				}
			}()
		}
		wg.Wait()
		return 0
	case "exec": // exec PATH ARGS...: the shim's last step
		err := syscall.Exec(args[0], args, os.Environ())
		fmt.Fprintln(os.Stderr, "helper: exec:", err)
		return 93
	case "tree": // start a grandchild in a new session, print its pid, sleep
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envHelper+"=sleep", envGroup+"=")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "helper: start grandchild:", err)
			return 94
		}
		fmt.Println(cmd.Process.Pid)
		time.Sleep(time.Hour)
		return 0
	case "spawn": // spawn GROUP: start a child that joins GROUP from in here
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envHelper+"=sleep", envGroup+"="+args[0])
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "helper: start child:", err)
			return 95
		}
		fmt.Println(cmd.Process.Pid)
		time.Sleep(time.Hour)
		return 0
	case "sleep":
		time.Sleep(time.Hour)
		return 0
	case "open": // open PATH...: print "PATH ok" or "PATH ERRNO" per device
		for _, p := range args {
			f, err := os.OpenFile(p, os.O_RDONLY, 0)
			if err == nil {
				f.Close()
				fmt.Println(p, "ok")
				continue
			}
			var errno syscall.Errno
			if errors.As(err, &errno) {
				fmt.Println(p, unix.ErrnoName(errno))
			} else {
				fmt.Println(p, err)
			}
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "helper: unknown action", action)
	return 99
}

// testEnv is one cgroup code path the behaviour tests run against.
type testEnv struct {
	name    string
	mgr     Manager
	env     []string // extra environment for helpers to join the right way
	hasCtrl func(c string) bool
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroup tests need root: they create cgroups under the test's own cgroup")
	}
}

// skipIfNotWritable turns "this host will not let us create cgroups" into
// a skip; any other error from New is a failure.
func skipIfNotWritable(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) {
		t.Skipf("cgroups are not writable here: %v", err)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// v1Env is the host's own cgroup setup when it is v1 (or hybrid).
func v1Env(t *testing.T) testEnv {
	t.Helper()
	requireRoot(t)
	if mode, err := cgroupfs.Mode(); err != nil || mode != 1 {
		t.Skipf("host cgroup mode is %d (%v), not v1", mode, err)
	}
	mgr, err := New("", testLogger(t))
	skipIfNotWritable(t, err)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var dirs []string
	for _, h := range mgr.(*v1Manager).hs {
		dirs = append(dirs, h.Dir)
	}
	t.Cleanup(func() { removeIfEmpty(t, dirs) })
	return testEnv{name: "v1", mgr: mgr, hasCtrl: func(string) bool { return true }}
}

// v2Env is a cgroup2 hierarchy: the host's own on a v2 host, or the
// unified mount of a hybrid host (there usually with no controllers, so
// only process tracking, freeze, kill, cpu.stat and eBPF devices work).
func v2Env(t *testing.T) testEnv {
	t.Helper()
	requireRoot(t)
	m, err := newV2("", testLogger(t))
	if err != nil && strings.Contains(err.Error(), "no cgroup2 mount") {
		t.Skip("no cgroup2 mount on this host: the v2 code path is covered only by parsing tests")
	}
	skipIfNotWritable(t, err)
	if err != nil {
		t.Fatalf("newV2: %v", err)
	}
	t.Cleanup(func() { removeIfEmpty(t, []string{m.h.Dir}) })
	return testEnv{
		name: "v2",
		mgr:  m,
		env:  []string{envV2 + "=1"},
		hasCtrl: func(c string) bool {
			return m.checkControllers([]string{c}) == nil
		},
	}
}

func forEachEnv(t *testing.T, f func(t *testing.T, e testEnv)) {
	for _, mk := range []struct {
		name string
		env  func(*testing.T) testEnv
	}{{"v1", v1Env}, {"v2", v2Env}} {
		t.Run(mk.name, func(t *testing.T) { f(t, mk.env(t)) })
	}
}

// removeIfEmpty removes the shared "nai" dirs the tests made; another
// user's cgroups in them keep them (rmdir fails on a non-empty cgroup).
func removeIfEmpty(t *testing.T, dirs []string) {
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
			t.Logf("remove %s: %v", d, err)
		}
	}
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func testName(t *testing.T) string {
	return fmt.Sprintf("test-%d-%s", os.Getpid(), nameUnsafe.ReplaceAllString(t.Name(), "_"))
}

// createGroup makes a cgroup that is killed and removed when the test
// ends, pass or fail.
func createGroup(t *testing.T, e testEnv, l Limits) cgroupfs.Group {
	t.Helper()
	g, err := e.mgr.Create(testName(t), l)
	if err != nil {
		t.Fatalf("Create(%+v): %v", l, err)
	}
	t.Cleanup(func() {
		if err := g.Kill(); err != nil {
			t.Errorf("cleanup kill: %v", err)
		}
		if err := g.Delete(); err != nil {
			t.Errorf("cleanup delete: %v", err)
		}
	})
	return g
}

type helperProc struct {
	cmd            *exec.Cmd
	stdout, stderr *testtool.Buffer
	done           chan struct{}
	err            error
}

// startHelper runs the test binary as a job in g. The test kills it by
// pid when it ends, if it still runs.
func startHelper(t *testing.T, e testEnv, g cgroupfs.Group, action string, args ...string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envHelper+"="+action, envGroup+"="+g.Name())
	cmd.Env = append(cmd.Env, e.env...)
	h := &helperProc{cmd: cmd, stdout: &testtool.Buffer{}, stderr: &testtool.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = h.stdout, h.stderr
	// Orphans in the cgroup may hold the output pipes; do not wait on them.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", action, err)
	}
	go func() { h.err = cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		select {
		case <-h.done:
		default:
			_ = cmd.Process.Kill()
			<-h.done
		}
	})
	return h
}

// wait waits for the helper to exit, failing the test after timeout.
func (h *helperProc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-h.done:
		return h.err
	case <-time.After(timeout):
		t.Fatalf("helper still running after %s; stdout %q stderr %q", timeout, h.stdout, h.stderr)
		return nil
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readFirstLine waits for the helper's first stdout line.
func (h *helperProc) firstLine(t *testing.T) string {
	t.Helper()
	var line string
	eventually(t, 10*time.Second, "helper output", func() bool {
		s := bufio.NewScanner(strings.NewReader(h.stdout.String()))
		if s.Scan() && strings.HasSuffix(h.stdout.String(), "\n") {
			line = s.Text()
			return true
		}
		return false
	})
	return line
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
