package structs

import (
	"bytes"
	"encoding/json"
	"time"
)

// The requests below are the payloads of raft log entries and of the HTTP
// API. Every time a handler needs (submit time, end time) is chosen by the
// server before the entry goes to raft, so applying the log is deterministic.

// JobRegisterRequest submits new jobs (one, or the members of a sweep).
type JobRegisterRequest struct {
	Jobs []*Job `json:"jobs"`
	// Sweep, instead of Jobs, is a sweep as one spec (version 2 of the
	// raft entry): its members are expanded when it is applied.
	Sweep *SweepSpec `json:"sweep,omitempty"`
	Now   time.Time  `json:"now"`
	// Array makes the submission an array even when it is one job: a job
	// that carries sweep values (#SBATCH --array=5, a sweep of one value)
	// becomes the array of one that Slurm makes, member A_5 of array A,
	// its own id. Without it (raft log formats before 7) only two jobs or
	// more that carry sweep values are an array.
	Array bool `json:"array,omitempty"`
}

// Prepare does ahead what applying the request will need: a sweep's
// members (SweepSpec.Prepare).
func (r *JobRegisterRequest) Prepare() {
	if r.Sweep != nil {
		r.Sweep.Prepare()
	}
}

// AppendEntryJSON appends r as json.Marshal writes it, byte for byte (the
// raft entry's body). A sweep's members are written by SweepSpec's
// MarshalJSON in one pass; json.Marshal would then scan and copy those
// bytes once more to check them, 3-4 ms of a 1000-member sweep's
// submission on the leader.
func (r *JobRegisterRequest) AppendEntryJSON(b []byte) ([]byte, error) {
	if r.Sweep == nil || r.Array {
		enc, err := json.Marshal(r)
		return append(b, enc...), err
	}
	jobs, err := json.Marshal(r.Jobs)
	if err != nil {
		return nil, err
	}
	spec, err := r.Sweep.MarshalJSON()
	if err != nil {
		return nil, err
	}
	now, err := json.Marshal(r.Now)
	if err != nil {
		return nil, err
	}
	b = append(append(b, `{"jobs":`...), jobs...)
	b = append(append(b, `,"sweep":`...), spec...)
	b = append(append(b, `,"now":`...), now...)
	return append(b, '}'), nil
}

// DecodeJobRegisterEntry decodes the body AppendEntryJSON writes for a
// sweep, {"jobs":null,"sweep":SPEC,"now":"TIME"}, as json.Unmarshal
// would, but without its two scans of the whole entry before SweepSpec's
// decoder reads the spec (1.5 ms of a 1000-member sweep, in every
// server's state machine). ok is false for a body of any other shape, or
// one that does not decode: json.Unmarshal decides those. The result
// depends on b alone.
func DecodeJobRegisterEntry(b []byte) (r *JobRegisterRequest, ok bool) {
	const prefix, nowKey = `{"jobs":null,"sweep":`, `,"now":`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	// The last ,"now": is the entry's: a string in the spec cannot hold
	// an unescaped quote, and what follows it here is one plain string.
	i := bytes.LastIndex(b, []byte(nowKey))
	if i <= len(prefix) {
		return nil, false
	}
	ts := b[i+len(nowKey):]
	if len(ts) < 3 || ts[0] != '"' || ts[len(ts)-1] != '}' {
		return nil, false
	}
	ts = ts[:len(ts)-1]
	if bytes.IndexByte(ts[1:], '"') != len(ts)-2 || bytes.IndexByte(ts, '\\') >= 0 {
		return nil, false
	}
	spec := b[len(prefix):i]
	if spec[0] != '{' {
		return nil, false // null, which encoding/json leaves as a nil Sweep
	}
	r = &JobRegisterRequest{Sweep: new(SweepSpec)}
	if err := r.Now.UnmarshalJSON(ts); err != nil {
		return nil, false
	}
	if err := r.Sweep.UnmarshalJSON(spec); err != nil {
		return nil, false
	}
	return r, true
}

// JobRegisterResponse answers a submission.
type JobRegisterResponse struct {
	JobIDs []string `json:"job_ids"`
	// ArrayID is set when the submission was a sweep.
	ArrayID string `json:"array_id,omitempty"`
	Index   uint64 `json:"index"`
	// Warnings say what the user should know, such as a job that asks
	// for more GPUs than any node has.
	Warnings []string `json:"warnings,omitempty"`
}

// JobCancelRequest stops jobs: pending ones end at once, running ones get
// their allocation's desired status set to stop.
type JobCancelRequest struct {
	JobIDs []string   `json:"job_ids"`
	Reason ExitReason `json:"reason"`
	// Only cancels the jobs named, never the members of a sweep whose id
	// one of them is (member 0 of a sweep has the sweep's id).
	Only bool      `json:"only,omitempty"`
	Now  time.Time `json:"now"`
}

// NodeRegisterRequest adds or refreshes a node's fingerprint.
type NodeRegisterRequest struct {
	Node *Node `json:"node"`
	// SecretID is the node's secret, sent by its agent in the HTTP body;
	// the server replaces it with SecretHash before raft, so no secret is
	// in the log. The first registration of a node id records the hash,
	// and later ones must present the same secret.
	SecretID   string    `json:"secret_id,omitempty"`
	SecretHash string    `json:"secret_hash,omitempty"`
	Now        time.Time `json:"now"`
}

// NodeStatusRequest changes a node's liveness (ready, down). With ready,
// Unreachable marks a node serf declared failed (Node.UnreachableSince),
// and its absence clears the mark; a node going down loses it too.
type NodeStatusRequest struct {
	NodeID      string     `json:"node_id"`
	Status      NodeStatus `json:"status"`
	Unreachable bool       `json:"unreachable,omitempty"`
	Now         time.Time  `json:"now"`
}

// PlanApplyRequest commits a whole scheduler plan in one raft entry and one
// state transaction. The leader fills Allocs from the plan's placements
// (ids are jobID.attempt) before applying; the state store re-checks every
// part against the newest state and drops what no longer holds: an
// allocation that no longer fits, a preemption whose victim already stops
// or whose beneficiary no longer waits, a cancel of a job no longer
// pending.
type PlanApplyRequest struct {
	Allocs  []*Allocation `json:"allocs"`
	Waiting []WaitStatus  `json:"waiting,omitempty"`
	// Preempt asks running allocations to stop (reason preempted) so that
	// higher jobs can start.
	Preempt []Preemption `json:"preempt,omitempty"`
	// Cancel ends pending jobs that can never run; each Reason becomes the
	// job's reason.
	Cancel []WaitStatus `json:"cancel,omitempty"`
	Now    time.Time    `json:"now"`
}

// AllocUpdateRequest carries client reports.
type AllocUpdateRequest struct {
	NodeID  string         `json:"node_id"`
	Updates []*AllocUpdate `json:"updates"`
	Now     time.Time      `json:"now"`
	// RankZeroOutputs gives a gang job the outputs, final logs and
	// metrics history of its rank 0 alone (torchrun's and Slurm's
	// convention: rank 0 writes the checkpoints and the main log); the
	// other ranks' stay with their allocations. Without it (entries before
	// raft log format 8) every allocation that ends copies its own onto
	// the job, so the job keeps whichever rank reported last. The servers
	// set it; the leader drops it for clusters that still hold an older
	// server, which all then apply the old rule.
	RankZeroOutputs bool `json:"rank_zero_outputs,omitempty"`
}

// AllocUpdatesRequest is several nodes' reports in one raft entry: the
// servers fold the reports that arrive while the previous entry commits.
// Each request applies as if it were an entry of its own.
type AllocUpdatesRequest struct {
	Requests []*AllocUpdateRequest `json:"requests"`
}

// QueryMeta comes with every read: the state index it reflects, for
// blocking queries (?index=N&wait=30s).
type QueryMeta struct {
	Index uint64 `json:"index"`
}

// JobMetrics is a job's last value of each metric.
type JobMetrics struct {
	JobID   string             `json:"job_id"`
	Metrics map[string]float64 `json:"metrics"`
	// History is every line the job wrote to NAI_METRICS_FILE, in order
	// (GET /v1/jobs/{id}/metrics?all=true; while the job runs, what it
	// wrote so far), from line From on (?from=N).
	History []json.RawMessage `json:"history,omitempty"`
	From    int               `json:"from,omitempty"`
	// NonFinite holds the metrics whose last value is NaN, Infinity or
	// -Infinity (a run that diverged), which Metrics, numbers only, leaves
	// out. The job keeps them (Job.NonFiniteMetrics, from raft log format
	// 7 on), so every answer has them; with ?all=true, or ?check=true for
	// a job whose client did not count them (Job.MetricsCounted), they
	// are read from the history, which says them of older jobs too, whose
	// Metrics may still hold the earlier finite value. In History such a
	// value is the string "NaN", "Infinity" or "-Infinity".
	NonFinite map[string]NonFiniteMetric `json:"non_finite,omitempty"`
	// SkippedLines counts the lines of NAI_METRICS_FILE that are not JSON
	// objects, in neither History nor Metrics (with ?all or ?check; from
	// the job, Job.MetricsSkippedLines, when its client counted them).
	SkippedLines int `json:"skipped_lines,omitempty"`
}

// CloneNonFinite is a copy of m whose steps are copies too; nil for an
// empty m.
func CloneNonFinite(m map[string]NonFiniteMetric) map[string]NonFiniteMetric {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]NonFiniteMetric, len(m))
	for k, v := range m {
		if v.Step != nil {
			st := *v.Step
			v.Step = &st
		}
		out[k] = v
	}
	return out
}

// NonFiniteMetric is a metric whose last value is not a finite number:
// that value as Python writes it, and where it stopped being finite: the
// line of NAI_METRICS_FILE (from 1), that line's step when it has one,
// and the value it had there (First: NaN, where it is Infinity now).
type NonFiniteMetric struct {
	Value string   `json:"value"`
	Line  int      `json:"line"`
	Step  *float64 `json:"step,omitempty"`
	First string   `json:"first,omitempty"`
}
