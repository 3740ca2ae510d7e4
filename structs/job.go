package structs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JobStatus is where a job is in its life.
type JobStatus string

const (
	JobPending   JobStatus = "pending"   // queued, waiting for the scheduler
	JobRunning   JobStatus = "running"   // placed; its allocation runs (or is starting) on a node
	JobComplete  JobStatus = "complete"  // ended with exit code 0
	JobFailed    JobStatus = "failed"    // ended with a non-zero exit, a signal, a limit or an error
	JobCancelled JobStatus = "cancelled" // stopped by a user before it ended
	JobLost      JobStatus = "lost"      // its node or agent vanished and it cannot be recovered
)

// Terminal reports whether the status is final.
func (s JobStatus) Terminal() bool {
	switch s {
	case JobComplete, JobFailed, JobCancelled, JobLost:
		return true
	}
	return false
}

// CheckSubmit is what a submission must pass beyond Validate: the checks
// added after jobs were first stored, which the state machine must not
// make (a raft log that holds a job from before them replays as it was
// applied): the resources' (Resources.CheckSubmit), output { keep }'s
// globs, and the sizes of the task's fields (checkSizes, job_limits.go).
func (j *Job) CheckSubmit() error {
	errs := []error{j.Resources.CheckSubmit(), j.checkSizes()}
	if o := j.Output; o != nil {
		for _, g := range o.Keep {
			errs = append(errs, ValidKeepGlob(g))
		}
	}
	return errors.Join(errs...)
}

// CheckSubmit refuses what a new job may not ask although the servers'
// state machine accepts it, because older raft logs hold such jobs and
// must replay as they did: a memory limit below MinMemory (0 is the
// default, filled in by Canonicalize). The servers call it on the API
// path, before the raft entry is written.
func (r *Resources) CheckSubmit() error {
	if r.MemoryBytes > 0 && r.MemoryBytes < MinMemory {
		return fmt.Errorf("resources.memory %s is below the %s a task needs: give a size with a unit such as 512MiB or 8GiB", FormatSize(r.MemoryBytes), FormatSize(MinMemory))
	}
	return nil
}

// Limits for user-supplied values. Anything beyond them is a typo rather than
// a request, and is refused with a message that says so.
const (
	MaxPriority     = 100
	DefaultPriority = 50
	MaxTimeLimit    = 366 * 24 * time.Hour
	MaxCPU          = 4096
	MaxMemory       = int64(64) << 40 // 64 TiB
	// MinMemory is the smallest memory limit a task can start in: below
	// it the kernel refuses even to move the task into its cgroup. A
	// smaller limit is nearly always a size written without its unit
	// ("10", meant as sbatch's 10 MiB).
	MinMemory         = int64(4) << 20 // 4 MiB
	MaxGPUsPerNode    = 1024
	MaxNodesPerJob    = 4096
	MaxNameLen        = 128
	MaxDescriptionLen = 8 << 10
	MaxLabels         = 64
	MaxLogPathLen     = 4096
	DefaultCPU        = 1.0
	DefaultMemory     = int64(1) << 30 // 1 GiB
)

// ValidName reports whether s can name a job, dataset or model: letters,
// digits, '.', '_' and '-', starting with a letter or digit (the regexp
// ^[A-Za-z0-9][A-Za-z0-9._-]*$, checked by hand: every member of a sweep
// is validated, three times on its way into the cluster).
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameLen || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

// validEnvKey reports whether k can name an environment variable:
// ^[A-Za-z_][A-Za-z0-9_]*$.
func validEnvKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !alnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// Job is one training run: what to run, what it needs, and where it is.
// The first block is the spec a user writes; the second is the state the
// cluster keeps about it.
type Job struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Type is batch ("" too) or service (service.go).
	Type        JobType           `json:"type,omitempty"`
	User        string            `json:"user"`
	Group       string            `json:"group,omitempty"`
	Queue       string            `json:"queue,omitempty"`
	Priority    int               `json:"priority"`
	TimeLimit   Duration          `json:"time_limit"`
	BeginTime   time.Time         `json:"begin_time,omitzero"`
	Preemptible bool              `json:"preemptible,omitempty"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Resources   Resources         `json:"resources"`
	Task        Task              `json:"task"`
	DependsOn   []Dependency      `json:"depends_on,omitempty"`
	// Singleton holds the job while another job of the same name and user
	// runs or waits ahead of it (Slurm's --dependency=singleton).
	Singleton bool          `json:"singleton,omitempty"`
	Retry     *RetryPolicy  `json:"retry,omitempty"`
	Code      string        `json:"code,omitempty"` // sha256 digest of the uploaded code folder
	Datasets  []ArtifactRef `json:"datasets,omitempty"`
	Models    []ArtifactRef `json:"models,omitempty"`
	Output    *OutputSpec   `json:"output,omitempty"`
	// Plugin is set on a job built from a cluster plugin's template
	// (`nai plugin run`); the servers pin it at submit time.
	Plugin *PluginRef `json:"plugin,omitempty"`
	// LogPaths, when set, are local files the CLI writes the job's logs to
	// when it downloads them (sbatch's --output and --error).
	LogPaths *LogPaths `json:"log_paths,omitempty"`
	// Service is the service block of a service job.
	Service *ServiceSpec `json:"service,omitempty"`
	// Hold keeps a pending job from starting until it is released (Slurm's
	// scontrol hold); a job submitted with hold set starts held by its
	// owner.
	Hold *JobHold `json:"hold,omitempty"`

	// Sweep (job array) membership: set on each member of an array.
	ArrayID    string `json:"array_id,omitempty"`
	ArrayIndex int    `json:"array_index,omitempty"`
	// ArraySize is the number of members of the sweep this job came from
	// (SLURM_ARRAY_TASK_COUNT); 0 for a job that is not a member.
	ArraySize   int               `json:"array_size,omitempty"`
	MaxParallel int               `json:"max_parallel,omitempty"`
	SweepValues map[string]string `json:"sweep_values,omitempty"`

	Status     JobStatus          `json:"status"`
	Reason     string             `json:"reason,omitempty"`
	ExitCode   *int               `json:"exit_code"`
	ExitReason ExitReason         `json:"exit_reason,omitempty"`
	NodeID     string             `json:"node_id,omitempty"`
	NodeName   string             `json:"node_name,omitempty"`
	AllocID    string             `json:"alloc_id,omitempty"`
	GPUs       []int              `json:"gpus"`
	Attempt    int                `json:"attempt"`
	SubmitTime time.Time          `json:"submit_time,omitzero"`
	StartTime  time.Time          `json:"start_time,omitzero"`
	EndTime    time.Time          `json:"end_time,omitzero"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	// NonFiniteMetrics is each metric whose last value is NaN, Infinity
	// or -Infinity (the run diverged): that value, and the line and step
	// of NAI_METRICS_FILE where it stopped being finite. Such a metric is
	// not in Metrics, whose earlier finite value would read as a healthy
	// run; a finite value later takes it back there. Kept from raft log
	// format 7 on (from clients that report it).
	NonFiniteMetrics map[string]NonFiniteMetric `json:"non_finite_metrics,omitempty"`
	// MetricsSkippedLines counts the lines of NAI_METRICS_FILE that were
	// not JSON objects; MetricsCounted says the job's client counted them
	// and reported NonFiniteMetrics (format 7), so the two are what the
	// history would say, without reading it (GET .../metrics?check=true).
	MetricsSkippedLines int  `json:"metrics_skipped_lines,omitempty"`
	MetricsCounted      bool `json:"metrics_counted,omitempty"`
	// EstimatedStart is the scheduler's guess for a pending job, from the
	// running jobs' time limits; zero when it has none.
	EstimatedStart time.Time `json:"estimated_start,omitzero"`
	// NodeFilters counts, for a pending job no node can take now, the
	// nodes each scheduler test ruled out (WaitStatus.NodeFilters).
	NodeFilters   []NodeFilterCount `json:"node_filters,omitempty"`
	OutputDigest  string            `json:"output_digest,omitempty"`
	OutputSize    int64             `json:"output_size,omitempty"`
	MetricsDigest string            `json:"metrics_digest,omitempty"` // blob of the full metrics history (JSON lines)
	StdoutDigest  string            `json:"stdout_digest,omitempty"`  // blob of the final stdout log
	StderrDigest  string            `json:"stderr_digest,omitempty"`  // blob of the final stderr log
	// OutputFiles counts the files of the outputs; OutputVersion is the
	// model or dataset version they are (a new one, or the latest when it
	// held the same content already).
	OutputFiles   int `json:"output_files,omitempty"`
	OutputVersion int `json:"output_version,omitempty"`

	// OutputServe is the serve command the client found in the outputs (a
	// serve.py), recorded in the model version they become.
	OutputServe []string `json:"output_serve,omitempty"`

	// Version counts a service's specs: 1 at submit, one more per rollout
	// (and per rollback). Each allocation records the version it runs.
	Version int `json:"version,omitempty"`
	// Rollout is a service's latest rollout.
	Rollout *Rollout `json:"rollout,omitempty"`

	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Resources is what a job needs on each node it runs on.
type Resources struct {
	CPU         float64 `json:"cpu"`          // cores, may be fractional
	MemoryBytes int64   `json:"memory_bytes"` // hard limit
	DiskBytes   int64   `json:"disk_bytes,omitempty"`
	Nodes       int     `json:"nodes,omitempty"` // > 1: a gang of nodes, each with these resources
	// Exclusive asks for whole nodes: no other job shares a node with this
	// one while it runs (Slurm's --exclusive).
	Exclusive bool `json:"exclusive,omitempty"`
	// Ports is how many of a node's service ports (client { service_ports })
	// each allocation holds: one for a service replica, none otherwise.
	Ports int        `json:"ports,omitempty"`
	GPU   GPURequest `json:"gpu"`
}

// GPURequest asks for whole GPUs.
type GPURequest struct {
	Count       int    `json:"count"`
	Model       string `json:"model,omitempty"`        // case-insensitive substring of the product name
	MemoryBytes int64  `json:"memory_bytes,omitempty"` // minimum per GPU
}

// Task is the process a job runs.
type Task struct {
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Script is run instead of command: by /bin/bash -e, or, when it
	// starts with "#!", as a file by the interpreter that line names. Args
	// are then the script's arguments ($1...), as `sbatch job.sh ARGS`
	// gives them (raft log format 8).
	Script  string            `json:"script,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Workdir string            `json:"workdir,omitempty"`
	User    string            `json:"user,omitempty"`
	// NProcPerNode is how many processes the task starts on each node
	// (torchrun's --nproc_per_node, Slurm's --ntasks-per-node). nai starts
	// the task once per node either way; this sizes NPROC_PER_NODE,
	// WORLD_SIZE and SLURM_NTASKS. 0: one per GPU (one without GPUs).
	NProcPerNode int `json:"nproc_per_node,omitempty"`
}

// MaxProcsPerNode bounds Task.NProcPerNode.
const MaxProcsPerNode = 1024

// LogPaths name local files for a job's stdout and stderr. They may hold
// Slurm's patterns (%j job id, %A array id, %a array index, %x job name,
// %u user, %N node name, %% a percent sign), which the CLI fills in when it
// writes them; relative paths are relative to the directory the CLI runs
// in, as Slurm's are to the submit directory.
type LogPaths struct {
	Stdout string `json:"stdout,omitempty"`
	// Stderr empty means "with stdout", as Slurm does without --error.
	Stderr string `json:"stderr,omitempty"`
}

// DependencyType has Slurm's meanings.
type DependencyType string

const (
	AfterOK    DependencyType = "afterok"
	AfterAny   DependencyType = "afterany"
	AfterNotOK DependencyType = "afternotok"
)

// Dependency holds a job until another one has ended in a given way. As
// in Slurm, a job array's id (its first member's) means every member:
// afterok waits until all completed, afterany until all ended, afternotok
// until all ended and one did not complete.
type Dependency struct {
	Type  DependencyType `json:"type"`
	JobID string         `json:"job_id"`
	// Member is set when the dependency named the first member of an
	// array alone ("12_0" or "12_1", resolved to its job id at submit),
	// whose job id is also the array's: JobID then means that member, not
	// the array. Another member's job id means that member anyway, so the
	// servers set Member only where it changes the meaning (and entries
	// stay what older servers, which drop the field, read alike).
	Member bool `json:"member,omitempty"`
}

// RetryPolicy says when a job that did not finish goes back to the queue.
type RetryPolicy struct {
	Attempts int      `json:"attempts"`
	On       []string `json:"on,omitempty"` // node-lost, preempted, failed
}

// ArtifactRef names a dataset or model version a job reads.
type ArtifactRef struct {
	Name    string `json:"name"`
	Version string `json:"version"` // a number or "latest" (resolved at submit time)
	Digest  string `json:"digest,omitempty"`
	Path    string `json:"path,omitempty"` // a dataset version that is a path on every client
}

// OutputSpec says what becomes of a job's outputs: the next version of a
// model, or of a dataset, when the job completes.
type OutputSpec struct {
	Model   string `json:"model,omitempty"`
	Dataset string `json:"dataset,omitempty"`
	// Keep, when set, keeps only the outputs its globs match (KeepMatch);
	// empty keeps everything.
	Keep []string `json:"keep,omitempty"`
	// Serve is the command that serves the model (`nai serve`), run in the
	// model's directory; recorded in the model version. Without it, a
	// serve.py among the outputs is run with python3.
	Serve []string `json:"serve,omitempty"`
}

// Canonicalize fills defaults the user left out. It is idempotent.
func (j *Job) Canonicalize() {
	if j.Priority == 0 {
		j.Priority = DefaultPriority
	}
	if j.Resources.CPU == 0 {
		j.Resources.CPU = DefaultCPU
	}
	if j.Resources.MemoryBytes == 0 {
		j.Resources.MemoryBytes = DefaultMemory
	}
	if j.Resources.Nodes == 0 {
		j.Resources.Nodes = 1
	}
	if j.Queue == "" {
		j.Queue = "default"
	}
	if j.IsService() {
		j.Resources.Ports = 1
		if j.Service != nil {
			j.Service.Canonicalize()
		}
	}
}

// Validate checks the spec part of a job and returns every problem found,
// joined. It does not look at state fields.
func (j *Job) Validate() error {
	var errs []error
	if j.Name == "" {
		errs = append(errs, errors.New("job name is required"))
	} else if !ValidName(j.Name) {
		errs = append(errs, fmt.Errorf("job name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters", j.Name, MaxNameLen))
	}
	if len(j.Description) > MaxDescriptionLen {
		errs = append(errs, fmt.Errorf("description is %d bytes long: the limit is %d", len(j.Description), MaxDescriptionLen))
	}
	if len(j.Labels) > MaxLabels {
		errs = append(errs, fmt.Errorf("%d labels: the limit is %d", len(j.Labels), MaxLabels))
	}
	if j.Priority < 0 || j.Priority > MaxPriority {
		errs = append(errs, fmt.Errorf("priority %d is out of range: expected 0 to %d", j.Priority, MaxPriority))
	}
	if j.TimeLimit < 0 {
		errs = append(errs, fmt.Errorf("time_limit %s is negative: expected a positive duration such as \"2h\"", j.TimeLimit))
	} else if j.TimeLimit.D() > MaxTimeLimit {
		errs = append(errs, fmt.Errorf("time_limit %s is longer than the maximum of %s", j.TimeLimit, MaxTimeLimit))
	}
	if err := j.Resources.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := j.Task.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, d := range j.DependsOn {
		switch d.Type {
		case AfterOK, AfterAny, AfterNotOK:
		default:
			errs = append(errs, fmt.Errorf("depends_on type %q is unknown: expected afterok, afterany or afternotok", d.Type))
		}
		if d.JobID == "" {
			errs = append(errs, errors.New("depends_on needs a job id"))
		}
	}
	if j.Retry != nil {
		if j.Retry.Attempts < 0 || j.Retry.Attempts > 100 {
			errs = append(errs, fmt.Errorf("retry attempts %d is out of range: expected 0 to 100", j.Retry.Attempts))
		}
		for _, on := range j.Retry.On {
			if !slices.Contains([]string{"node-lost", "preempted", "failed"}, on) {
				errs = append(errs, fmt.Errorf("retry on %q is unknown: expected node-lost, preempted or failed", on))
			}
		}
	}
	if l := j.LogPaths; l != nil {
		for _, p := range []string{l.Stdout, l.Stderr} {
			if strings.ContainsRune(p, 0) || len(p) > MaxLogPathLen {
				errs = append(errs, fmt.Errorf("log path %q is invalid: expected a file path of at most %d bytes", p, MaxLogPathLen))
			}
		}
		if l.Stdout == "" && l.Stderr != "" {
			errs = append(errs, errors.New("log_paths has stderr without stdout: name a stdout file too"))
		}
	}
	if j.MaxParallel < 0 {
		errs = append(errs, fmt.Errorf("max_parallel %d is negative", j.MaxParallel))
	}
	if o := j.Output; o != nil {
		if o.Model != "" && o.Dataset != "" {
			errs = append(errs, errors.New("output names both a model and a dataset: a job's outputs become one of them"))
		}
		if o.Dataset != "" && !ValidName(o.Dataset) {
			errs = append(errs, fmt.Errorf("output dataset name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit", o.Dataset))
		}
		if o.Serve != nil && o.Dataset != "" {
			errs = append(errs, errors.New("output serve belongs to a model: a dataset is not served"))
		}
		for _, a := range o.Serve {
			if a == "" || strings.ContainsRune(a, 0) {
				errs = append(errs, errors.New("output serve has an empty or invalid word: expected a command such as [\"python3\", \"serve.py\"]"))
				break
			}
		}
	}
	if j.Plugin != nil {
		if err := j.Plugin.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := j.validateService(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate checks that the request is possible in principle (not whether a
// node fits it now).
func (r *Resources) Validate() error {
	var errs []error
	if r.CPU < 0 || r.CPU > MaxCPU || r.CPU != r.CPU {
		errs = append(errs, fmt.Errorf("resources.cpu %v is out of range: expected more than 0 and at most %d cores", r.CPU, MaxCPU))
	}
	if r.MemoryBytes < 0 || r.MemoryBytes > MaxMemory {
		size := FormatSize(r.MemoryBytes)
		if r.MemoryBytes < 0 {
			size = fmt.Sprintf("%d bytes", r.MemoryBytes)
		}
		errs = append(errs, fmt.Errorf("resources.memory %s is out of range: expected up to %s", size, FormatSize(MaxMemory)))
	}
	if r.DiskBytes < 0 {
		errs = append(errs, fmt.Errorf("resources.disk %d bytes is negative", r.DiskBytes))
	}
	if r.Nodes < 0 || r.Nodes > MaxNodesPerJob {
		errs = append(errs, fmt.Errorf("resources.nodes %d is out of range: expected 1 to %d", r.Nodes, MaxNodesPerJob))
	}
	if r.GPU.Count < 0 || r.GPU.Count > MaxGPUsPerNode {
		errs = append(errs, fmt.Errorf("resources.gpu.count %d is out of range: expected 0 to %d", r.GPU.Count, MaxGPUsPerNode))
	}
	if r.GPU.MemoryBytes < 0 {
		errs = append(errs, fmt.Errorf("resources.gpu.memory %d bytes is negative", r.GPU.MemoryBytes))
	}
	if r.Ports < 0 || r.Ports > 1 {
		errs = append(errs, fmt.Errorf("resources.ports %d is out of range: a service replica holds one port, other jobs none", r.Ports))
	}
	return errors.Join(errs...)
}

// Validate checks that the task says what to run, one way.
func (t *Task) Validate() error {
	switch {
	case t.Command == "" && t.Script == "":
		return errors.New("task needs a command or a script")
	case t.Command != "" && t.Script != "":
		return errors.New("task has both command and script: use exactly one")
	case t.NProcPerNode < 0 || t.NProcPerNode > MaxProcsPerNode:
		return fmt.Errorf("task nproc_per_node %d is out of range: expected 0 to %d", t.NProcPerNode, MaxProcsPerNode)
	}
	for k := range t.Env {
		if !validEnvKey(k) {
			return fmt.Errorf("task env key %q is invalid: expected letters, digits and '_', not starting with a digit", k)
		}
	}
	return nil
}

// ArrayTaskIDKey is the sweep value that carries a Slurm array task id: a
// converted `#SBATCH --array` becomes a sweep over it.
const ArrayTaskIDKey = "SLURM_ARRAY_TASK_ID"

// ArrayTaskID is the job's SLURM_ARRAY_TASK_ID: the task id its sweep value
// ArrayTaskIDKey gives (a converted --array), else its index in its sweep;
// "0" for a job outside a sweep.
func (j *Job) ArrayTaskID() string {
	if v, ok := j.SweepValues[ArrayTaskIDKey]; ok {
		return v
	}
	return strconv.Itoa(j.ArrayIndex)
}

// ArrayTask is the number A_N names this member of array A by, in every
// command and listing: its Slurm task id where its ArrayTaskIDKey sweep
// value is one (a whole number written plainly, as a converted --array=1-8
// gives 1 to 8), else its index in its sweep (0 to n-1, a sweep block's
// numbering).
func (j *Job) ArrayTask() int {
	if v, ok := j.SweepValues[ArrayTaskIDKey]; ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && strconv.Itoa(n) == v {
			return n
		}
	}
	return j.ArrayIndex
}

// ArrayRef is the member's reference as people type it, "12_3" (ArrayTask),
// or its id for a job outside an array.
func (j *Job) ArrayRef() string {
	if j.ArrayID == "" {
		return j.ID
	}
	return j.ArrayID + "_" + strconv.Itoa(j.ArrayTask())
}

// GPUCount is the number of GPUs the job needs on each of its nodes.
func (j *Job) GPUCount() int { return j.Resources.GPU.Count }

// Copy returns a deep copy, so a stored job is never changed in place.
func (j *Job) Copy() *Job {
	if j == nil {
		return nil
	}
	c := *j
	c.Labels = maps.Clone(j.Labels)
	c.Task.Args = slices.Clone(j.Task.Args)
	c.Task.Env = maps.Clone(j.Task.Env)
	c.DependsOn = slices.Clone(j.DependsOn)
	if j.Retry != nil {
		r := *j.Retry
		r.On = slices.Clone(j.Retry.On)
		c.Retry = &r
	}
	c.Datasets = slices.Clone(j.Datasets)
	c.Models = slices.Clone(j.Models)
	if j.Output != nil {
		o := *j.Output
		o.Keep = slices.Clone(j.Output.Keep)
		o.Serve = slices.Clone(j.Output.Serve)
		c.Output = &o
	}
	if j.LogPaths != nil {
		l := *j.LogPaths
		c.LogPaths = &l
	}
	c.Plugin = j.Plugin.Copy()
	if j.Hold != nil {
		h := *j.Hold
		c.Hold = &h
	}
	c.SweepValues = maps.Clone(j.SweepValues)
	if j.ExitCode != nil {
		e := *j.ExitCode
		c.ExitCode = &e
	}
	c.GPUs = slices.Clone(j.GPUs)
	c.NodeFilters = slices.Clone(j.NodeFilters)
	c.Metrics = maps.Clone(j.Metrics)
	c.NonFiniteMetrics = CloneNonFinite(j.NonFiniteMetrics)
	c.OutputServe = slices.Clone(j.OutputServe)
	if j.Service != nil {
		s := *j.Service
		c.Service = &s
	}
	c.Rollout = j.Rollout.Copy()
	return &c
}
