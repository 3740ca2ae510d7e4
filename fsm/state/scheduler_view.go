package state

import "github.com/nai-project/nai/structs"

// SchedulerView adapts a Snapshot to the scheduler's read-only State
// interface (scheduler.State). It is a separate type because the snapshot's
// own Nodes method takes a watch set. Reads that fail (which only a broken
// schema can cause) yield empty answers.
type SchedulerView struct {
	sn *Snapshot
}

// SchedulerState returns the snapshot as the scheduler's State.
func (sn *Snapshot) SchedulerState() *SchedulerView { return &SchedulerView{sn: sn} }

// Nodes returns every node, ordered by id.
func (v *SchedulerView) Nodes() []*structs.Node {
	n, _ := v.sn.Nodes(nil)
	return n
}

// PendingJobs returns the pending jobs in numeric id order.
func (v *SchedulerView) PendingJobs() []*structs.Job {
	j, _ := v.sn.JobsByStatus(nil, structs.JobPending)
	return j
}

// LiveAllocs returns the allocations that hold resources, in id order.
func (v *SchedulerView) LiveAllocs() []*structs.Allocation {
	a, _ := v.sn.LiveAllocsList(nil)
	return a
}

// Job returns any job by id, or nil.
func (v *SchedulerView) Job(id string) *structs.Job {
	j, _ := v.sn.JobByID(nil, id)
	return j
}

// Index is the state index the view reflects.
func (v *SchedulerView) Index() uint64 { return v.sn.Index() }
