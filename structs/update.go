package structs

import (
	"fmt"
	"strings"
	"time"
)

// JobUpdate is what `nai job update` changes in pending jobs (Slurm's
// scontrol update): each field that is set replaces the job's own; the
// others are left as they are.
type JobUpdate struct {
	Name      *string   `json:"name,omitempty"`
	Queue     *string   `json:"queue,omitempty"`
	Priority  *int      `json:"priority,omitempty"`
	TimeLimit *Duration `json:"time_limit,omitempty"`
	// GPUs is the job's GPUs in all, split evenly over its nodes (its
	// new number of nodes when Nodes is set too), as `nai job run -gpus`
	// counts them: a multiple of the number of nodes.
	GPUs *int `json:"gpus,omitempty"`
	// CPU and MemoryBytes are per node, as in the job.
	CPU         *float64 `json:"cpu,omitempty"`
	MemoryBytes *int64   `json:"memory_bytes,omitempty"`
	Nodes       *int     `json:"nodes,omitempty"`
}

// CheckGPUs says whether GPUs splits evenly over the nodes of j as
// updated.
func (u *JobUpdate) CheckGPUs(j *Job) error {
	if u.GPUs == nil {
		return nil
	}
	nodes := j.Resources.Nodes
	if u.Nodes != nil {
		nodes = *u.Nodes
	}
	nodes = max(nodes, 1)
	if *u.GPUs < 0 || *u.GPUs%nodes != 0 {
		return fmt.Errorf("gpus %d: the job runs on %d nodes and every node gets the same GPUs: expected a multiple of %d", *u.GPUs, nodes, nodes)
	}
	return nil
}

// Empty says that the update changes nothing.
func (u *JobUpdate) Empty() bool {
	return u == nil || *u == JobUpdate{}
}

// Apply writes the update into j, which must be the caller's own copy.
func (u *JobUpdate) Apply(j *Job) {
	if u.Name != nil {
		j.Name = *u.Name
	}
	if u.Queue != nil {
		j.Queue = *u.Queue
	}
	if u.Priority != nil {
		j.Priority = *u.Priority
	}
	if u.TimeLimit != nil {
		j.TimeLimit = *u.TimeLimit
	}
	if u.Nodes != nil {
		j.Resources.Nodes = *u.Nodes
	}
	if u.GPUs != nil {
		j.Resources.GPU.Count = *u.GPUs / max(j.Resources.Nodes, 1)
	}
	if u.CPU != nil {
		j.Resources.CPU = *u.CPU
	}
	if u.MemoryBytes != nil {
		j.Resources.MemoryBytes = *u.MemoryBytes
	}
}

// Fields names what the update changes, for messages: "time limit 30m,
// GPUs 2".
func (u *JobUpdate) Fields() string {
	var out []string
	if u.Name != nil {
		out = append(out, fmt.Sprintf("name %q", *u.Name))
	}
	if u.Queue != nil {
		out = append(out, "queue "+*u.Queue)
	}
	if u.Priority != nil {
		out = append(out, fmt.Sprintf("priority %d", *u.Priority))
	}
	if u.TimeLimit != nil {
		out = append(out, "time limit "+shortDuration(time.Duration(*u.TimeLimit)))
	}
	if u.GPUs != nil {
		out = append(out, fmt.Sprintf("GPUs %d", *u.GPUs))
	}
	if u.CPU != nil {
		out = append(out, fmt.Sprintf("CPU %g", *u.CPU))
	}
	if u.MemoryBytes != nil {
		out = append(out, "memory "+FormatSize(*u.MemoryBytes))
	}
	if u.Nodes != nil {
		out = append(out, fmt.Sprintf("nodes %d", *u.Nodes))
	}
	return strings.Join(out, ", ")
}

// shortDuration is d as time.Duration writes it, without the zero minutes
// and seconds at its end: 1h, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// JobUpdateTargets is the body of POST /v1/jobs/update: the jobs (an
// array id names every pending member; Only, member 0 alone) and the
// update for all of them.
type JobUpdateTargets struct {
	Targets []CancelTarget `json:"targets"`
	Update  JobUpdate      `json:"update"`
}

// JobUpdateRequest is the raft entry of an update, all or none: each job
// must still be pending, else the whole request is refused and nothing
// changes. The leader checked each job as updated; the checks of these
// fields stand alone (none depends on another field), so two updates that
// land one after the other still leave a job that passes them.
type JobUpdateRequest struct {
	JobIDs []string  `json:"job_ids"`
	Update JobUpdate `json:"update"`
}

// JobUpdateResponse answers an update: the jobs it changed.
type JobUpdateResponse struct {
	JobIDs []string `json:"job_ids"`
	// Refs are JobIDs as people name them, in the same order: an array's
	// member as A_N.
	Refs  []string `json:"refs,omitempty"`
	Index uint64   `json:"index"`
	// Warnings say what the user should know, as a submission's do: a
	// job that, as updated, no node could ever run.
	Warnings []string `json:"warnings,omitempty"`
}

// MaxUpdateTargets bounds one update.
const MaxUpdateTargets = MaxCancelTargets
