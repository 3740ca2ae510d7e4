package server

import (
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// passView is the scheduler's view of one snapshot for one pass (or one
// queue listing): each of the snapshot's lists read once, and jobs found by
// id in a map of the pending ones before the state's index is asked. A pass
// looks up every job it keeps waiting, so with thousands pending the map
// saves most of the pass (the state's id index encodes and walks a radix
// tree per lookup).
type passView struct {
	sv      *state.SchedulerView
	pending []*structs.Job
	byID    map[string]*structs.Job
	read    bool
}

func newPassView(snap *state.Snapshot) *passView {
	return &passView{sv: snap.SchedulerState()}
}

func (v *passView) load() {
	if v.read {
		return
	}
	v.read = true
	v.pending = v.sv.PendingJobs()
	v.byID = make(map[string]*structs.Job, len(v.pending))
	for _, j := range v.pending {
		v.byID[j.ID] = j
	}
}

// Nodes returns every node, ordered by id.
func (v *passView) Nodes() []*structs.Node { return v.sv.Nodes() }

// PendingJobs returns the pending jobs in id order, read once.
func (v *passView) PendingJobs() []*structs.Job {
	v.load()
	return v.pending
}

// LiveAllocs returns the allocations that hold resources.
func (v *passView) LiveAllocs() []*structs.Allocation { return v.sv.LiveAllocs() }

// ArrayJobs returns the members of a job array in id order, or nil.
func (v *passView) ArrayJobs(arrayID string) []*structs.Job { return v.sv.ArrayJobs(arrayID) }

// Job returns any job by id, or nil.
func (v *passView) Job(id string) *structs.Job {
	v.load()
	if j, ok := v.byID[id]; ok {
		return j
	}
	return v.sv.Job(id)
}
