package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// The tests make cgroups only below this process's own cgroup (the tree
// NewTree("") finds), as plain directories without limits: creating with
// limits is package cgroups' job, tested there.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroup tests need root: they create cgroups under the test's own cgroup")
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

// v1Tree is the host's own tree when the host is v1 (or hybrid).
func v1Tree(t *testing.T) *Tree {
	t.Helper()
	requireRoot(t)
	if mode, err := Mode(); err != nil || mode != 1 {
		t.Skipf("host cgroup mode is %d (%v), not v1", mode, err)
	}
	tree, err := NewTree("", testLogger(t))
	return keepTree(t, tree, err)
}

// v2Tree is the cgroup2 tree: the host's own, or a hybrid host's unified
// mount.
func v2Tree(t *testing.T) *Tree {
	t.Helper()
	requireRoot(t)
	tree, err := NewUnifiedTree("", testLogger(t))
	if err != nil && strings.Contains(err.Error(), "no cgroup2 mount") {
		t.Skip("no cgroup2 mount on this host: the v2 code is covered by the parsing tests")
	}
	return keepTree(t, tree, err)
}

// keepTree skips when the host will not let the test make cgroups and
// removes the nai dirs the tree made when the test ends, if empty.
func keepTree(t *testing.T, tree *Tree, err error) *Tree {
	t.Helper()
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) {
		t.Skipf("cgroups are not writable here: %v", err)
	}
	if err != nil {
		t.Fatalf("tree: %v", err)
	}
	t.Cleanup(func() {
		for _, h := range tree.Hierarchies() {
			if err := os.Remove(h.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
				t.Logf("remove %s: %v", h.Dir, err)
			}
		}
	})
	return tree
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func testName(t *testing.T) string {
	return fmt.Sprintf("test-%d-%s", os.Getpid(), nameUnsafe.ReplaceAllString(t.Name(), "_"))
}

// makeGroup makes an allocation cgroup without limits in every hierarchy
// of tree and opens it; it is killed and removed when the test ends.
func makeGroup(t *testing.T, tree *Tree) Group {
	t.Helper()
	name := testName(t)
	for _, h := range tree.Hierarchies() {
		if err := os.MkdirAll(h.GroupDir(name), 0o755); err != nil { // All: another package's test may have removed the empty nai dir
			t.Fatal(err)
		}
	}
	g, err := tree.Open(name)
	if err != nil {
		t.Fatalf("Open: %v", err)
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

// startSleeper starts a process that sleeps for a minute and returns its
// pid and a func that ends it (called again when the test ends).
func startSleeper(t *testing.T) (int, func()) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	t.Cleanup(stop)
	return cmd.Process.Pid, stop
}
