package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup1"
)

// A cgroup a task nests inside its allocation's still counts: its
// processes are listed, Delete refuses while they live and removes the
// nested cgroup once they are gone.
func TestV1NestedCgroup(t *testing.T) {
	e := v1Env(t)
	g := createGroup(t, e, Limits{})
	nested := filepath.Join(g.(*v1Group).dirs[cgroup1.Memory], "inner")
	if err := os.Mkdir(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.Remove(nested)
	})
	if err := os.WriteFile(filepath.Join(nested, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatal(err)
	}
	if pids, err := g.Pids(); err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids = %v, %v; want %d from the nested cgroup", pids, err, pid)
	}
	if err := g.Delete(); err == nil {
		t.Fatal("Delete succeeded with a process inside")
	}
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	_ = cmd.Wait()
	if err := g.Delete(); err != nil {
		t.Fatalf("Delete after kill: %v", err)
	}
	if _, err := os.Stat(nested); !os.IsNotExist(err) {
		t.Fatalf("nested cgroup %s survives Delete: %v", nested, err)
	}
	if err := g.Delete(); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}
