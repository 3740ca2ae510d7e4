package cgroupfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeTree is a tree over plain directories: enough for Open's lookups.
func fakeTree(t *testing.T, version int, controllers ...string) *Tree {
	t.Helper()
	root := t.TempDir()
	tree := &Tree{version: version, logger: testLogger(t)}
	if version == 2 {
		controllers = []string{""}
	}
	for _, c := range controllers {
		h := Hierarchy{Controller: c, Mountpoint: filepath.Join(root, c), Path: "/nai"}
		h.ParentDir = h.Mountpoint
		h.Dir = filepath.Join(h.ParentDir, "nai")
		if err := os.MkdirAll(h.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		tree.hierarchies = append(tree.hierarchies, h)
	}
	return tree
}

func TestOpen(t *testing.T) {
	t.Run("v1 finds the controllers that have the group", func(t *testing.T) {
		tree := fakeTree(t, 1, "memory", "cpu", "freezer")
		for _, c := range []string{"memory", "freezer"} {
			if err := os.Mkdir(filepath.Join(tree.hierarchies[slices.IndexFunc(tree.hierarchies, func(h Hierarchy) bool { return h.Controller == c })].Dir, "a1"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		g, err := tree.Open("a1")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range g.(*v1Group).dirs {
			got = append(got, d.controller)
		}
		if want := []string{"memory", "freezer"}; !slices.Equal(got, want) {
			t.Errorf("controllers = %v, want %v in tree order", got, want)
		}
		if g.Name() != "a1" {
			t.Errorf("Name = %q", g.Name())
		}
	})
	t.Run("v2", func(t *testing.T) {
		tree := fakeTree(t, 2)
		dir := tree.hierarchies[0].GroupDir("a1")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		g, err := tree.Open("a1")
		if err != nil {
			t.Fatal(err)
		}
		if g.(*v2Group).dir != dir {
			t.Errorf("dir = %q, want %q", g.(*v2Group).dir, dir)
		}
	})
}

// Opening a group that is not there, or by a name that is not one path
// element, fails and creates nothing.
func TestOpenBadInput(t *testing.T) {
	for _, version := range []int{1, 2} {
		tree := fakeTree(t, version, "memory", "cpu")
		for _, tc := range []struct {
			name     string
			wantNF   bool
			contains string
		}{
			{"missing", true, "missing"},
			{"", false, "invalid cgroup name"},
			{"..", false, "invalid cgroup name"},
			{"a/b", false, "invalid cgroup name"},
		} {
			_, err := tree.Open(tc.name)
			if err == nil || errors.Is(err, ErrNotFound) != tc.wantNF || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("v%d Open(%q) error = %v; want ErrNotFound %v, mentioning %q", version, tc.name, err, tc.wantNF, tc.contains)
			}
		}
		for _, h := range tree.hierarchies {
			if ents, _ := os.ReadDir(h.Dir); len(ents) != 0 {
				t.Errorf("v%d Open made %v in %s", version, ents, h.Dir)
			}
		}
	}
	t.Run("real tree", func(t *testing.T) {
		requireRoot(t)
		tree, err := NewTree("", testLogger(t))
		keepTree(t, tree, err)
		if _, err := tree.Open(testName(t)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Open of a missing group: error %v, want ErrNotFound", err)
		}
	})
}

func TestNewTreeRejectsBadParent(t *testing.T) {
	for _, parent := range []string{"relative", "/a/../b", "/a/"} {
		if _, err := NewTree(parent, nil); err == nil || !strings.Contains(err.Error(), "expected a clean absolute cgroup path") {
			t.Errorf("NewTree(%q) error = %v", parent, err)
		}
	}
}

// The group operations on the host's real hierarchies, each version.
func TestGroupOps(t *testing.T) {
	eachTree(t, func(t *testing.T, tree *Tree) {
		g := makeGroup(t, tree)
		pid, stop := startSleeper(t)
		if err := g.AddProc(pid); err != nil {
			t.Fatalf("AddProc: %v", err)
		}
		if err := g.AddProc(0); err == nil {
			t.Error("AddProc(0) succeeded")
		}
		if pids, err := g.Pids(); err != nil || !slices.Equal(pids, []int{pid}) {
			t.Fatalf("Pids = %v, %v; want [%d]", pids, err, pid)
		}
		if _, err := g.Usage(); err != nil {
			t.Errorf("Usage: %v", err)
		}
		if err := g.Delete(); err == nil {
			t.Error("Delete succeeded with a process inside")
		}
		if err := g.Signal(int(syscall.SIGTERM)); err != nil {
			t.Fatalf("Signal: %v", err)
		}
		stop()
		if pids, err := g.Pids(); err != nil || len(pids) != 0 {
			t.Fatalf("after SIGTERM Pids = %v, %v", pids, err)
		}
		pid2, _ := startSleeper(t)
		if err := g.AddProc(pid2); err != nil {
			t.Fatal(err)
		}
		if err := g.Kill(); err != nil {
			t.Fatalf("Kill: %v", err)
		}
		if pids, err := g.Pids(); err != nil || len(pids) != 0 {
			t.Fatalf("after Kill Pids = %v, %v", pids, err)
		}
		if err := g.Delete(); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := tree.Open(g.Name()); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open after Delete: error %v, want ErrNotFound", err)
		}
		if err := g.Delete(); err != nil {
			t.Errorf("second Delete: %v", err)
		}
	})
}

// eachTree runs f as a subtest on the v1 tree and on the v2 tree (each
// skipped where the host has none).
func eachTree(t *testing.T, f func(t *testing.T, tree *Tree)) {
	for _, tc := range []struct {
		name string
		tree func(*testing.T) *Tree
	}{{"v1", v1Tree}, {"v2", v2Tree}} {
		t.Run(tc.name, func(t *testing.T) { f(t, tc.tree(t)) })
	}
}

// DeleteIfEmpty removes an empty group with one rmdir per hierarchy,
// and refuses one with a process (v1 keeping at least its freezer, which
// Kill uses) or a child group, which Kill and Delete then remove as ever.
func TestDeleteIfEmpty(t *testing.T) {
	eachTree(t, func(t *testing.T, tree *Tree) {
		g := makeGroup(t, tree)
		d, ok := g.(EmptyDeleter)
		if !ok {
			t.Fatalf("%T is not an EmptyDeleter", g)
		}
		pid, _ := startSleeper(t)
		if err := g.AddProc(pid); err != nil {
			t.Fatal(err)
		}
		if gone, err := d.DeleteIfEmpty(); gone || err != nil {
			t.Fatalf("with a process inside: DeleteIfEmpty = %v, %v; want false, nil", gone, err)
		}
		if v1, ok := g.(*v1Group); ok {
			if dir, ok := v1.dirs.dir("freezer"); ok {
				if _, err := os.Stat(dir); err != nil {
					t.Errorf("the freezer's dir went with a process inside: %v", err)
				}
			}
		}
		if err := g.Kill(); err != nil {
			t.Fatalf("Kill after a refused DeleteIfEmpty: %v", err)
		}
		// A child group is refused too.
		if h := tree.Hierarchies(); len(h) > 0 {
			child := filepath.Join(h[len(h)-1].GroupDir(g.Name()), "child")
			if err := os.Mkdir(child, 0o755); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			} else if err == nil {
				if gone, err := d.DeleteIfEmpty(); gone || err != nil {
					t.Errorf("with a child group: DeleteIfEmpty = %v, %v; want false, nil", gone, err)
				}
				if err := os.Remove(child); err != nil {
					t.Fatal(err)
				}
			}
		}
		if gone, err := d.DeleteIfEmpty(); !gone || err != nil {
			t.Fatalf("empty: DeleteIfEmpty = %v, %v; want true, nil", gone, err)
		}
		if _, err := tree.Open(g.Name()); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open after DeleteIfEmpty: error %v, want ErrNotFound", err)
		}
		if gone, err := d.DeleteIfEmpty(); !gone || err != nil {
			t.Errorf("again: DeleteIfEmpty = %v, %v; want true, nil", gone, err)
		}
	})
}

// The v2 freeze, SIGKILL, thaw path that kernels before 5.14 (no
// cgroup.kill) take.
func TestV2FreezeFallback(t *testing.T) {
	g := makeGroup(t, v2Tree(t)).(*v2Group)
	k := g.killer(false)
	if k.freeze == nil {
		t.Skip("no cgroup.freeze on this cgroup2 hierarchy")
	}
	var pids []int
	for range 3 {
		pid, _ := startSleeper(t)
		if err := g.AddProc(pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	start := time.Now()
	if err := k.run(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if left, err := g.Pids(); err != nil || len(left) != 0 {
		t.Fatalf("after kill Pids = %v, %v (had %v, %s)", left, err, pids, time.Since(start))
	}
	if b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.freeze")); err != nil || strings.TrimSpace(string(b)) != "0" {
		t.Errorf("cgroup.freeze = %q, %v after kill; want thawed", b, err)
	}
}

// OpenTree resolves the same hierarchies as NewTree without making or
// checking any dir: a group NewTree's tree holds opens through it, and a
// parent that does not exist is Open's ErrNotFound, not an error of its
// own (NewTree refuses such a parent).
func TestOpenTree(t *testing.T) {
	tree := v1Tree(t)
	g := makeGroup(t, tree)
	for _, tc := range []struct {
		name, parent, group string
		wantErr             error // of Open
	}{
		{name: "own cgroup, existing group", parent: "", group: g.Name()},
		{name: "own cgroup, no such group", parent: "", group: "nai-none", wantErr: ErrNotFound},
		{name: "missing parent", parent: "/nai-test-no-such-parent", group: g.Name(), wantErr: ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ot, err := OpenTree(tc.parent, testLogger(t))
			if err != nil {
				t.Fatalf("OpenTree(%q): %v", tc.parent, err)
			}
			if tc.parent == "" && !slices.Equal(ot.Hierarchies(), tree.Hierarchies()) {
				t.Errorf("OpenTree's hierarchies %+v, NewTree's %+v", ot.Hierarchies(), tree.Hierarchies())
			}
			og, err := ot.Open(tc.group)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Open(%q) = %v, want %v", tc.group, err, tc.wantErr)
			}
			if err == nil && og.Name() != tc.group {
				t.Errorf("Open(%q) named %q", tc.group, og.Name())
			}
			for _, h := range ot.Hierarchies() {
				if tc.parent != "" {
					if _, err := os.Stat(h.ParentDir); err == nil {
						t.Errorf("OpenTree made %s", h.ParentDir)
					}
				}
			}
		})
	}
	if _, err := OpenTree("relative", nil); err == nil {
		t.Error("OpenTree accepted a relative parent")
	}
}
