package structs

import "time"

// JobPlanResponse answers a dry run (POST /v1/jobs/plan, `nai job plan`):
// what the scheduler would do with the submitted jobs if they were
// registered now. Nothing is written.
type JobPlanResponse struct {
	Jobs []JobPlanResult `json:"jobs"`
	// Pending counts the jobs the pass considered, the candidates included.
	Pending int `json:"pending"`
	// Index is the state index the plan was computed from, Now its time.
	Index uint64    `json:"index"`
	Now   time.Time `json:"now"`
}

// JobPlanResult is the scheduler's answer for one candidate job (one
// member of a sweep).
type JobPlanResult struct {
	// PlanID is the temporary id the candidate had in the pass ("plan-1");
	// Placements and Preempt name it as their job.
	PlanID      string            `json:"plan_id"`
	Name        string            `json:"name"`
	ArrayIndex  int               `json:"array_index,omitempty"`
	SweepValues map[string]string `json:"sweep_values,omitempty"`
	// Placements is where it would start now: one per node (a gang has
	// several). Empty when it would wait.
	Placements []Placement `json:"placements,omitempty"`
	// Wait is why it would not start now, with the estimated start when
	// the running jobs' time limits give one.
	Wait *WaitStatus `json:"wait,omitempty"`
	// Cancelled is set when the job would be cancelled at once (a
	// dependency that can never be met); Wait.Reason says why.
	Cancelled bool `json:"cancelled,omitempty"`
	// Preempt lists the running allocations that would be stopped for it.
	Preempt []Preemption `json:"preempt,omitempty"`
	// Position is its place (1-based) in the order the scheduler considers
	// pending jobs.
	Position int `json:"position"`
}

// StartsNow reports whether the job would be placed in this pass.
func (r *JobPlanResult) StartsNow() bool { return len(r.Placements) > 0 && r.Wait == nil }
