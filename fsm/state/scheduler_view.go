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

// PendingJobs returns the jobs that wait for placements, in numeric id
// order: the pending jobs, and the running services (the scheduler sees
// from their allocations whether they lack replicas).
func (v *SchedulerView) PendingJobs() []*structs.Job {
	j, _ := v.sn.JobsByStatus(nil, structs.JobPending)
	svcs, _ := v.sn.Services(nil)
	var running []*structs.Job
	for _, s := range svcs {
		if s.Status == structs.JobRunning {
			running = append(running, s)
		}
	}
	if len(running) == 0 {
		return j
	}
	out := make([]*structs.Job, 0, len(j)+len(running))
	for len(j) > 0 || len(running) > 0 {
		if len(running) == 0 || (len(j) > 0 && numericLess(j[0].ID, running[0].ID)) {
			out, j = append(out, j[0]), j[1:]
		} else {
			out, running = append(out, running[0]), running[1:]
		}
	}
	return out
}

// numericLess orders dotted decimal ids by their numbers.
func numericLess(a, b string) bool {
	ka, _ := encodeNumericID(a)
	kb, _ := encodeNumericID(b)
	return string(ka) < string(kb)
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

// ArrayJobs returns the members of a job array in id order, or nil.
func (v *SchedulerView) ArrayJobs(arrayID string) []*structs.Job {
	j, _ := v.sn.JobsByArray(nil, arrayID)
	return j
}

// Index is the state index the view reflects.
func (v *SchedulerView) Index() uint64 { return v.sn.Index() }
