package structs

// Plan is the scheduler's answer for one pass: which pending jobs start
// where, what is preempted or cancelled, and why each other pending job
// waits. The leader applies it whole as one raft entry
// (PlanApplyRequest), and the state store re-checks every part against
// the newest state, so a GPU is never given twice. A plan is read-only:
// its waits may share NodeFilters slices.
type Plan struct {
	Placements []Placement  `json:"placements,omitempty"`
	Waiting    []WaitStatus `json:"waiting,omitempty"`
	// Preempt stops running allocations to make room for higher jobs.
	Preempt []Preemption `json:"preempt,omitempty"`
	// Cancel ends pending jobs that can never run (a dependency that can
	// no longer be satisfied); Reason says why.
	Cancel []WaitStatus `json:"cancel,omitempty"`
}

// Preemption stops one allocation so that another job can start.
type Preemption struct {
	AllocID  string `json:"alloc_id"`
	JobID    string `json:"job_id"`
	ForJobID string `json:"for_job_id"`
}

// Placement starts one job on one node with specific GPUs. A gang job has
// one Placement per node, all with the same JobID and Rank 0..N-1.
type Placement struct {
	JobID  string `json:"job_id"`
	NodeID string `json:"node_id"`
	GPUs   []int  `json:"gpus"`
	Rank   int    `json:"rank,omitempty"`
	// NodeName is filled for people (job plan); the scheduler leaves it.
	NodeName string `json:"node_name,omitempty"`
}
