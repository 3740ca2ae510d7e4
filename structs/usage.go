package structs

import (
	"errors"
	"fmt"
	"maps"
	"time"
)

// Accounting: what each user and group used, per day, like Slurm's sacct
// and sreport. Rows are written when an allocation ends (its GPU and CPU
// time, split over the days it ran) and when a job ends (counted by its
// final state on the day it ended), so finished jobs can leave the live
// tables (job GC) while their usage stays.

// UsageDayFormat is how a usage row names its day (UTC).
const UsageDayFormat = "2006-01-02"

// UsageRow is one user's use under one group on one day.
type UsageRow struct {
	Day   string `json:"day"`
	User  string `json:"user"`
	Group string `json:"group,omitempty"`
	// GPUSeconds and CPUSeconds are allocated: GPUs (cores) held times
	// the seconds they were held. CPUUsedSeconds is what the cgroups
	// measured.
	GPUSeconds     float64 `json:"gpu_seconds"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUUsedSeconds float64 `json:"cpu_used_seconds,omitempty"`
	// Jobs counts the jobs that ended that day, by final status.
	Jobs map[JobStatus]int `json:"jobs,omitempty"`
	// ArchivedGPUSeconds is the part of GPUSeconds whose allocations job
	// GC has removed: fair share reads it here instead.
	ArchivedGPUSeconds float64 `json:"archived_gpu_seconds,omitempty"`
	ModifyIndex        uint64  `json:"modify_index"`
}

// Copy returns a deep copy.
func (r *UsageRow) Copy() *UsageRow {
	c := *r
	c.Jobs = maps.Clone(r.Jobs)
	return &c
}

// UsageBy says how a usage report groups rows.
type UsageBy string

const (
	UsageByDay   UsageBy = "day"
	UsageByUser  UsageBy = "user"
	UsageByGroup UsageBy = "group"
)

// Validate checks the grouping.
func (b UsageBy) Validate() error {
	switch b {
	case UsageByDay, UsageByUser, UsageByGroup:
		return nil
	}
	return fmt.Errorf("usage by %q is unknown: expected day, user or group", b)
}

// UsageLine is one line of a usage report: the rows of one key summed.
type UsageLine struct {
	Key      string            `json:"key"` // a day, a user or a group
	GPUHours float64           `json:"gpu_hours"`
	CPUHours float64           `json:"cpu_hours"`
	CPUUsed  float64           `json:"cpu_used_hours,omitempty"`
	Jobs     map[JobStatus]int `json:"jobs"`
}

// UsageReport answers GET /v1/usage.
type UsageReport struct {
	Since time.Time   `json:"since"`
	Until time.Time   `json:"until"`
	By    UsageBy     `json:"by"`
	User  string      `json:"user,omitempty"`
	Group string      `json:"group,omitempty"`
	Lines []UsageLine `json:"lines"`
	Total UsageLine   `json:"total"`
}

// JobGCRequest removes finished jobs that ended before Before, with their
// allocations, at most Max of them (raft message). Their usage is already
// in the usage rows. A finished job another live job depends on stays.
type JobGCRequest struct {
	Before time.Time `json:"before"`
	Max    int       `json:"max"`
	Now    time.Time `json:"now"`
	// KeepArrayMembers keeps every member of an array a live job depends
	// on (format 5); without it only the job named is kept, as servers
	// before it do.
	KeepArrayMembers bool `json:"keep_array_members,omitempty"`
}

// Validate checks a GC request.
func (r *JobGCRequest) Validate() error {
	if r.Before.IsZero() {
		return errors.New("job gc needs a time before which finished jobs go")
	}
	if r.Max <= 0 {
		return errors.New("job gc needs a positive maximum")
	}
	return nil
}

// JobGCResponse says what a job GC removed.
type JobGCResponse struct {
	Jobs   int `json:"jobs"`
	Allocs int `json:"allocs"`
}
