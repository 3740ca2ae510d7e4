package structs

import (
	"maps"
	"slices"
	"time"
)

// AllocStatus is what the client says about an allocation.
type AllocStatus string

const (
	AllocPending  AllocStatus = "pending"  // placed, not yet started by the client
	AllocRunning  AllocStatus = "running"  // its process runs
	AllocComplete AllocStatus = "complete" // exited 0
	AllocFailed   AllocStatus = "failed"   // ended any other way
	AllocLost     AllocStatus = "lost"     // its node or agent vanished
)

// Terminal reports whether the allocation has ended.
func (s AllocStatus) Terminal() bool {
	return s == AllocComplete || s == AllocFailed || s == AllocLost
}

// DesiredStatus is what the servers want the client to do.
type DesiredStatus string

const (
	DesiredRun  DesiredStatus = "run"
	DesiredStop DesiredStatus = "stop"
)

// ExitReason says exactly why a process ended.
type ExitReason string

const (
	ExitExited    ExitReason = "exited"
	ExitOOMKilled ExitReason = "oom-killed"
	ExitTimeLimit ExitReason = "time-limit"
	ExitCancelled ExitReason = "cancelled"
	ExitPreempted ExitReason = "preempted"
	ExitNodeLost  ExitReason = "node-lost"
	ExitGPUFailed ExitReason = "gpu-failed"
	ExitStartFail ExitReason = "start-failed" // the command could not be started
	// ExitDiskFull: the node's disk was full when the task ended, and its
	// exit status or its outputs could not be kept there. Written by
	// clients; the servers treat it as any failure of the job (retry key
	// "failed"), not as a node lost.
	ExitDiskFull ExitReason = "disk-full"
	// ExitReplaced: a service replica stopped because a rollout replaced
	// it, ExitScaledDown: because its service was scaled down.
	ExitReplaced   ExitReason = "replaced"
	ExitScaledDown ExitReason = "scaled-down"
	// A death by signal is "signal:SIGSEGV" and so on.
)

// Allocation is one attempt of a job on one node with specific GPUs.
type Allocation struct {
	ID            string        `json:"id"`
	JobID         string        `json:"job_id"`
	JobName       string        `json:"job_name"`
	NodeID        string        `json:"node_id"`
	NodeName      string        `json:"node_name"`
	GPUs          []int         `json:"gpus"`
	GPUUUIDs      []string      `json:"gpu_uuids,omitempty"`
	Resources     Resources     `json:"resources"`
	Attempt       int           `json:"attempt"`
	DesiredStatus DesiredStatus `json:"desired_status"`
	DesiredReason ExitReason    `json:"desired_reason,omitempty"` // why a stop was asked: cancelled, preempted, ...
	// Rank is this allocation's place in a multi-node (gang) job, 0..N-1.
	Rank int `json:"rank,omitempty"`
	// Replica is a service allocation's replica number, 0..replicas-1,
	// and JobVersion the service version it runs (Job.Version).
	Replica    int `json:"replica,omitempty"`
	JobVersion int `json:"job_version,omitempty"`

	ClientStatus ClientStatusFields `json:"client"`

	CreateTime  time.Time `json:"create_time,omitzero"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	// ServerIndex is the raft index of the last change the servers made
	// to the allocation that its node acts on (its placement, a stop
	// asked, marked lost); the node's own reports move ModifyIndex only.
	// A node's long-poll answers at the newest of its allocations'
	// (PollIndex), so a node is not sent back each report it makes.
	ServerIndex uint64 `json:"server_index,omitempty"`

	// Job is filled in answers to clients so they need not fetch it; it is
	// not stored with the allocation.
	Job *Job `json:"job,omitempty"`
	// Gang is filled in answers to clients for multi-node jobs: where rank
	// 0 runs, so every node can set MASTER_ADDR and friends.
	Gang *GangInfo `json:"gang,omitempty"`
}

// ClientStatusFields is everything the client reports about a run.
type ClientStatusFields struct {
	Status       AllocStatus        `json:"status"`
	ExitCode     *int               `json:"exit_code"`
	ExitReason   ExitReason         `json:"exit_reason,omitempty"`
	Message      string             `json:"message,omitempty"`
	StartTime    time.Time          `json:"start_time,omitzero"`
	EndTime      time.Time          `json:"end_time,omitzero"`
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	Usage        *ResourceUsage     `json:"usage,omitempty"`
	OutputDigest string             `json:"output_digest,omitempty"`
	OutputSize   int64              `json:"output_size,omitempty"`
	OutputFiles  int                `json:"output_files,omitempty"`
	// MetricsDigest is the blob of every line of NAI_METRICS_FILE.
	MetricsDigest string `json:"metrics_digest,omitempty"`
	// StdoutDigest and StderrDigest are the blobs of the final logs.
	StdoutDigest string     `json:"stdout_digest,omitempty"`
	StderrDigest string     `json:"stderr_digest,omitempty"`
	GPUUsage     []GPUUsage `json:"gpu_usage,omitempty"` // per GPU held, sampled by the client
	// Hook is a node hook that failed around this allocation (hooks.go):
	// the servers drain the node with its reason.
	Hook *HookReport `json:"hook,omitempty"`
	// Service is a service replica's address, health and restarts.
	Service *ReplicaHealth `json:"service,omitempty"`
	// OutputServe is the serve command found among the outputs (a
	// serve.py run with python3), for the model version they become.
	OutputServe []string `json:"output_serve,omitempty"`
	// NonFinite is each metric whose last value is NaN, Infinity or
	// -Infinity (a run that diverged), which Metrics, numbers only,
	// leaves out: that value, and where it stopped being finite. The
	// servers keep it with the job (Job.NonFiniteMetrics) from raft log
	// format 7 on.
	NonFinite map[string]NonFiniteMetric `json:"non_finite,omitempty"`
	// MetricsSkipped counts the lines of NAI_METRICS_FILE so far that were
	// not JSON objects. MetricsCounted says the client counts them and
	// reports NonFinite (a client of raft log format 7 that has read the
	// file): the job's notes are then complete without the history.
	MetricsSkipped int  `json:"metrics_skipped,omitempty"`
	MetricsCounted bool `json:"metrics_counted,omitempty"`
}

// GPUUsage is what one GPU of an allocation did: the latest sample, the
// mean utilisation and the peak memory since the client began watching it.
type GPUUsage struct {
	Index              int       `json:"index"`
	UUID               string    `json:"uuid,omitempty"`
	UtilizationPercent int       `json:"utilization_percent"`
	MemoryUsedBytes    int64     `json:"memory_used_bytes"`
	MeanUtilization    float64   `json:"mean_utilization_percent"`
	PeakMemoryBytes    int64     `json:"peak_memory_bytes"`
	Time               time.Time `json:"time,omitzero"`
}

// ResourceUsage is what the cgroup measured.
type ResourceUsage struct {
	CPUSeconds     float64 `json:"cpu_seconds"`
	MaxMemoryBytes int64   `json:"max_memory_bytes"`
	OOMKills       int     `json:"oom_kills,omitempty"`
}

// AllocUpdate is one client report about one allocation.
type AllocUpdate struct {
	AllocID string             `json:"alloc_id"`
	Client  ClientStatusFields `json:"client"`
}

// Terminal reports whether the allocation has ended on its node.
func (a *Allocation) Terminal() bool { return a.ClientStatus.Status.Terminal() }

// PollIndex is the index a node's long-poll counts for the allocation:
// ServerIndex, or ModifyIndex for one stored before ServerIndex was kept.
func (a *Allocation) PollIndex() uint64 {
	if a.ServerIndex == 0 {
		return a.ModifyIndex
	}
	return a.ServerIndex
}

// Copy returns a deep copy.
func (a *Allocation) Copy() *Allocation {
	if a == nil {
		return nil
	}
	c := *a
	c.GPUs = slices.Clone(a.GPUs)
	c.GPUUUIDs = slices.Clone(a.GPUUUIDs)
	c.ClientStatus = a.ClientStatus.Copy()
	c.Job = nil
	c.Gang = nil
	return &c
}

// Copy returns a deep copy.
func (c ClientStatusFields) Copy() ClientStatusFields {
	if c.ExitCode != nil {
		e := *c.ExitCode
		c.ExitCode = &e
	}
	c.Metrics = maps.Clone(c.Metrics)
	c.NonFinite = CloneNonFinite(c.NonFinite)
	if c.Usage != nil {
		u := *c.Usage
		c.Usage = &u
	}
	c.GPUUsage = slices.Clone(c.GPUUsage)
	c.Hook = c.Hook.Copy()
	c.Service = c.Service.Copy()
	c.OutputServe = slices.Clone(c.OutputServe)
	return c
}

// GangInfo tells each node of a multi-node job how to find the others
// (torchrun's rendezvous): the address of the node running rank 0 and a
// port chosen from the job id, so two jobs sharing a master node do not
// collide.
type GangInfo struct {
	Nodes      int    `json:"nodes"`
	MasterAddr string `json:"master_addr"`
	MasterPort int    `json:"master_port"`
	// NodeNames are the gang's nodes by rank (SLURM_JOB_NODELIST); empty
	// when the server did not say.
	NodeNames []string `json:"node_names,omitempty"`
}

// GangPortBase is the first of the ports handed out as MASTER_PORT.
const GangPortBase = 29500

// GangPort is the MASTER_PORT of a job: GangPortBase plus the job id's
// number modulo 10,000 (a stable hash for ids that are not numbers).
func GangPort(jobID string) int {
	n := 0
	for _, c := range jobID {
		if c >= '0' && c <= '9' {
			n = (n*10 + int(c-'0')) % 10000
		} else {
			n = (n*31 + int(c)) % 10000
		}
	}
	return GangPortBase + n
}
