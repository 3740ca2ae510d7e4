package cgroupfs

import (
	"os"
	"slices"
	"strconv"
	"testing"
)

// A process that visits an allocation's cgroup and returns is back where
// it was in every hierarchy, and the allocation's cgroup is empty again.
func TestOriginReturn(t *testing.T) {
	tree := v1Tree(t)
	g := makeGroup(t, tree) // the host's own hierarchies: SelfOrigin reads them
	pid, stop := startSleeper(t)
	before := procCgroup(t, pid)
	o, err := SelfOrigin()
	if err != nil {
		t.Fatalf("SelfOrigin: %v", err)
	}
	// The tree's record, taken when it was made, is the same places.
	if to, err := tree.Origin(); err != nil || !slices.Equal(to.procs, o.procs) {
		t.Fatalf("Tree.Origin = %+v, %v; want SelfOrigin's %v", to, err, o.procs)
	}
	if err := g.AddProc(pid); err != nil {
		t.Fatalf("AddProc: %v", err)
	}
	if pids, _ := g.Pids(); !slices.Contains(pids, pid) {
		t.Fatalf("Pids = %v, want %d in the group", pids, pid)
	}
	if err := o.Return(pid); err != nil {
		t.Fatalf("Return: %v", err)
	}
	if pids, err := g.Pids(); err != nil || len(pids) != 0 {
		t.Fatalf("after Return Pids = %v, %v; want none", pids, err)
	}
	if after := procCgroup(t, pid); after != before {
		t.Fatalf("cgroups after Return:\n%s\nwant as before:\n%s", after, before)
	}
	if err := o.Return(0); err == nil {
		t.Fatal("Return(0) succeeded; want an invalid pid error")
	}
	stop()
	if err := g.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func procCgroup(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Priming moves the process into the cgroups it is in: nothing changes,
// and a visit to an allocation's cgroup right after is quick (the wait it
// removes is measured in its comment, not asserted here).
func TestPrimeMigrations(t *testing.T) {
	_ = v1Tree(t) // root on a v1 host, as the agent is
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if err := PrimeMigrations(); err != nil {
		t.Fatalf("PrimeMigrations: %v", err)
	}
	after, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("cgroups after priming:\n%s\nwant as before:\n%s", after, before)
	}
}
