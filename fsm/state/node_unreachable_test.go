package state

import (
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A ready node serf declared failed is marked unreachable: it keeps its
// allocations and its status but takes no new work (a plan placing there
// is refused), until serf sees it again, it registers again, or it goes
// down.
func TestNodeUnreachable(t *testing.T) {
	mark := func(f *fixture, unreachable bool, at time.Time) {
		t.Helper()
		if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeReady, Unreachable: unreachable, Now: at}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("marked, kept, refused new work, cleared", func(t *testing.T) {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		running, allocID := f.start(newJob("a").GPUs(1).Build(), "n1", 0)
		mark(f, true, t0.Add(time.Minute))
		n := f.nodeByID("n1")
		if !n.UnreachableSince.Equal(t0.Add(time.Minute)) || n.Status != structs.NodeReady || n.Schedulable() {
			t.Fatalf("after the mark: since %v, status %s, schedulable %v", n.UnreachableSince, n.Status, n.Schedulable())
		}
		before := n.ModifyIndex
		mark(f, true, t0.Add(2*time.Minute)) // a second mark changes nothing
		if n := f.nodeByID("n1"); n.ModifyIndex != before || !n.UnreachableSince.Equal(t0.Add(time.Minute)) {
			t.Errorf("a repeated mark rewrote the node: index %d -> %d, since %v", before, n.ModifyIndex, n.UnreachableSince)
		}
		if j := f.job(running); j.Status != structs.JobRunning {
			t.Errorf("the running job became %s", j.Status)
		}
		if a := f.allocByID(allocID); a.ClientStatus.Status == structs.AllocLost {
			t.Errorf("the allocation was lost with the node only unreachable")
		}
		waiting := f.register(newJob("b").GPUs(1).Build())[0]
		if applied := f.plan(f.alloc(waiting, "n1", 1)); len(applied) != 0 {
			t.Errorf("a plan placed %v on the unreachable node", applied)
		}
		mark(f, false, t0.Add(3*time.Minute))
		if n := f.nodeByID("n1"); !n.UnreachableSince.IsZero() || !n.Schedulable() {
			t.Errorf("after serf saw it again: since %v, schedulable %v", n.UnreachableSince, n.Schedulable())
		}
		if applied := f.plan(f.alloc(waiting, "n1", 1)); len(applied) != 1 {
			t.Errorf("a plan on the reachable node applied %v", applied)
		}
	})
	t.Run("going down clears the mark", func(t *testing.T) {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		mark(f, true, t0)
		if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeDown, Unreachable: true, Now: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if n := f.nodeByID("n1"); n.Status != structs.NodeDown || !n.UnreachableSince.IsZero() {
			t.Errorf("down: status %s, since %v", n.Status, n.UnreachableSince)
		}
	})
	t.Run("registering again clears the mark, whatever the node sends", func(t *testing.T) {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		mark(f, true, t0)
		again := testNode("n1", 4)
		again.UnreachableSince = t0
		f.node(again)
		if n := f.nodeByID("n1"); !n.UnreachableSince.IsZero() || !n.Schedulable() {
			t.Errorf("after registering: since %v, schedulable %v", n.UnreachableSince, n.Schedulable())
		}
	})
}
