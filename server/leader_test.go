package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// A pass that preempts a job and cancels a job that can never run commits
// both, with the waiting reasons, in one raft entry.
func TestPlanCommitsPreemptionAndCancelTogether(t *testing.T) {
	s, c := testServer(t, t.TempDir(), multifactor)
	ctx := context.Background()
	for _, q := range []*structs.Queue{{Name: "low"}, {Name: "high", PriorityTier: 1}} {
		if _, err := c.ApplyQueue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RegisterNode(ctx, testNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}
	low := gpuJob("low", 4)
	low.Queue, low.Preemptible = "low", true
	lowID := startedAgo(t, c, low, "n1", 0)
	parent, err := c.Register(ctx, gpuJob("parent", 8)) // no node has 8 GPUs: it stays pending
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ctx, parent.JobIDs[0]); err != nil {
		t.Fatal(err)
	}

	// The urgent job and the orphaned child arrive in one entry, so the
	// next pass finds both. The HTTP API refuses a dependency on a job
	// already cancelled; the entry is applied as if the parent had been
	// cancelled between that check and the entry (the race the scheduler
	// still answers by cancelling the child).
	high := gpuJob("high", 4)
	high.Queue = "high"
	child := gpuJob("child", 0)
	child.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: parent.JobIDs[0]}}
	for _, j := range []*structs.Job{high, child} {
		j.User = "root"
	}
	out, _, err := s.apply(fsm.JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{high, child}, Now: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(*structs.JobRegisterResponse)
	highID, childID := resp.JobIDs[0], resp.JobIDs[1]

	var victim *structs.Allocation
	waitUntil(t, "the low job is asked to stop", func() bool {
		allocs, _, err := c.NodeAllocations(ctx, "n1", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range allocs {
			if a.JobID == lowID && a.DesiredStatus == structs.DesiredStop {
				victim = a
			}
		}
		return victim != nil
	})
	if victim.DesiredReason != structs.ExitPreempted {
		t.Errorf("victim stops for %q, want preempted", victim.DesiredReason)
	}
	h, _, err := c.Job(ctx, highID)
	if err != nil {
		t.Fatal(err)
	}
	ch, _, err := c.Job(ctx, childID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Status != structs.JobCancelled || ch.Reason != "DependencyNeverSatisfied" {
		t.Errorf("child: %s %q, want cancelled, DependencyNeverSatisfied", ch.Status, ch.Reason)
	}
	// The next pass may already say the victim is stopping.
	if h.Status != structs.JobPending || !strings.HasPrefix(h.Reason, "Resources: ") || len(h.NodeFilters) == 0 {
		t.Errorf("high job: %s %q %v, want pending for resources, with node filters", h.Status, h.Reason, h.NodeFilters)
	}
	// One entry wrote all three.
	if victim.ModifyIndex != ch.ModifyIndex || h.ModifyIndex < victim.ModifyIndex {
		t.Errorf("written at indexes: victim %d, cancelled child %d, waiting job %d; want the victim and the child in one",
			victim.ModifyIndex, ch.ModifyIndex, h.ModifyIndex)
	}
}

// heldFuture is a raft future answered only when the test says so.
type heldFuture struct {
	answer chan error
}

func (f heldFuture) Error() error  { return <-f.answer }
func (f heldFuture) Index() uint64 { return 0 }

// await gives a raft future's own answer, and stops waiting for one that
// is never answered once the server has shut down (hashicorp/raft#498):
// a leader loop blocked there would hold Shutdown for ever.
func TestAwait(t *testing.T) {
	defer func(g time.Duration) { awaitShutdownGrace = g }(awaitShutdownGrace)
	awaitShutdownGrace = 50 * time.Millisecond
	lost := errors.New("leadership lost")

	s := &Server{shutdownCh: make(chan struct{})}
	f := heldFuture{answer: make(chan error, 1)}
	f.answer <- lost
	if err := s.await(f); !errors.Is(err, lost) {
		t.Errorf("answered future: %v, want %v", err, lost)
	}

	// Shut down, and the answer comes within the grace: it is given.
	s = &Server{shutdownCh: make(chan struct{})}
	f = heldFuture{answer: make(chan error)}
	close(s.shutdownCh)
	go func() { f.answer <- lost }()
	if err := s.await(f); !errors.Is(err, lost) {
		t.Errorf("answered during the grace: %v, want %v", err, lost)
	}

	// Shut down, and no answer ever comes.
	f = heldFuture{answer: make(chan error)}
	if err := s.await(f); !errors.Is(err, raft.ErrRaftShutdown) {
		t.Errorf("never answered: %v, want %v", err, raft.ErrRaftShutdown)
	}
}

// The fair-share usage is reused for a second, or for fifty times what
// computing it cost when that is longer, up to 30 s.
func TestFairShareAge(t *testing.T) {
	for _, c := range []struct {
		cost, want time.Duration
	}{
		{0, time.Second},
		{10 * time.Millisecond, time.Second},
		{20 * time.Millisecond, time.Second},
		{60 * time.Millisecond, 3 * time.Second},
		{time.Second, 30 * time.Second},
		{-time.Second, time.Second},
	} {
		if got := fairShareAge(c.cost); got != c.want {
			t.Errorf("fairShareAge(%v) = %v, want %v", c.cost, got, c.want)
		}
	}
}
