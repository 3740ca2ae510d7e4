package scheduler

import "github.com/nai-project/nai/structs"

// State is the read-only view of the cluster the scheduler plans from. The
// state store's snapshots implement it; so do the simulator and the tests'
// harness. Implementations must return the same data in the same order for
// the same state, so that planning is deterministic.
type State interface {
	// Nodes returns every node, whatever its status, ordered by ID.
	Nodes() []*structs.Node
	// PendingJobs returns the jobs that wait for placements, ordered by ID:
	// those whose status is pending, and the running services (the
	// scheduler sees from LiveAllocs which replicas they lack).
	PendingJobs() []*structs.Job
	// LiveAllocs returns the allocations that hold resources: those whose
	// client status is not terminal (a stop that is asked for but not yet
	// done still holds its GPUs), ordered by ID.
	LiveAllocs() []*structs.Allocation
	// Job returns any job by ID (for dependencies and running jobs' time
	// limits), or nil.
	Job(id string) *structs.Job
	// ArrayJobs returns the members of the job array whose id (its first
	// member's) is arrayID, whatever their status, ordered by ID; nil for
	// an id that names no array. A dependency on an array waits for them
	// all.
	ArrayJobs(arrayID string) []*structs.Job
}
