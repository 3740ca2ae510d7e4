package structs

import (
	"errors"
	"fmt"
	"slices"
)

// DefaultQueueName is the queue of a job that names none. It always exists:
// when no queue of that name is stored, it is an unlimited queue over every
// node.
const DefaultQueueName = "default"

// Limits on queue and account settings; beyond them a value is a typo.
const (
	MaxQueuePriority = 1_000_000
	MaxShares        = 1e9
)

// Queue is one queue (a Slurm partition): a set of nodes with limits. The
// operator defines queues at run time (`nai operator queue apply`); they are
// kept in raft and the scheduler reads them on every pass.
type Queue struct {
	Name string `json:"name"`
	// Priority is the queue's input to the priority factor, normalised by
	// the highest Priority of all queues.
	Priority int `json:"priority"`
	// PriorityTier orders queues before any factor, and lets jobs of a
	// higher tier preempt preemptible jobs of a lower one.
	PriorityTier int `json:"priority_tier"`
	// Nodes are node names or IDs; empty means every node.
	Nodes []string `json:"nodes,omitempty"`
	// DefaultTimeLimit is given to a job that sets none, at registration.
	DefaultTimeLimit Duration `json:"default_time_limit,omitempty"`
	// MaxTimeLimit refuses jobs asking for more at registration.
	MaxTimeLimit  Duration `json:"max_time_limit,omitempty"`
	MaxGPUsPerJob int      `json:"max_gpus_per_job,omitempty"`
	// AllowedGroups restricts who may use the queue; empty means everyone.
	AllowedGroups []string `json:"allowed_groups,omitempty"`
	Description   string   `json:"description,omitempty"`

	CreateIndex uint64 `json:"create_index,omitempty"`
	ModifyIndex uint64 `json:"modify_index,omitempty"`
}

// Copy returns a deep copy.
func (q *Queue) Copy() *Queue {
	if q == nil {
		return nil
	}
	c := *q
	c.Nodes = slices.Clone(q.Nodes)
	c.AllowedGroups = slices.Clone(q.AllowedGroups)
	return &c
}

// Validate checks a queue definition and returns every problem, joined.
func (q *Queue) Validate() error {
	var errs []error
	if !ValidName(q.Name) {
		errs = append(errs, fmt.Errorf("queue name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit", q.Name))
	}
	if q.Priority < 0 || q.Priority > MaxQueuePriority {
		errs = append(errs, fmt.Errorf("priority %d is out of range: expected 0 to %d", q.Priority, MaxQueuePriority))
	}
	if q.PriorityTier < 0 || q.PriorityTier > MaxQueuePriority {
		errs = append(errs, fmt.Errorf("priority_tier %d is out of range: expected 0 to %d", q.PriorityTier, MaxQueuePriority))
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"default_time_limit", q.DefaultTimeLimit}, {"max_time_limit", q.MaxTimeLimit}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative: expected a duration such as \"24h\"", d.name, d.v))
		} else if d.v.D() > MaxTimeLimit {
			errs = append(errs, fmt.Errorf("%s %s is longer than the maximum of %s", d.name, d.v, Duration(MaxTimeLimit)))
		}
	}
	if q.MaxTimeLimit > 0 && q.DefaultTimeLimit > q.MaxTimeLimit {
		errs = append(errs, fmt.Errorf("default_time_limit %s is longer than max_time_limit %s", q.DefaultTimeLimit, q.MaxTimeLimit))
	}
	if q.MaxGPUsPerJob < 0 || q.MaxGPUsPerJob > MaxGPUsPerNode*MaxNodesPerJob {
		errs = append(errs, fmt.Errorf("max_gpus_per_job %d is out of range: expected 0 (no limit) or more", q.MaxGPUsPerJob))
	}
	for _, n := range q.Nodes {
		if n == "" {
			errs = append(errs, errors.New("nodes has an empty name"))
		}
	}
	for _, g := range q.AllowedGroups {
		if !ValidName(g) {
			errs = append(errs, fmt.Errorf("allowed_groups has an invalid group name %q", g))
		}
	}
	return errors.Join(errs...)
}

// Admit checks a job against the queue's limits at registration and fills
// the queue's default time limit. It returns why the job is refused, or nil.
func (q *Queue) Admit(j *Job) error {
	// As in Slurm, a job without a limit gets the queue's default, or its
	// maximum when it has no default.
	// A service runs until it is stopped: time limits are not for it.
	if j.TimeLimit == 0 && !j.IsService() {
		j.TimeLimit = q.DefaultTimeLimit
		if j.TimeLimit == 0 {
			j.TimeLimit = q.MaxTimeLimit
		}
	}
	var errs []error
	if q.MaxTimeLimit > 0 && j.TimeLimit > q.MaxTimeLimit {
		errs = append(errs, fmt.Errorf("time_limit %s exceeds queue %s's max_time_limit of %s", j.TimeLimit, q.Name, q.MaxTimeLimit))
	}
	if n := j.Resources.GPU.Count * max(j.Resources.Nodes, 1); q.MaxGPUsPerJob > 0 && n > q.MaxGPUsPerJob {
		errs = append(errs, fmt.Errorf("the job needs %d GPUs, queue %s allows at most %d per job", n, q.Name, q.MaxGPUsPerJob))
	}
	if len(q.AllowedGroups) > 0 && !slices.Contains(q.AllowedGroups, j.Group) {
		who := "a job with no group"
		if j.Group != "" {
			who = fmt.Sprintf("group %q", j.Group)
		}
		errs = append(errs, fmt.Errorf("%s may not use queue %s (allowed groups: %v)", who, q.Name, q.AllowedGroups))
	}
	return errors.Join(errs...)
}

// AccountKind says whether an account is a user or a group.
type AccountKind string

const (
	AccountUser  AccountKind = "user"
	AccountGroup AccountKind = "group"
)

// Validate checks the kind.
func (k AccountKind) Validate() error {
	if k != AccountUser && k != AccountGroup {
		return fmt.Errorf("account kind %q is invalid: expected %q or %q", k, AccountUser, AccountGroup)
	}
	return nil
}

// Share is the fair-share entitlement of one user or group. Anyone without
// one has the scheduler's default (1).
type Share struct {
	Kind   AccountKind `json:"kind"`
	Name   string      `json:"name"`
	Shares float64     `json:"shares"`

	CreateIndex uint64 `json:"create_index,omitempty"`
	ModifyIndex uint64 `json:"modify_index,omitempty"`
}

// Validate checks a share.
func (s *Share) Validate() error {
	var errs []error
	if err := s.Kind.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !ValidName(s.Name) {
		errs = append(errs, fmt.Errorf("account name %q is invalid", s.Name))
	}
	if s.Shares < 0 || s.Shares > MaxShares || s.Shares != s.Shares {
		errs = append(errs, fmt.Errorf("shares %v is out of range: expected 0 to %g", s.Shares, float64(MaxShares)))
	}
	return errors.Join(errs...)
}

// Quota limits one user or group. Zero fields mean no limit.
type Quota struct {
	MaxGPUs    int `json:"max_gpus,omitempty"`    // GPUs in use by running jobs
	MaxPending int `json:"max_pending,omitempty"` // pending jobs considered at once
	// MaxStorageBytes bounds the datasets and models a group (or user)
	// owns; a push beyond it is refused.
	MaxStorageBytes int64 `json:"max_storage_bytes,omitempty"`
}

// AccountQuota is the stored quota of one user or group.
type AccountQuota struct {
	Kind AccountKind `json:"kind"`
	Name string      `json:"name"`
	Quota

	CreateIndex uint64 `json:"create_index,omitempty"`
	ModifyIndex uint64 `json:"modify_index,omitempty"`
}

// Validate checks a quota.
func (q *AccountQuota) Validate() error {
	var errs []error
	if err := q.Kind.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !ValidName(q.Name) {
		errs = append(errs, fmt.Errorf("account name %q is invalid", q.Name))
	}
	if q.MaxGPUs < 0 {
		errs = append(errs, fmt.Errorf("max_gpus %d is negative: expected 0 (no limit) or more", q.MaxGPUs))
	}
	if q.MaxPending < 0 {
		errs = append(errs, fmt.Errorf("max_pending %d is negative: expected 0 (no limit) or more", q.MaxPending))
	}
	if q.MaxStorageBytes < 0 {
		errs = append(errs, fmt.Errorf("max_storage_bytes %d is negative: expected 0 (no limit) or more", q.MaxStorageBytes))
	}
	return errors.Join(errs...)
}

// PriorityWeights scale each priority factor (every factor is in 0..1), as
// Slurm's PriorityWeight* settings do. A job's priority is the weighted sum.
type PriorityWeights struct {
	Age       float64 `json:"age"`
	FairShare float64 `json:"fair_share"`
	JobSize   float64 `json:"job_size"`
	Queue     float64 `json:"queue"`
	Job       float64 `json:"job"` // the job's own priority, 0..MaxPriority
	// Runtime favours jobs expected to end soon (shortest job first):
	// 1 at or below the scheduler's short runtime, 0 at or above its long
	// one, logarithmic between.
	Runtime float64 `json:"runtime,omitempty"`
}

// PriorityFactors explain a pending job's place in the queue, as Slurm's
// sprio does. Each factor is in 0..1; Priority is their weighted sum. Tier
// (the queue's PriorityTier) orders jobs before Priority does.
type PriorityFactors struct {
	JobID     string  `json:"job_id"`
	Tier      int     `json:"tier"`
	Age       float64 `json:"age"`
	FairShare float64 `json:"fair_share"`
	JobSize   float64 `json:"job_size"`
	Queue     float64 `json:"queue"`
	Job       float64 `json:"job"`
	Runtime   float64 `json:"runtime,omitempty"`
	// ExpectedRuntime is the run time the Runtime factor assumed: the
	// job's time limit, else its queue's or the policy's default; zero
	// when none.
	ExpectedRuntime Duration        `json:"expected_runtime,omitempty"`
	Weights         PriorityWeights `json:"weights"`
	Priority        float64         `json:"priority"`
}

// ShareInfo is one line of `nai share` (Slurm's sshare): an account's
// shares, usage and resulting fair-share factor.
type ShareInfo struct {
	Kind AccountKind `json:"kind"`
	Name string      `json:"name"`
	// Shares is the raw entitlement; NormShares is it over all accounts'.
	Shares     float64 `json:"shares"`
	NormShares float64 `json:"norm_shares"`
	// Usage is decayed GPU-hours; EffectiveUsage is it over all accounts'.
	Usage          float64 `json:"usage_gpu_hours"`
	EffectiveUsage float64 `json:"effective_usage"`
	// FairShare is 2^(-EffectiveUsage/NormShares): 1 for no use, 0.5 at
	// exactly the entitled share.
	FairShare float64 `json:"fair_share"`
}

// QueueUpsertRequest creates or replaces a queue.
type QueueUpsertRequest struct {
	Queue *Queue `json:"queue"`
}

// QueueDeleteRequest removes a queue.
type QueueDeleteRequest struct {
	Name string `json:"name"`
}

// ShareUpsertRequest sets the shares of a user or group.
type ShareUpsertRequest struct {
	Share *Share `json:"share"`
}

// QuotaUpsertRequest sets the quota of a user or group.
type QuotaUpsertRequest struct {
	Quota *AccountQuota `json:"quota"`
}

// AccountDeleteRequest removes the share or quota of a user or group.
type AccountDeleteRequest struct {
	Kind AccountKind `json:"kind"`
	Name string      `json:"name"`
}
