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
		CreateTime: t0.Add(time.Minute), CreateIndex: f.index, ModifyIndex: f.index,
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
}
