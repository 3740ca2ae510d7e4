package cgroupfs

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
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

// A thread that visits an allocation's cgroup (AddThread) takes only
// itself there: a process it forks meanwhile is born in the cgroup, the
// rest of the process stays where it was, and ReturnThread brings the
// thread back, leaving the cgroup empty once the child is gone.
func TestThreadVisit(t *testing.T) {
	tree := v1Tree(t)
	g := makeGroup(t, tree)
	tj, ok := g.(ThreadJoiner)
	if !ok {
		t.Fatalf("a v1 group (%T) is not a ThreadJoiner", g)
	}
	o, err := tree.Origin()
	if err != nil {
		t.Fatal(err)
	}
	self := procCgroup(t, os.Getpid())
	type visit struct {
		during, after string   // the visiting thread's cgroups
		others        []string // the process's other threads' during the visit
		child         int
		inGroup       []int // Pids during the visit
		joinErr       error
		returnErr     error
	}
	done := make(chan visit, 1)
	go func() {
		runtime.LockOSThread()
		var v visit
		if v.joinErr = tj.AddThread(); v.joinErr == nil {
			v.during = threadCgroup(t)
			// Any thread but this one: this one may be the process's
			// main thread, whose file /proc/PID/cgroup shows.
			v.others = otherThreadsCgroups(t, syscall.Gettid())
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err == nil {
				v.child = cmd.Process.Pid
				v.inGroup, _ = g.Pids()
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		}
		if v.returnErr = o.ReturnThread(); v.returnErr == nil {
			v.after = threadCgroup(t)
			runtime.UnlockOSThread()
		}
		done <- v
	}()
	v := <-done
	if v.joinErr != nil || v.returnErr != nil {
		t.Fatalf("AddThread: %v; ReturnThread: %v", v.joinErr, v.returnErr)
	}
	checks := []struct {
		what string
		ok   bool
		got  any
	}{
		{"the visiting thread is in the group", strings.Contains(v.during, "/nai/"+g.Name()+"\n"), v.during},
		{"the rest of the process stays", len(v.others) > 0 && !slices.ContainsFunc(v.others, func(c string) bool { return c != self }), v.others},
		{"the forked child is in the group", v.child > 0 && slices.Contains(v.inGroup, v.child), v.inGroup},
		{"the thread is back where it was", v.after == self, v.after},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: got\n%v\n(process before: %s)", c.what, c.got, self)
		}
	}
	if pids, err := g.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("after the visit Pids = %v, %v; want none", pids, err)
	}
	if err := g.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

// otherThreadsCgroups is the cgroups file of every thread of this process
// but tid (a thread that ends meanwhile is left out).
func otherThreadsCgroups(t *testing.T, tid int) []string {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Error(err)
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.Name() == strconv.Itoa(tid) {
			continue
		}
		if b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/cgroup"); err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

// threadCgroup is the calling thread's own /proc file (each thread of a
// v1 process may be elsewhere).
func threadCgroup(t *testing.T) string {
	b, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		t.Error(err)
	}
	return string(b)
}
