package state

import (
	"errors"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func (f *fixture) nodeByID(id string) *structs.Node {
	f.t.Helper()
	n, err := f.s.Snapshot().NodeByID(nil, id)
	if err != nil || n == nil {
		f.t.Fatalf("node %s: %v, %v", id, n, err)
	}
	return n
}

func (f *fixture) drainSteps(now time.Time) ([]string, time.Time) {
	f.t.Helper()
	ids, next, err := f.s.Snapshot().DrainSteps(now)
	if err != nil {
		f.t.Fatal(err)
	}
	return ids, next
}

// A drain with a deadline: the node takes no work at once, its allocation
// runs until the deadline, is then asked to stop, and once it has ended
// the drain is complete and the node stays ineligible.
func TestDrainNodeLifecycle(t *testing.T) {
	tests := []struct {
		name       string
		job        *structs.Job
		wantStatus structs.JobStatus
		wantReason string
	}{
		{name: "no retry policy: requeued as after a preemption", job: newJob("a").GPUs(1).Build(), wantStatus: structs.JobPending, wantReason: "requeued after node-drained"},
		{name: "retry on preempted: requeued", job: newJob("a").GPUs(1).Retry(1, "preempted").Build(), wantStatus: structs.JobPending, wantReason: "requeued after node-drained"},
		{name: "retry only on failed: failed", job: newJob("a").GPUs(1).Retry(1, "failed").Build(), wantStatus: structs.JobFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			id, allocID := f.start(tt.job, "n1", 0)
			deadline := t0.Add(time.Hour)
			if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1", Drain: true, Deadline: deadline, Now: t0}); err != nil {
				t.Fatal(err)
			}
			n := f.nodeByID("n1")
			if !n.Drain || n.Eligible || n.Schedulable() || !n.DrainDeadline.Equal(deadline) {
				t.Fatalf("draining node: drain %t eligible %t deadline %v", n.Drain, n.Eligible, n.DrainDeadline)
			}

			// Before the deadline nothing is to be done and the timer aims at it.
			if ids, next := f.drainSteps(t0.Add(time.Minute)); len(ids) != 0 || !next.Equal(deadline) {
				t.Errorf("before the deadline: steps %v, next %v; want none and %v", ids, next, deadline)
			}
			if err := f.s.ProgressNodeDrain(f.next(), &structs.NodeDrainProgressRequest{NodeID: "n1", Now: t0.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if a := f.allocByID(allocID); a.DesiredStatus != structs.DesiredRun {
				t.Fatalf("alloc asked to %s before the deadline", a.DesiredStatus)
			}

			// Past it the allocation is asked to stop, once.
			if ids, _ := f.drainSteps(deadline); len(ids) != 1 || ids[0] != "n1" {
				t.Errorf("at the deadline: steps %v, want [n1]", ids)
			}
			if err := f.s.ProgressNodeDrain(f.next(), &structs.NodeDrainProgressRequest{NodeID: "n1", Now: deadline}); err != nil {
				t.Fatal(err)
			}
			a := f.allocByID(allocID)
			if a.DesiredStatus != structs.DesiredStop || a.DesiredReason != structs.ExitNodeDrained {
				t.Fatalf("alloc desired %s (%s), want stop (node-drained)", a.DesiredStatus, a.DesiredReason)
			}
			if ids, _ := f.drainSteps(deadline.Add(time.Second)); len(ids) != 0 {
				t.Errorf("while the stop is under way: steps %v, want none", ids)
			}

			// The client reports the stop; the job follows its retry policy.
			if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(143), ExitReason: structs.ExitNodeDrained}); err != nil {
				t.Fatal(err)
			}
			j := f.job(id)
			if j.Status != tt.wantStatus || (tt.wantReason != "" && j.Reason != tt.wantReason) {
				t.Errorf("job %s %q, want %s %q", j.Status, j.Reason, tt.wantStatus, tt.wantReason)
			}
			if j.Status == structs.JobFailed && j.ExitReason != structs.ExitNodeDrained {
				t.Errorf("failed job exit reason %q, want node-drained", j.ExitReason)
			}

			// Nothing live: the drain completes and the node stays ineligible.
			if ids, _ := f.drainSteps(deadline.Add(time.Minute)); len(ids) != 1 {
				t.Errorf("with nothing live: steps %v, want [n1]", ids)
			}
			if err := f.s.ProgressNodeDrain(f.next(), &structs.NodeDrainProgressRequest{NodeID: "n1", Now: deadline.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			n = f.nodeByID("n1")
			if n.Drain || n.Eligible || !n.DrainDeadline.IsZero() {
				t.Errorf("after the drain: drain %t eligible %t deadline %v; want false, false, zero", n.Drain, n.Eligible, n.DrainDeadline)
			}
			if ids, _ := f.drainSteps(deadline.Add(time.Hour)); len(ids) != 0 {
				t.Errorf("after the drain: steps %v", ids)
			}

			// Eligible again on request.
			if err := f.s.SetNodeEligibility(f.next(), &structs.NodeEligibilityRequest{NodeID: "n1", Eligible: true}); err != nil {
				t.Fatal(err)
			}
			if !f.nodeByID("n1").Schedulable() {
				t.Error("node not schedulable after eligibility -enable")
			}
		})
	}
}

// A drain without a deadline never stops anything: it completes when the
// last allocation ends on its own.
func TestDrainNodeNoDeadline(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id, allocID := f.start(newJob("a").GPUs(1).Build(), "n1", 0)
	if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1", Drain: true, Now: t0}); err != nil {
		t.Fatal(err)
	}
	far := t0.Add(1000 * time.Hour)
	if ids, next := f.drainSteps(far); len(ids) != 0 || !next.IsZero() {
		t.Errorf("no deadline: steps %v next %v", ids, next)
	}
	if err := f.s.ProgressNodeDrain(f.next(), &structs.NodeDrainProgressRequest{NodeID: "n1", Now: far}); err != nil {
		t.Fatal(err)
	}
	if a := f.allocByID(allocID); a.DesiredStatus != structs.DesiredRun {
		t.Fatalf("alloc asked to %s without a deadline", a.DesiredStatus)
	}
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0)}); err != nil {
		t.Fatal(err)
	}
	if got := f.job(id).Status; got != structs.JobComplete {
		t.Errorf("job %s, want complete", got)
	}
	if ids, _ := f.drainSteps(far); len(ids) != 1 {
		t.Errorf("after the last alloc ended: steps %v, want [n1]", ids)
	}
}

// Cancelling a drain makes the node eligible; a late progress step, made
// from a snapshot taken before the cancel, changes nothing.
func TestDrainCancelWinsOverStaleProgress(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1", Drain: true, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1", Drain: false, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ProgressNodeDrain(f.next(), &structs.NodeDrainProgressRequest{NodeID: "n1", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if n := f.nodeByID("n1"); n.Drain || !n.Eligible {
		t.Errorf("after cancel and a stale step: drain %t eligible %t; want false, true", n.Drain, n.Eligible)
	}
}

// Re-registration keeps the drain; bad requests change nothing.
func TestDrainKeptAndRefusals(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 2))
	deadline := t0.Add(time.Hour)
	if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1", Drain: true, Deadline: deadline, Now: t0}); err != nil {
		t.Fatal(err)
	}
	f.node(testNode("n1", 2)) // the client registers again, as after a restart
	if n := f.nodeByID("n1"); !n.Drain || n.Eligible || !n.DrainDeadline.Equal(deadline) {
		t.Errorf("re-registration lost the drain: drain %t eligible %t deadline %v", n.Drain, n.Eligible, n.DrainDeadline)
	}
	before := f.nodeByID("n1")
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"drain unknown node", func() error {
			return f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "nx", Drain: true})
		}, structs.ErrNotFound},
		{"drain without node", func() error { return f.s.DrainNode(f.next(), &structs.NodeDrainRequest{Drain: true}) }, structs.ErrInvalid},
		{"eligibility of a draining node", func() error {
			return f.s.SetNodeEligibility(f.next(), &structs.NodeEligibilityRequest{NodeID: "n1", Eligible: true})
		}, structs.ErrConflict},
		{"eligibility of unknown node", func() error {
			return f.s.SetNodeEligibility(f.next(), &structs.NodeEligibilityRequest{NodeID: "nx", Eligible: true})
		}, structs.ErrNotFound},
		{"progress without node", func() error { return f.s.ProgressNodeDrain(f.next(), &structs.NodeDrainProgressRequest{}) }, structs.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	if n := f.nodeByID("n1"); n.ModifyIndex != before.ModifyIndex {
		t.Errorf("a refused request changed the node: %+v", n)
	}
	// Cancelling twice: the second has nothing to cancel.
	if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1"}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("cancelling no drain: %v, want invalid", err)
	}
}

// A report from an allocation already marked lost (its node came back)
// changes neither the allocation nor the job that was requeued.
func TestLostAllocReportIgnored(t *testing.T) {
	for _, st := range []structs.AllocStatus{structs.AllocRunning, structs.AllocComplete, structs.AllocFailed} {
		t.Run(string(st), func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			id, allocID := f.start(newJob("a").GPUs(1).Retry(1, "node-lost").Build(), "n1", 0)
			if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeDown, Now: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			before := f.job(id)
			if before.Status != structs.JobPending {
				t.Fatalf("job %s after node loss, want pending", before.Status)
			}
			if err := f.report(allocID, structs.ClientStatusFields{Status: st, ExitCode: exit(0), ExitReason: structs.ExitExited}); err != nil {
				t.Fatal(err)
			}
			if j := f.job(id); j.ModifyIndex != before.ModifyIndex || j.Status != structs.JobPending {
				t.Errorf("a report of the lost alloc changed the job: %s at %d", j.Status, j.ModifyIndex)
			}
			if a := f.allocByID(allocID); a.ClientStatus.Status != structs.AllocLost {
				t.Errorf("lost alloc became %s", a.ClientStatus.Status)
			}
		})
	}
}
