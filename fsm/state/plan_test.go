package state

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestApplyPlanRechecks(t *testing.T) {
	tests := []struct {
		name string
		// build registers what the case needs and returns the plan's
		// allocations and the ids expected to be applied.
		build func(f *fixture) ([]*structs.Allocation, []string)
	}{
		{name: "fits", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("a").GPUs(2).Build())[0]
			a := f.alloc(id, "n1", 0, 1)
			return []*structs.Allocation{a}, []string{a.ID}
		}},
		{name: "GPU held by a live alloc is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			f.start(newJob("holder").GPUs(1).Build(), "n1", 1)
			id := f.register(newJob("b").GPUs(2).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 0, 1)}, nil
		}},
		{name: "GPU freed by an ended alloc is reused", build: func(f *fixture) ([]*structs.Allocation, []string) {
			_, allocID := f.start(newJob("holder").GPUs(1).Build(), "n1", 1)
			if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0)}); err != nil {
				f.t.Fatal(err)
			}
			id := f.register(newJob("b").GPUs(2).Build())[0]
			a := f.alloc(id, "n1", 0, 1)
			return []*structs.Allocation{a}, []string{a.ID}
		}},
		{name: "same GPU twice in one plan keeps the first", build: func(f *fixture) ([]*structs.Allocation, []string) {
			ids := f.register(newJob("a").GPUs(1).Build(), newJob("b").GPUs(1).Build())
			a, b := f.alloc(ids[0], "n1", 3), f.alloc(ids[1], "n1", 3)
			return []*structs.Allocation{a, b}, []string{a.ID}
		}},
		{name: "drained node is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			f.setNode("n1", func(n *structs.Node) { n.Drain = true })
			id := f.register(newJob("a").GPUs(1).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 0)}, nil
		}},
		{name: "down node is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeDown, Now: t0}); err != nil {
				f.t.Fatal(err)
			}
			id := f.register(newJob("a").GPUs(1).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 0)}, nil
		}},
		{name: "unknown node is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("a").GPUs(1).Build())[0]
			return []*structs.Allocation{f.alloc(id, "nope", 0)}, nil
		}},
		{name: "over memory is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			f.start(newJob("half").Memory(40*gib).Build(), "n1")
			id := f.register(newJob("a").Memory(30 * gib).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1")}, nil
		}},
		{name: "over CPU within one plan is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			ids := f.register(newJob("a").CPU(10).Build(), newJob("b").CPU(6.5).Build())
			a := f.alloc(ids[0], "n1")
			return []*structs.Allocation{a, f.alloc(ids[1], "n1")}, []string{a.ID}
		}},
		{name: "unhealthy GPU is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			f.setNode("n1", func(n *structs.Node) { n.GPUs[2].Healthy = false })
			id := f.register(newJob("a").GPUs(1).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 2)}, nil
		}},
		{name: "GPU index the node lacks is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("a").GPUs(1).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 7)}, nil
		}},
		{name: "wrong GPU count is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("a").GPUs(2).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 0)}, nil
		}},
		{name: "job no longer pending is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("a").Build())[0]
			a := f.alloc(id, "n1")
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
				f.t.Fatal(err)
			}
			return []*structs.Allocation{a}, nil
		}},
		{name: "stale attempt is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("a").Build())[0]
			a := f.alloc(id, "n1")
			a.Attempt, a.ID = 2, id+".2"
			return []*structs.Allocation{a}, nil
		}},
		{name: "malformed alloc id is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("a").Build())[0]
			a := f.alloc(id, "n1")
			a.ID = "x"
			return []*structs.Allocation{a}, nil
		}},
		{name: "exclusive job on an idle node fits", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("x").GPUs(1).Exclusive().Build())[0]
			a := f.alloc(id, "n1", 0)
			return []*structs.Allocation{a}, []string{a.ID}
		}},
		{name: "exclusive job on a node with a live alloc is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			f.start(newJob("holder").GPUs(1).Build(), "n1", 3)
			id := f.register(newJob("x").GPUs(1).Exclusive().Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 0)}, nil
		}},
		{name: "nothing joins a node an exclusive job holds", build: func(f *fixture) ([]*structs.Allocation, []string) {
			f.start(newJob("x").GPUs(1).Exclusive().Build(), "n1", 3)
			id := f.register(newJob("a").GPUs(1).Build())[0]
			return []*structs.Allocation{f.alloc(id, "n1", 0)}, nil
		}},
		{name: "within one plan, the second of an exclusive and another on a node is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			ids := f.register(newJob("a").GPUs(1).Build(), newJob("x").GPUs(1).Exclusive().Build(), newJob("b").GPUs(1).Build())
			a, x, b := f.alloc(ids[0], "n1", 0), f.alloc(ids[1], "n1", 1), f.alloc(ids[2], "n2", 0)
			return []*structs.Allocation{a, x, b}, []string{a.ID, b.ID}
		}},
		{name: "an exclusive node freed by an ended alloc is reused", build: func(f *fixture) ([]*structs.Allocation, []string) {
			_, allocID := f.start(newJob("x").GPUs(1).Exclusive().Build(), "n1", 3)
			if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0)}); err != nil {
				f.t.Fatal(err)
			}
			id := f.register(newJob("a").GPUs(1).Build())[0]
			a := f.alloc(id, "n1", 0)
			return []*structs.Allocation{a}, []string{a.ID}
		}},
		{name: "gang fits whole", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("g").GPUs(4).Nodes(2).Build())[0]
			a, b := f.alloc(id, "n1", 0, 1, 2, 3), f.alloc(id, "n2", 0, 1, 2, 3)
			a.ID, b.ID = id+".1.0", id+".1.1"
			return []*structs.Allocation{a, b}, []string{a.ID, b.ID}
		}},
		{name: "gang is all or nothing", build: func(f *fixture) ([]*structs.Allocation, []string) {
			f.start(newJob("holder").GPUs(1).Build(), "n2", 3)
			id := f.register(newJob("g").GPUs(4).Nodes(2).Build())[0]
			a, b := f.alloc(id, "n1", 0, 1, 2, 3), f.alloc(id, "n2", 0, 1, 2, 3)
			a.ID, b.ID = id+".1.0", id+".1.1"
			return []*structs.Allocation{a, b}, nil
		}},
		{name: "gang missing a member is dropped", build: func(f *fixture) ([]*structs.Allocation, []string) {
			id := f.register(newJob("g").GPUs(4).Nodes(2).Build())[0]
			a := f.alloc(id, "n1", 0, 1, 2, 3)
			a.ID = id + ".1.0"
			return []*structs.Allocation{a}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			f.node(testNode("n2", 4))
			allocs, want := tt.build(f)
			got := f.plan(allocs...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("applied (-want +got):\n%s", diff)
			}
			for _, a := range allocs {
				stored, _ := f.s.Snapshot().AllocByID(nil, a.ID)
				j, _ := f.s.Snapshot().JobByID(nil, a.JobID)
				applied := false
				for _, id := range want {
					applied = applied || id == a.ID
				}
				switch {
				case applied && (stored == nil || j.Status != structs.JobRunning):
					t.Errorf("alloc %s applied but stored %v, job %s", a.ID, stored, j.Status)
				case !applied && stored != nil && stored.CreateIndex == f.index:
					t.Errorf("dropped alloc %s was written", a.ID)
				}
			}
		})
	}
}

func TestApplyPlanWritesPlacement(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id := f.register(newJob("a").GPUs(2).CPU(2).Build())[0]
	in := f.alloc(id, "n1", 2, 3)
	f.plan(in)
	if in.JobName != "" || in.CreateIndex != 0 {
		t.Error("ApplyPlan changed the caller's allocation")
	}
	a := f.allocByID(in.ID)
	want := &structs.Allocation{
		ID: id + ".1", JobID: id, JobName: "a", NodeID: "n1", NodeName: "host-n1",
		GPUs: []int{2, 3}, GPUUUIDs: []string{"GPU-n1-2", "GPU-n1-3"},
		Resources: f.job(id).Resources, Attempt: 1,
		DesiredStatus: structs.DesiredRun, ClientStatus: structs.ClientStatusFields{Status: structs.AllocPending},
		CreateTime: t0.Add(time.Minute), CreateIndex: f.index, ModifyIndex: f.index, ServerIndex: f.index,
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("alloc (-want +got):\n%s", diff)
	}
	j := f.job(id)
	if j.Status != structs.JobRunning || j.NodeID != "n1" || j.NodeName != "host-n1" || j.AllocID != in.ID ||
		!cmp.Equal(j.GPUs, []int{2, 3}) || j.Attempt != 1 || !j.StartTime.Equal(t0.Add(time.Minute)) {
		t.Errorf("job after placement: %+v", j)
	}
	// A plan applied twice (a leader retrying) writes nothing the second time.
	if got := f.plan(in); len(got) != 0 {
		t.Errorf("second apply placed %v", got)
	}
}

func TestApplyPlanWaiting(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id := f.register(newJob("a").GPUs(8).Build())[0]
	wait := []structs.WaitStatus{{JobID: id, Code: structs.WaitNoNodeFits, Reason: "NoNodeFits: needs 8 GPUs, largest node has 4"}, {JobID: "999", Reason: "gone"}}

	if _, err := f.s.ApplyPlan(f.next(), &structs.PlanApplyRequest{Waiting: wait, Now: t0}); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if j.Reason != wait[0].Reason || j.ModifyIndex != f.index {
		t.Fatalf("reason %q at %d, want %q at %d", j.Reason, j.ModifyIndex, wait[0].Reason, f.index)
	}
	jobsIndex := f.s.Snapshot().TableIndex(TableJobs)

	// The same reason again writes nothing, so blocking queries stay asleep.
	if _, err := f.s.ApplyPlan(f.next(), &structs.PlanApplyRequest{Waiting: wait, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if got := f.job(id).ModifyIndex; got != j.ModifyIndex {
		t.Errorf("unchanged reason moved modify index %d -> %d", j.ModifyIndex, got)
	}
	if got := f.s.Snapshot().TableIndex(TableJobs); got != jobsIndex {
		t.Errorf("jobs table index moved %d -> %d", jobsIndex, got)
	}

	// New node filters with the same words are written.
	wait[0].NodeFilters = []structs.NodeFilterCount{{Filter: structs.FilterGPUs, Nodes: 1}}
	if _, err := f.s.ApplyPlan(f.next(), &structs.PlanApplyRequest{Waiting: wait, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if j := f.job(id); j.ModifyIndex != f.index || !cmp.Equal(j.NodeFilters, wait[0].NodeFilters) {
		t.Errorf("node filters %v at %d, want %v at %d", j.NodeFilters, j.ModifyIndex, wait[0].NodeFilters, f.index)
	}
	// Once placed, a job keeps no reason and no filters.
	small := f.register(newJob("b").GPUs(2).Build())[0]
	wait[0].JobID = small
	if _, err := f.s.ApplyPlan(f.next(), &structs.PlanApplyRequest{Waiting: wait, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if got := f.plan(f.alloc(small, "n1", 0, 1)); len(got) != 1 {
		t.Fatalf("placing job %s: applied %v", small, got)
	}
	if j := f.job(small); j.Status != structs.JobRunning || j.Reason != "" || j.NodeFilters != nil {
		t.Errorf("placed job: %s, reason %q, filters %v", j.Status, j.Reason, j.NodeFilters)
	}
}

// A whole plan is one transaction at one index: placements, waiting
// reasons with their node filters, preemptions and cancels.
func TestApplyPlanIsOneTransaction(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	victim, victimAlloc := f.start(newJob("low").GPUs(4).Build(), "n1", 0, 1, 2, 3)
	parent := f.register(newJob("parent").Build())[0]
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{parent}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	ids := f.register(newJob("high").GPUs(4).Build(), newJob("child").DependsOn(parent).Build(), newJob("cpu").Build())
	high, child, cpu := ids[0], ids[1], ids[2]
	filters := []structs.NodeFilterCount{{Filter: structs.FilterFreeGPUs, Nodes: 1}}
	req := &structs.PlanApplyRequest{
		Allocs:  []*structs.Allocation{f.alloc(cpu, "n1")},
		Waiting: []structs.WaitStatus{{JobID: high, Code: structs.WaitResources, Reason: "Resources: preempting 1 job on host-n1", NodeFilters: filters}},
		Preempt: []structs.Preemption{{AllocID: victimAlloc, JobID: victim, ForJobID: high}},
		Cancel:  []structs.WaitStatus{structs.WaitDependencyNeverSatisfied()},
		Now:     t0.Add(time.Minute),
	}
	req.Cancel[0].JobID = child
	index := f.next()
	applied, err := f.s.ApplyPlan(index, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || f.job(cpu).Status != structs.JobRunning || f.job(cpu).ModifyIndex != index {
		t.Errorf("placement: applied %v, job %+v", applied, f.job(cpu))
	}
	if j := f.job(high); j.Reason != req.Waiting[0].Reason || !cmp.Equal(j.NodeFilters, filters) || j.ModifyIndex != index {
		t.Errorf("waiting job: reason %q filters %v at %d", j.Reason, j.NodeFilters, j.ModifyIndex)
	}
	if a := f.allocByID(victimAlloc); a.DesiredStatus != structs.DesiredStop || a.DesiredReason != structs.ExitPreempted || a.ModifyIndex != index {
		t.Errorf("victim: desired %s (%s) at %d", a.DesiredStatus, a.DesiredReason, a.ModifyIndex)
	}
	if j := f.job(child); j.Status != structs.JobCancelled || j.Reason != "DependencyNeverSatisfied" ||
		j.ExitReason != structs.ExitCancelled || !j.EndTime.Equal(req.Now) || j.ModifyIndex != index {
		t.Errorf("cancelled job: %s %q %s ended %v at %d", j.Status, j.Reason, j.ExitReason, j.EndTime, j.ModifyIndex)
	}
	for _, table := range []string{TableJobs, TableAllocs} {
		if got := f.s.Snapshot().TableIndex(table); got != index {
			t.Errorf("table %s at index %d, want %d", table, got, index)
		}
	}
}

// Preemptions and cancels are re-checked against the newest state; what
// no longer holds is dropped and the rest of the plan still applies.
func TestApplyPlanRechecksPreemptAndCancel(t *testing.T) {
	tests := []struct {
		name string
		// build returns the request's preemptions and cancels and whether
		// the victim should be stopped and the job cancelled by it.
		build      func(f *fixture) (pre []structs.Preemption, cancel []structs.WaitStatus)
		wantStop   bool
		wantCancel bool
	}{
		{name: "both hold", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			return f.preemption("low", "high"), f.neverRunnable("child")
		}, wantStop: true, wantCancel: true},
		{name: "the victim already stops", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			pre := f.preemption("low", "high")
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{pre[0].JobID}, Now: t0}); err != nil {
				f.t.Fatal(err)
			}
			return pre, nil
		}},
		{name: "the victim has ended", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			pre := f.preemption("low", "high")
			if err := f.report(pre[0].AllocID, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0)}); err != nil {
				f.t.Fatal(err)
			}
			return pre, nil
		}},
		{name: "the job it was for no longer waits", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			pre := f.preemption("low", "high")
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{pre[0].ForJobID}, Now: t0}); err != nil {
				f.t.Fatal(err)
			}
			return pre, nil
		}},
		{name: "an allocation that does not exist", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			pre := f.preemption("low", "high")
			pre[0].AllocID = "999.1"
			return pre, nil
		}},
		{name: "an allocation of another job", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			pre := f.preemption("low", "high")
			pre[0].JobID = pre[0].ForJobID
			return pre, nil
		}},
		{name: "a job cancelled meanwhile keeps its own reason", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			c := f.neverRunnable("child")
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{c[0].JobID}, Now: t0}); err != nil {
				f.t.Fatal(err)
			}
			return nil, c
		}},
		{name: "a job that does not exist", build: func(f *fixture) ([]structs.Preemption, []structs.WaitStatus) {
			c := f.neverRunnable("child")
			c[0].JobID = "999"
			return nil, c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			pre, cancel := tt.build(f)
			index := f.next()
			if _, err := f.s.ApplyPlan(index, &structs.PlanApplyRequest{Preempt: pre, Cancel: cancel, Now: t0.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			for _, p := range pre {
				a, _ := f.s.Snapshot().AllocByID(nil, p.AllocID)
				stopped := a != nil && a.ModifyIndex == index && a.DesiredReason == structs.ExitPreempted
				if stopped != tt.wantStop {
					t.Errorf("victim %s stopped by the plan: %v, want %v (%+v)", p.AllocID, stopped, tt.wantStop, a)
				}
			}
			for _, c := range cancel {
				j, _ := f.s.Snapshot().JobByID(nil, c.JobID)
				cancelled := j != nil && j.ModifyIndex == index && j.Reason == c.Reason
				if cancelled != tt.wantCancel {
					t.Errorf("job %s cancelled by the plan: %v, want %v (%+v)", c.JobID, cancelled, tt.wantCancel, j)
				}
			}
		})
	}
}

// preemption starts a victim job and registers a job waiting for its
// node; it returns the preemption a plan would carry.
func (f *fixture) preemption(victim, forJob string) []structs.Preemption {
	f.t.Helper()
	id, allocID := f.start(newJob(victim).GPUs(4).Build(), "n1", 0, 1, 2, 3)
	high := f.register(newJob(forJob).GPUs(4).Build())[0]
	return []structs.Preemption{{AllocID: allocID, JobID: id, ForJobID: high}}
}

// neverRunnable registers a job whose dependency has failed; it returns
// the cancel a plan would carry.
func (f *fixture) neverRunnable(name string) []structs.WaitStatus {
	f.t.Helper()
	parent := f.register(newJob("parent").Build())[0]
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{parent}, Now: t0}); err != nil {
		f.t.Fatal(err)
	}
	ws := structs.WaitDependencyNeverSatisfied()
	ws.JobID = f.register(newJob(name).DependsOn(parent).Build())[0]
	return []structs.WaitStatus{ws}
}
