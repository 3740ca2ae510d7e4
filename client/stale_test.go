package client

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// Nodes' long-polls are answered by any server (?stale), so an answer can
// come from a follower that has not yet applied the placement the client
// already runs. Such an answer, older than the allocation, must not stop
// it; an answer at or past the allocation's index that no longer lists it
// still does (TestClientStopsAllocation, "no longer listed").
func TestClientIgnoresAnswerOlderThanItsAllocation(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	runClient(t, c)
	a := newAlloc(c, scriptJob("j-stale", "sleep 100"), 0)
	f.put(a)
	waitFor(t, 10*time.Second, "the running report", func() bool { return len(f.reports(a.ID)) > 0 })

	c.mu.Lock()
	r := c.runners[a.ID]
	c.mu.Unlock()
	if r == nil {
		t.Fatal("no runner for the running allocation")
	}
	// A follower's answer from before the placement: the node has nothing.
	c.reconcile(context.Background(), nil, a.CreateIndex-1, true)
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	if stopped {
		t.Fatal("an answer older than the allocation stopped it")
	}
	for _, rep := range f.reports(a.ID) {
		if rep.Status.Terminal() {
			t.Fatalf("allocation ended after a stale answer: %+v", rep)
		}
	}

	f.modify(a.ID, func(a *structs.Allocation) {
		a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitCancelled
	})
	waitFor(t, terminalWait, "the stop", func() bool { return f.terminal(a.ID) })
}

// A compact answer sends the allocations the client already had in full
// without their jobs. One to start that comes so (the client lost it, or
// the servers' state was reset) is not started without its job: the
// client asks again from index 0, and only a full answer without a job
// fails it.
func TestClientAsksAgainForAJoblessAllocation(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	runClient(t, c)
	// Run recovers the allocation dirs of an earlier run before it polls,
	// and removes one with no alloc.json: a reconcile called meanwhile
	// could have its new dir removed under it. The client's own
	// reconciles come from its polls, after recovery.
	waitFor(t, 10*time.Second, "the client's first poll", f.polled)
	// The runner started here lives in this context, not Run's: it ends
	// (cleanups run last first) before Run is stopped and waits for it.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := newAlloc(c, scriptJob("j-compact", "true"), 0)
	a.CreateIndex, a.ModifyIndex = 5, 5
	bare := a.Copy() // Copy leaves the job out, as a compact answer does
	if c.reconcile(ctx, []*structs.Allocation{bare}, 9, true) {
		t.Error("a compact answer with a job-less allocation to start did not ask for a full one")
	}
	c.mu.Lock()
	started := c.runners[a.ID] != nil
	c.mu.Unlock()
	if started || exists(filepath.Join(c.allocsDir(), a.ID)) {
		t.Error("an allocation was started without its job")
	}
	if !c.reconcile(ctx, []*structs.Allocation{a}, 9, false) {
		t.Error("a full answer asked for another")
	}
	waitFor(t, terminalWait, "the allocation with its job to run and end", func() bool {
		for _, rep := range f.reports(a.ID) {
			if rep.Status.Terminal() {
				return true
			}
		}
		return false
	})
}
