package structs

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JobType says how a job runs: a batch job runs to an end; a service runs
// until it is stopped, as replicas that answer HTTP requests.
type JobType string

const (
	JobBatch   JobType = "batch" // the default ("" means batch)
	JobService JobType = "service"
)

// IsService reports whether the job is a long-running service.
func (j *Job) IsService() bool { return j.Type == JobService }

// Limits and defaults of services.
const (
	MaxReplicas           = 1000
	DefaultHealthPath     = "/health"
	DefaultHealthInterval = 2 * time.Second
	DefaultHealthTimeout  = time.Second
	// DefaultHealthGrace is how long after each start a replica's failed
	// checks do not count toward unhealthy_after: a model takes a while to
	// load.
	DefaultHealthGrace    = 30 * time.Second
	DefaultUnhealthyAfter = 3
	MaxUnhealthyAfter     = 100
	// DefaultShutdownDelay is how long a replica that is asked to stop
	// keeps serving before it gets SIGTERM, so that every gateway has
	// stopped sending it requests first.
	DefaultShutdownDelay = time.Second
	MaxShutdownDelay     = 5 * time.Minute
	// DefaultRolloutTimeout is how long a rollout's new replicas have to
	// become healthy before the rollout is rolled back.
	DefaultRolloutTimeout = 5 * time.Minute
	MaxRolloutTimeout     = 24 * time.Hour
	// DefaultServicePorts is the range a client picks replicas' ports from
	// (client { service_ports }).
	DefaultServicePorts = "20000-29999"
	// DefaultServicePortName names a replica's one port.
	DefaultServicePortName = "http"
)

// ServiceSpec is the service block of a service job.
type ServiceSpec struct {
	// Replicas is how many copies run, each one allocation.
	Replicas int `json:"replicas"`
	// Port names the port each replica listens on; the client picks its
	// number from its service_ports range and passes it as NAI_PORT.
	Port   string      `json:"port,omitempty"`
	Health HealthCheck `json:"health"`
	// UnhealthyAfter is how many failed checks in a row restart a replica.
	UnhealthyAfter int `json:"unhealthy_after,omitempty"`
	// Public lets anyone call the service through the gateway; otherwise
	// a caller needs reader rights on the service's group.
	Public bool `json:"public,omitempty"`
	// ShutdownDelay is how long a stopped replica keeps serving after the
	// gateways stopped sending it requests, before it gets SIGTERM.
	ShutdownDelay Duration `json:"shutdown_delay,omitempty"`
	// ModelCommand: the command is the served model's serve command (set
	// by `nai serve` without a command), so a rollout to another version
	// runs that version's command.
	ModelCommand bool `json:"model_command,omitempty"`
}

// HealthCheck is how a client checks that a replica answers.
type HealthCheck struct {
	Path     string   `json:"path,omitempty"`
	Interval Duration `json:"interval,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
	// Grace: failed checks in this long after a (re)start do not count
	// toward unhealthy_after (they still show the replica unhealthy).
	Grace Duration `json:"grace,omitempty"`
}

// Canonicalize fills the defaults a service block left out.
func (s *ServiceSpec) Canonicalize() {
	if s.Port == "" {
		s.Port = DefaultServicePortName
	}
	if s.Health.Path == "" {
		s.Health.Path = DefaultHealthPath
	}
	if s.Health.Interval == 0 {
		s.Health.Interval = Duration(DefaultHealthInterval)
	}
	if s.Health.Timeout == 0 {
		s.Health.Timeout = Duration(min(DefaultHealthTimeout, s.Health.Interval.D()))
	}
	if s.Health.Grace == 0 {
		s.Health.Grace = Duration(DefaultHealthGrace)
	}
	if s.UnhealthyAfter == 0 {
		s.UnhealthyAfter = DefaultUnhealthyAfter
	}
	if s.ShutdownDelay == 0 {
		s.ShutdownDelay = Duration(DefaultShutdownDelay)
	}
}

var portNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`) })

// Validate checks a service block.
func (s *ServiceSpec) Validate() error {
	var errs []error
	if s.Replicas < 1 || s.Replicas > MaxReplicas {
		errs = append(errs, fmt.Errorf("service replicas %d is out of range: expected 1 to %d (stop a service with `nai service stop`)", s.Replicas, MaxReplicas))
	}
	if s.Port != "" && !portNameRE().MatchString(s.Port) {
		errs = append(errs, fmt.Errorf("service port %q is invalid: expected a name such as \"http\" (lower-case letters, digits, '-' and '_'); the client picks the number", s.Port))
	}
	if err := ValidHealthPath(s.Health.Path); s.Health.Path != "" && err != nil {
		errs = append(errs, err)
	}
	h := s.Health
	switch {
	case h.Interval < 0 || h.Interval.D() > time.Hour:
		errs = append(errs, fmt.Errorf("service health interval %s is out of range: expected more than 0 and at most 1h", h.Interval))
	case h.Timeout < 0 || (h.Interval > 0 && h.Timeout > h.Interval):
		errs = append(errs, fmt.Errorf("service health timeout %s is out of range: expected more than 0 and at most the interval (%s)", h.Timeout, h.Interval))
	}
	if h.Grace < 0 || h.Grace.D() > time.Hour {
		errs = append(errs, fmt.Errorf("service health grace %s is out of range: expected 0 to 1h", h.Grace))
	}
	if s.UnhealthyAfter < 0 || s.UnhealthyAfter > MaxUnhealthyAfter {
		errs = append(errs, fmt.Errorf("service unhealthy_after %d is out of range: expected 1 to %d failed checks in a row", s.UnhealthyAfter, MaxUnhealthyAfter))
	}
	if s.ShutdownDelay < 0 || s.ShutdownDelay.D() > MaxShutdownDelay {
		errs = append(errs, fmt.Errorf("service shutdown_delay %s is out of range: expected 0 to %s", s.ShutdownDelay, MaxShutdownDelay))
	}
	return errors.Join(errs...)
}

// ValidHealthPath checks a health check's path: absolute, no query
// tricks, no dot segments.
func ValidHealthPath(p string) error {
	if !strings.HasPrefix(p, "/") || len(p) > 1024 || strings.ContainsAny(p, " \t\r\n\x00?#") || HasDotSegment(p) {
		return fmt.Errorf("service health path %q is invalid: expected an absolute path such as \"/health\"", p)
	}
	return nil
}

// HasDotSegment reports whether a slash-separated path has a "." or ".."
// segment.
func HasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// validateService checks what a service job may and may not say beyond
// its service block.
func (j *Job) validateService() error {
	var errs []error
	switch j.Type {
	case "", JobBatch:
		if j.Service != nil {
			errs = append(errs, errors.New(`a service block needs type = "service": a batch job runs to its end and has no replicas`))
		}
		return errors.Join(errs...)
	case JobService:
	default:
		return fmt.Errorf("job type %q is unknown: expected \"batch\" or \"service\"", j.Type)
	}
	if j.Service == nil {
		return errors.New(`a job of type "service" needs a service block (replicas, health check)`)
	}
	if err := j.Service.Validate(); err != nil {
		errs = append(errs, err)
	}
	if j.Resources.Nodes > 1 {
		errs = append(errs, fmt.Errorf("a service replica runs on one node (resources.nodes is %d): ask for more replicas instead", j.Resources.Nodes))
	}
	if j.TimeLimit > 0 {
		errs = append(errs, errors.New("a service runs until it is stopped: time_limit is for batch jobs"))
	}
	if j.Retry != nil {
		errs = append(errs, errors.New("a service restarts its replicas itself: retry is for batch jobs"))
	}
	if j.Output != nil {
		errs = append(errs, errors.New("a service never completes, so it has no outputs: output is for batch jobs"))
	}
	if j.Singleton {
		errs = append(errs, errors.New("singleton is for batch jobs: two services cannot share a name anyway"))
	}
	if j.ArrayID != "" || len(j.SweepValues) > 0 {
		errs = append(errs, errors.New("a service cannot be a member of a sweep"))
	}
	return errors.Join(errs...)
}

// ServiceRevision is what changes between two versions of a service: what
// runs, with which model.
type ServiceRevision struct {
	Task   Task          `json:"task"`
	Models []ArtifactRef `json:"models,omitempty"`
	Code   string        `json:"code,omitempty"`
}

// RevisionOf returns the job's current revision.
func RevisionOf(j *Job) ServiceRevision {
	r := ServiceRevision{Task: j.Task, Models: slices.Clone(j.Models), Code: j.Code}
	r.Task.Args = slices.Clone(j.Task.Args)
	r.Task.Env = cloneEnv(j.Task.Env)
	return r
}

// Apply makes r the job's spec.
func (r ServiceRevision) Apply(j *Job) {
	j.Task = r.Task
	j.Task.Args = slices.Clone(r.Task.Args)
	j.Task.Env = cloneEnv(r.Task.Env)
	j.Models = slices.Clone(r.Models)
	j.Code = r.Code
}

func cloneEnv(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// ModelLabel is "NAME:VERSION" of the first model a revision reads, or "".
func (r ServiceRevision) ModelLabel() string {
	if len(r.Models) == 0 {
		return ""
	}
	return r.Models[0].String()
}

// RolloutStatus is where a rollout is.
type RolloutStatus string

const (
	RolloutRunning    RolloutStatus = "running"     // new replicas start; old ones serve
	RolloutComplete   RolloutStatus = "complete"    // the new replicas serve; the old ones were stopped
	RolloutRolledBack RolloutStatus = "rolled-back" // the new replicas never became healthy and were stopped
)

// Rollout is a change of a service from one version to the next: replicas
// of the new version start beside the old ones, and once as many are
// healthy as the service wants, the old ones stop.
type Rollout struct {
	FromVersion int           `json:"from_version"`
	ToVersion   int           `json:"to_version"`
	Status      RolloutStatus `json:"status"`
	// From is what the old replicas run, so their clients can restart them
	// as they were while the rollout lasts.
	From      ServiceRevision `json:"from"`
	FromModel string          `json:"from_model,omitempty"`
	ToModel   string          `json:"to_model,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	StartTime time.Time       `json:"start_time,omitzero"`
	Deadline  time.Time       `json:"deadline,omitzero"`
	EndTime   time.Time       `json:"end_time,omitzero"`
}

// Copy returns a deep copy.
func (r *Rollout) Copy() *Rollout {
	if r == nil {
		return nil
	}
	c := *r
	c.From.Task.Args = slices.Clone(r.From.Task.Args)
	c.From.Task.Env = cloneEnv(r.From.Task.Env)
	c.From.Models = slices.Clone(r.From.Models)
	return &c
}

// SpecFor is the job as an allocation of version v runs it: the job itself,
// or, for the old replicas during a rollout, the job with the old revision.
func (j *Job) SpecFor(version int) *Job {
	if j == nil || !j.IsService() || version == j.Version || j.Rollout == nil ||
		j.Rollout.Status != RolloutRunning || version != j.Rollout.FromVersion {
		return j
	}
	c := j.Copy()
	j.Rollout.From.Apply(c)
	c.Version = version
	return c
}

// ReplicaHealth is what a client reports about one running replica.
type ReplicaHealth struct {
	// Address is host:port where the replica listens (the node's address
	// and the port the client picked).
	Address string `json:"address,omitempty"`
	Port    int    `json:"port,omitempty"`
	Healthy bool   `json:"healthy"`
	// HealthError is the last failed check's error; empty once a check
	// passed.
	HealthError string `json:"health_error,omitempty"`
	// Since is when Healthy last changed.
	Since time.Time `json:"since,omitzero"`
	// Restarts counts the times the client started the process again.
	Restarts int `json:"restarts"`
	// LastExit says how the previous run ended ("exit code 1",
	// "killed by SIGKILL", "unhealthy: ...").
	LastExit string `json:"last_exit,omitempty"`
}

// Copy returns a copy.
func (h *ReplicaHealth) Copy() *ReplicaHealth {
	if h == nil {
		return nil
	}
	c := *h
	return &c
}

// Service is a service as `nai service status` shows it: the job and its
// replicas.
type Service struct {
	Name   string    `json:"name"`
	JobID  string    `json:"job_id"`
	User   string    `json:"user"`
	Group  string    `json:"group,omitempty"`
	Status JobStatus `json:"status"`
	Reason string    `json:"reason,omitempty"`
	Model  string    `json:"model,omitempty"`
	// Version is the service's spec version (1, then one more per rollout).
	Version int  `json:"version"`
	Desired int  `json:"desired"`
	Healthy int  `json:"healthy"`
	Public  bool `json:"public,omitempty"`
	// Path is where the gateway answers for it: /v1/services/NAME/.
	Path      string          `json:"path"`
	Rollout   *Rollout        `json:"rollout,omitempty"`
	Replicas  []ReplicaStatus `json:"replicas"`
	StartTime time.Time       `json:"start_time,omitzero"`
}

// ReplicaStatus is one replica of a service.
type ReplicaStatus struct {
	Replica     int         `json:"replica"`
	AllocID     string      `json:"alloc_id"`
	Node        string      `json:"node"`
	Address     string      `json:"address,omitempty"`
	Healthy     bool        `json:"healthy"`
	Restarts    int         `json:"restarts"`
	Status      AllocStatus `json:"status"`
	Version     int         `json:"version"`
	Stopping    bool        `json:"stopping,omitempty"`
	HealthError string      `json:"health_error,omitempty"`
	LastExit    string      `json:"last_exit,omitempty"`
	Message     string      `json:"message,omitempty"`
}

// ServiceView builds the service view of a service job from its
// allocations: the live ones, replica by replica (the current version
// first).
func ServiceView(j *Job, allocs []*Allocation) *Service {
	s := &Service{
		Name: j.Name, JobID: j.ID, User: j.User, Group: j.Group, Status: j.Status, Reason: j.Reason,
		Model: RevisionOf(j).ModelLabel(), Version: j.Version, Path: "/v1/services/" + j.Name + "/",
		Rollout: j.Rollout.Copy(), StartTime: j.StartTime, Replicas: []ReplicaStatus{},
	}
	if j.Service != nil {
		s.Desired, s.Public = j.Service.Replicas, j.Service.Public
	}
	for _, a := range allocs {
		if a.JobID != j.ID || a.Terminal() {
			continue
		}
		r := ReplicaStatus{
			Replica: a.Replica, AllocID: a.ID, Node: a.NodeName, Status: a.ClientStatus.Status,
			Version: a.JobVersion, Stopping: a.DesiredStatus == DesiredStop, Message: a.ClientStatus.Message,
		}
		if h := a.ClientStatus.Service; h != nil {
			r.Address, r.Healthy, r.Restarts = h.Address, h.Healthy && a.ClientStatus.Status == AllocRunning, h.Restarts
			r.HealthError, r.LastExit = h.HealthError, h.LastExit
		}
		if r.Healthy && !r.Stopping && a.JobVersion == j.Version {
			s.Healthy++
		}
		s.Replicas = append(s.Replicas, r)
	}
	slices.SortStableFunc(s.Replicas, func(a, b ReplicaStatus) int {
		if a.Version != b.Version {
			return b.Version - a.Version
		}
		if a.Replica != b.Replica {
			return a.Replica - b.Replica
		}
		return compareNumericIDs(a.AllocID, b.AllocID)
	})
	return s
}

// compareNumericIDs orders ids such as "12.3" by their numbers.
func compareNumericIDs(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}

// ServeRequest is the body of POST /v1/services (`nai serve`): deploy a
// model version as a service.
type ServeRequest struct {
	// Model is "NAME" or "NAME:VERSION" (latest when no version).
	Model string `json:"model"`
	// Name of the service; the model's name when empty.
	Name string `json:"name,omitempty"`
	// User owns the service on a cluster without ACLs (the CLI sends the
	// local account); with ACLs the token decides.
	User     string  `json:"user,omitempty"`
	Replicas int     `json:"replicas,omitempty"` // 0: 1
	GPUs     int     `json:"gpus,omitempty"`
	CPU      float64 `json:"cpu,omitempty"`
	Memory   int64   `json:"memory_bytes,omitempty"`
	Group    string  `json:"group,omitempty"`
	Queue    string  `json:"queue,omitempty"`
	Public   bool    `json:"public,omitempty"`
	// Command runs instead of the model's serve command, in the model's
	// directory.
	Command []string          `json:"command,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
}

// ServiceUpdateRequest is the body of POST /v1/services/{name}: scale
// (Replicas) or roll out another model version (Model, optionally with a
// new Command).
type ServiceUpdateRequest struct {
	Replicas *int     `json:"replicas,omitempty"`
	Model    string   `json:"model,omitempty"`
	Command  []string `json:"command,omitempty"`
	// Timeout is how long the new replicas have to become healthy before
	// the rollout is rolled back; 0: DefaultRolloutTimeout.
	Timeout Duration `json:"timeout,omitempty"`
}

// ServiceScaleRequest changes how many replicas a service runs (raft
// message ServiceScale).
type ServiceScaleRequest struct {
	JobID    string    `json:"job_id"`
	Replicas int       `json:"replicas"`
	Now      time.Time `json:"now,omitzero"`
}

// ServiceRolloutRequest starts a rollout of a service to a new revision
// (raft message ServiceRollout). Models are resolved to digests by the
// state store, as at submit time.
type ServiceRolloutRequest struct {
	JobID        string          `json:"job_id"`
	Revision     ServiceRevision `json:"revision"`
	ModelCommand bool            `json:"model_command,omitempty"`
	Deadline     time.Time       `json:"deadline"`
	Now          time.Time       `json:"now,omitzero"`
}

// ServiceRollbackRequest ends a running rollout whose new replicas did not
// become healthy in time (raft message ServiceRollback): the old revision
// becomes the service's spec again and the new replicas stop.
type ServiceRollbackRequest struct {
	JobID     string    `json:"job_id"`
	ToVersion int       `json:"to_version"` // the rollout's, so a stale request changes nothing
	Reason    string    `json:"reason"`
	Now       time.Time `json:"now,omitzero"`
}

// ServiceResponse answers service writes: the job and the raft index.
type ServiceResponse struct {
	JobID    string   `json:"job_id"`
	Name     string   `json:"name"`
	Version  int      `json:"version"`
	Index    uint64   `json:"index"`
	Warnings []string `json:"warnings,omitempty"`
}

// PortRange is a range of TCP ports, both ends included.
type PortRange struct {
	First int `json:"first"`
	Last  int `json:"last"`
}

// Count is how many ports the range holds (0 for an empty range).
func (r PortRange) Count() int {
	if r.First <= 0 || r.Last < r.First {
		return 0
	}
	return r.Last - r.First + 1
}

func (r PortRange) String() string {
	if r.Count() == 0 {
		return ""
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// ParsePortRange reads "20000-29999" (or one port, "20000").
func ParsePortRange(s string) (PortRange, error) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		b = a
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || first < 1 || last > 65535 || last < first {
		return PortRange{}, fmt.Errorf("port range %q is invalid: expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535, such as %q", s, DefaultServicePorts)
	}
	return PortRange{First: first, Last: last}, nil
}
