package structs

import "time"

// JobRow is what one line of the queue shows of a job (GET
// /v1/queue?view=row): the fields `nai queue` prints and filters on, with
// the job's own JSON names. A listing of thousands of jobs sends a third
// of the bytes of the whole jobs and decodes in a third of the time.
type JobRow struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	User       string     `json:"user"`
	Group      string     `json:"group,omitempty"`
	Queue      string     `json:"queue,omitempty"`
	Status     JobStatus  `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	ExitReason ExitReason `json:"exit_reason,omitempty"`
	Resources  Resources  `json:"resources"`
	NodeID     string     `json:"node_id,omitempty"`
	NodeName   string     `json:"node_name,omitempty"`
	ArrayID    string     `json:"array_id,omitempty"`
	ArrayIndex int        `json:"array_index,omitempty"`
	// ArrayTaskID is the member's Slurm task id (its ArrayTaskIDKey sweep
	// value), for a member of an array submitted with one (--array).
	ArrayTaskID    string    `json:"array_task_id,omitempty"`
	SubmitTime     time.Time `json:"submit_time,omitzero"`
	StartTime      time.Time `json:"start_time,omitzero"`
	EndTime        time.Time `json:"end_time,omitzero"`
	EstimatedStart time.Time `json:"estimated_start,omitzero"`
}

// Row is the job's queue row.
func (j *Job) Row() JobRow {
	return JobRow{ArrayTaskID: j.SweepValues[ArrayTaskIDKey], ID: j.ID, Name: j.Name, User: j.User, Group: j.Group, Queue: j.Queue, Status: j.Status,
		Reason: j.Reason, ExitCode: j.ExitCode, ExitReason: j.ExitReason, Resources: j.Resources,
		NodeID: j.NodeID, NodeName: j.NodeName, ArrayID: j.ArrayID, ArrayIndex: j.ArrayIndex,
		SubmitTime: j.SubmitTime, StartTime: j.StartTime, EndTime: j.EndTime, EstimatedStart: j.EstimatedStart}
}

// Job is a job with only the row's fields set, for code that formats jobs
// (its task id as its one sweep value, so ArrayTask is the job's).
func (r *JobRow) Job() *Job {
	var values map[string]string
	if r.ArrayTaskID != "" {
		values = map[string]string{ArrayTaskIDKey: r.ArrayTaskID}
	}
	return &Job{SweepValues: values, ID: r.ID, Name: r.Name, User: r.User, Group: r.Group, Queue: r.Queue, Status: r.Status,
		Reason: r.Reason, ExitCode: r.ExitCode, ExitReason: r.ExitReason, Resources: r.Resources,
		NodeID: r.NodeID, NodeName: r.NodeName, ArrayID: r.ArrayID, ArrayIndex: r.ArrayIndex,
		SubmitTime: r.SubmitTime, StartTime: r.StartTime, EndTime: r.EndTime, EstimatedStart: r.EstimatedStart}
}
