package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// registerBody is the body of PUT /v1/jobs: one job or several (a sweep
// written out), or a sweep as one spec. The spec decodes by its own
// UnmarshalJSON (fast for a thousand members), strict as decodeBody is:
// an unknown field in it is refused.
type registerBody struct {
	Job   *structs.Job             `json:"job"`
	Jobs  []*structs.Job           `json:"jobs"`
	Sweep *structs.StrictSweepSpec `json:"sweep"`
}

// MaxJobsPerSubmit bounds one submission (the sweep limit of the jobspec).
const MaxJobsPerSubmit = 10000

func (s *Server) jobRegister(r *request) (any, uint64, error) {
	jobs, spec, err := s.submittedJobs(r, false) // http_plan.go: shared with the dry run
	if err != nil {
		return nil, 0, err
	}
	req := &structs.JobRegisterRequest{Jobs: jobs, Now: time.Now().UTC()}
	if spec != nil {
		// The entry carries the spec, a few bytes a member; every server
		// expands it the same way.
		req = &structs.JobRegisterRequest{Sweep: spec, Now: req.Now}
	}
	// One job that carries sweep values (#SBATCH --array=5, a sweep of
	// one value) is the array of one that Slurm makes: member A_5 of
	// array A. A cluster that still has servers of log format 6 or older
	// registers it as a plain job (fsm.EncodeAt drops Array).
	req.Array = oneArrayMember(jobs, spec)
	resp, idx, err := s.apply(fsm.JobRegister, req)
	if err != nil {
		return nil, 0, err
	}
	out, ok := resp.(*structs.JobRegisterResponse)
	if !ok {
		return nil, 0, fmt.Errorf("raft answered a job registration with %T", resp)
	}
	out.Index = idx
	out.Warnings = append(out.Warnings, submitUnfitWarnings(r.snap, jobs, spec, out.JobIDs, out.ArrayID)...)
	out.Warnings = append(out.Warnings, latestBeforeDeps(r.snap, jobs, spec, out.JobIDs)...)
	if len(out.JobIDs) > 0 {
		r.audit = "job " + out.JobIDs[0]
		if out.ArrayID != "" {
			r.audit = "job array " + out.ArrayID
		}
	}
	return out, idx, nil
}

// oneArrayMember reports whether a submission is one job that carries
// sweep values: an array of one.
func oneArrayMember(jobs []*structs.Job, spec *structs.SweepSpec) bool {
	if spec != nil {
		return len(spec.Members) == 1 && len(spec.Members[0].Values) > 0
	}
	return len(jobs) == 1 && len(jobs[0].SweepValues) > 0
}

// latestBeforeDeps warns of a job that reads the newest version of a
// dataset or model ("latest", resolved at submit) while a job it waits for
// will register a newer version of that same name: the pipeline step reads
// the version that exists now, not the one its dependency makes, which is
// rarely what a Slurm pipeline meant.
func latestBeforeDeps(snap *state.Snapshot, jobs []*structs.Job, spec *structs.SweepSpec, ids []string) []string {
	if spec != nil && spec.Template != nil {
		jobs = []*structs.Job{spec.Template}
	}
	var out []string
	for i, j := range jobs {
		if len(j.DependsOn) == 0 || i >= len(ids) {
			continue
		}
		for _, d := range j.DependsOn {
			dep, err := snap.JobByID(nil, d.JobID)
			if err != nil || dep == nil || dep.Output == nil || dep.Status.Terminal() {
				continue
			}
			for _, ref := range []struct {
				kind, made string
				refs       []structs.ArtifactRef
			}{{"model", dep.Output.Model, j.Models}, {"dataset", dep.Output.Dataset, j.Datasets}} {
				for _, a := range ref.refs {
					if ref.made != "" && a.Name == ref.made && (a.Version == "" || a.Version == "latest") {
						out = append(out, fmt.Sprintf("job %s reads %s %s \"latest\", which means its newest version now, at submit; job %s, which it waits for, will register a newer version of %s that job %s will not read (submit it after job %s ends to read that one)",
							ids[i], ref.kind, a.Name, dep.ID, a.Name, ids[i], dep.ID))
					}
				}
			}
		}
	}
	return out
}

func (s *Server) jobList(r *request) (any, uint64, error) {
	all := r.URL.Query().Get("all") == "true"
	array := r.URL.Query().Get("array")
	if array != "" {
		// The members of one sweep, whatever their state.
		all = true
	}
	var out []*structs.Job
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		var jobs []*structs.Job
		var err error
		if array != "" {
			jobs, err = snap.JobsByArray(ws, array)
			if err == nil && len(jobs) == 0 {
				err = structs.NewError(structs.CodeNotFound, "job array %s not found", array)
			}
		} else {
			jobs, err = snap.Jobs(ws)
		}
		if err != nil {
			return 0, err
		}
		out = out[:0]
		for _, j := range jobs {
			if (all || !j.Status.Terminal()) && r.acl.CanSeeJob(j.User, j.Group) {
				out = append(out, j)
			}
		}
		return snap.Index(), nil
	})
	if err != nil {
		return nil, 0, err
	}
	if out == nil {
		out = []*structs.Job{}
	}
	return out, idx, nil
}

// jobOrNotFound reads a job and turns absence into a not-found error.
func jobOrNotFound(snap *state.Snapshot, ws memdb.WatchSet, id string) (*structs.Job, error) {
	j, err := snap.JobByID(ws, id)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, jobNotFound(id)
	}
	return j, nil
}

// jobFor reads a job the caller may act on with right (one it may not
// see is not found: hidden.go).
func jobFor(r *request, snap *state.Snapshot, ws memdb.WatchSet, id string, right acl.Right) (*structs.Job, error) {
	j, err := jobOrNotFound(snap, ws, id)
	if err != nil {
		return nil, err
	}
	if err := checkJob(r, j, right, id); err != nil {
		return nil, err
	}
	return j, nil
}

func (s *Server) jobGet(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	var out *structs.Job
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		j, err := jobFor(r, snap, ws, id, acl.Read)
		if err != nil {
			return 0, err
		}
		out = j
		return j.ModifyIndex, nil
	})
	return out, idx, err
}

func (s *Server) jobCancel(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	only := r.URL.Query().Get("only") == "true"
	// An array id names every member (unless ?only=true): the caller
	// needs the right on each.
	var members []*structs.Job
	var err error
	if !only {
		if members, err = r.snap.JobsByArray(nil, id); err != nil {
			return nil, 0, err
		}
	}
	if len(members) == 0 {
		j, err := jobOrNotFound(r.snap, nil, id)
		if err != nil {
			return nil, 0, err
		}
		members = []*structs.Job{j}
	}
	for _, j := range members {
		if err := checkJob(r, j, acl.Manage, id); err != nil {
			return nil, 0, err
		}
	}
	live, ended := structs.SplitEnded("", members)
	out := &structs.JobCancelResponse{JobID: id, Cancelled: live, Ended: ended}
	if len(live) == 0 {
		// Every job named has ended: nothing to write, and the answer
		// says so rather than that they were cancelled.
		out.Index = r.snap.Index()
		return out, out.Index, nil
	}
	req := &structs.JobCancelRequest{JobIDs: []string{id}, Reason: structs.ExitCancelled, Only: only, Now: time.Now().UTC()}
	_, idx, err := s.apply(fsm.JobCancel, req)
	if err != nil {
		return nil, 0, err
	}
	out.Index = idx
	return out, idx, nil
}

func (s *Server) jobAllocs(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	if _, err := jobFor(r, r.snap, nil, id, acl.Read); err != nil {
		return nil, 0, err
	}
	allocs, err := r.snap.AllocsByJob(nil, id)
	if err != nil {
		return nil, 0, err
	}
	if allocs == nil {
		allocs = []*structs.Allocation{}
	}
	return allocs, r.snap.Index(), nil
}

func (s *Server) jobMetrics(r *request) (any, uint64, error) {
	j, err := jobFor(r, r.snap, nil, r.PathValue("id"), acl.ReadData)
	if err != nil {
		return nil, 0, err
	}
	m := j.Metrics
	if m == nil {
		m = map[string]float64{}
	}
	// The metrics that stopped being finite, as the job keeps them (raft
	// log format 7); the history, when read, says it of older jobs too.
	out := &structs.JobMetrics{JobID: j.ID, Metrics: m, NonFinite: j.NonFiniteMetrics}
	all, check := r.URL.Query().Get("all") == "true", r.URL.Query().Get("check") == "true"
	if !all && !check {
		return out, j.ModifyIndex, nil
	}
	if !all && j.MetricsCounted {
		// The job's client counted what ?check wants (format 7): the
		// job says it, as of its last report, without the history.
		out.SkippedLines = j.MetricsSkippedLines
		return out, j.ModifyIndex, nil
	}
	from, err := historyFrom(r.Request)
	if err != nil {
		return nil, 0, err
	}
	// The history is read for ?check too: only it knows what Metrics
	// cannot hold, values that are not finite, and the lines skipped.
	var h *metricHistory
	if j.Status.Terminal() || j.AllocID == "" {
		h, err = s.metricsHistory(j)
	} else {
		// Running: the node's file is the history so far
		// (metrics_live.go).
		h, err = s.liveMetricsHistory(r, j)
	}
	if err != nil {
		if !all {
			// The last values still answer; only the notes are missing.
			return out, j.ModifyIndex, nil
		}
		return nil, 0, err
	}
	out.SkippedLines = h.skipped
	if len(h.nonFinite) > 0 {
		out.NonFinite = h.nonFinite
	}
	if all {
		out.From = from
		if from < len(h.lines) {
			out.History = h.lines[from:]
		}
	}
	return out, j.ModifyIndex, nil
}

// jobOutputs serves the archive of a job's outputs: the job's (a gang's
// rank 0's), or with ?rank=N that rank's of the current attempt.
func (s *Server) jobOutputs(w http.ResponseWriter, r *request) error {
	j, err := jobFor(r, r.snap, nil, r.PathValue("id"), acl.ReadData)
	if err != nil {
		return err
	}
	rank, byRank, err := rankOf(r, j) // http_ranks.go
	if err != nil {
		return err
	}
	digest, name := j.OutputDigest, "job-"+j.ID+"-outputs.tar.gz"
	if byRank {
		a, err := rankAlloc(r.snap, j, rank)
		if err != nil {
			return err
		}
		if a == nil {
			return noRankAlloc(j, rank)
		}
		digest, name = a.ClientStatus.OutputDigest, fmt.Sprintf("job-%s-rank-%d-outputs.tar.gz", j.ID, rank)
		if digest == "" {
			msg := fmt.Sprintf("rank %d of job %s (allocation %s) has no outputs", rank, j.ID, a.ID)
			if !a.Terminal() {
				msg = fmt.Sprintf("rank %d of job %s (allocation %s) is %s: its outputs are uploaded when it ends", rank, j.ID, a.ID, jobtext.OrDash(string(a.ClientStatus.Status)))
			} else if j.Output != nil && len(j.Output.Keep) > 0 {
				msg += fmt.Sprintf(" (only files matching output { keep = %q } are kept; see nai job status %s)", j.Output.Keep, j.ID)
			}
			return structs.NewError(structs.CodeNotFound, "%s", msg)
		}
	}
	if digest == "" {
		msg := fmt.Sprintf("job %s has no outputs", j.ID)
		if j.Output != nil && len(j.Output.Keep) > 0 {
			// The client says in the allocation's message when keep
			// matched nothing; this says where to look.
			msg += fmt.Sprintf(" (only files matching output { keep = %q } are kept; see nai job status %s)", j.Output.Keep, j.ID)
		}
		msg += otherRanksNote(r.snap, j)
		if !j.Status.Terminal() {
			msg = fmt.Sprintf("job %s is %s: its outputs are uploaded when it ends", j.ID, j.Status)
		}
		return structs.NewError(structs.CodeNotFound, "%s", msg)
	}
	f, err := s.openBlob(r.Context(), digest)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	http.ServeContent(w, r.Request, "", time.Time{}, f)
	return nil
}

// jobLogs streams a job's log from the agent of the node that runs (or
// ran) it. A pending job with follow=true waits until it is placed.
func (s *Server) jobLogs(w http.ResponseWriter, r *request) error {
	id := r.PathValue("id")
	follow := r.URL.Query().Get("follow") == "true"
	typ := r.URL.Query().Get("type")
	if typ != "" && typ != "stdout" && typ != "stderr" {
		return structs.NewError(structs.CodeInvalid, "log type %q is unknown: expected stdout or stderr", typ)
	}
	offset, limit, err := logWindow(r.Request, follow)
	if err != nil {
		return err
	}
	snap := r.snap
	j, err := jobFor(r, snap, nil, id, acl.ReadData)
	if err != nil {
		return err
	}
	rank, byRank, err := rankOf(r, j) // http_ranks.go
	if err != nil {
		return err
	}
	allocID := r.URL.Query().Get("alloc")
	if byRank && allocID != "" {
		return structs.NewError(structs.CodeInvalid, "rank %d and alloc %q both name an allocation: give one (an allocation of an earlier attempt is of one rank already)", rank, allocID)
	}
	if byRank {
		// Rank N of the current attempt: a gang job keeps its rank 0's
		// log, and each rank's allocation its own.
		a, err := rankAlloc(snap, j, rank)
		if err != nil {
			return err
		}
		if a == nil {
			// Not placed yet: nothing so far, as for the job's own
			// log; a follower asks again.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set(structs.OffsetHeader, "0")
			w.Header().Set(structs.SizeHeader, "0")
			return nil
		}
		allocID = a.ID
	}
	if allocID != "" {
		// One allocation of the job: a replica of a service, an attempt,
		// a rank.
		return s.allocLogs(w, r, j, allocID, offset, limit)
	}
	// A finished job's final logs are blobs on the servers: they are read
	// there, whether or not the node that ran the job is still around.
	if d := finalLog(j, typ); d != "" {
		w.Header().Set(structs.AllocHeader, j.AllocID)
		return s.serveLogBlob(w, r, d, offset, limit)
	}
	for j.AllocID == "" && follow && !j.Status.Terminal() {
		// Wait for placement without holding anything.
		idx := snap.Index()
		err := s.State().BlockingQuery(r.Context(), idx, func(ws memdb.WatchSet, sn *state.Snapshot) (uint64, error) {
			jj, err := jobOrNotFound(sn, ws, id)
			if err != nil {
				return 0, err
			}
			j, snap = jj, sn
			return jj.ModifyIndex, nil
		})
		if err != nil {
			if r.Context().Err() != nil {
				return nil
			}
			return err
		}
	}
	if j.AllocID == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set(structs.OffsetHeader, "0")
		w.Header().Set(structs.SizeHeader, "0")
		return nil
	}
	a, err := snap.AllocByID(nil, j.AllocID)
	if err != nil || a == nil {
		return structs.NewError(structs.CodeNotFound, "allocation %s of job %s not found", j.AllocID, id)
	}
	return s.proxyAllocLogs(w, r, snap, j, a)
}

// allocLogs serves the logs of one allocation of job j: from its node
// while it runs, from the final log blobs once it has ended.
func (s *Server) allocLogs(w http.ResponseWriter, r *request, j *structs.Job, allocID string, offset, limit int64) error {
	a, err := r.snap.AllocByID(nil, allocID)
	if err != nil {
		return err
	}
	if a == nil || a.JobID != j.ID {
		return structs.NewError(structs.CodeNotFound, "allocation %q of job %s not found", allocID, j.ID)
	}
	if a.Terminal() {
		d := a.ClientStatus.StdoutDigest
		if r.URL.Query().Get("type") == "stderr" {
			d = a.ClientStatus.StderrDigest
		}
		if d == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			return nil
		}
		w.Header().Set(structs.AllocHeader, a.ID)
		return s.serveLogBlob(w, r, d, offset, limit)
	}
	return s.proxyAllocLogs(w, r, r.snap, j, a)
}

// proxyAllocLogs streams a live allocation's logs from its node.
func (s *Server) proxyAllocLogs(w http.ResponseWriter, r *request, snap *state.Snapshot, j *structs.Job, a *structs.Allocation) error {
	id := j.ID
	n, err := snap.NodeByID(nil, a.NodeID)
	if err != nil || n == nil || n.HTTPAddr == "" {
		return structs.NewError(structs.CodeUnavailable, "node %s of job %s is unknown or has no address; its logs cannot be read", a.NodeName, id)
	}
	target, err := url.Parse(n.HTTPAddr)
	if err != nil || target.Host == "" {
		target, err = url.Parse("http://" + n.HTTPAddr)
		if err != nil {
			return fmt.Errorf("node %s has a bad address %q: %w", n.Name, n.HTTPAddr, err)
		}
	}
	if s.tls != nil {
		target.Scheme = "https"
	}
	// The caller's own token goes along: the client agent accepts it
	// only when the servers say it may read this job.
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = "/v1/client/allocations/" + url.PathEscape(a.ID) + "/logs"
			pr.Out.URL.RawPath = ""
		},
		Transport:     s.httpTransport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			s.writeError(w, req, structs.NewError(structs.CodeUnavailable, "cannot reach node %s at %s for the logs of job %s: %v", n.Name, n.HTTPAddr, id, err))
		},
	}
	w.Header().Set(structs.AllocHeader, a.ID)
	// A followed log may stream for days: the snapshot the request was
	// authorized against must not keep that version of the state alive.
	r.snap = nil
	proxy.ServeHTTP(w, r.Request)
	return nil
}

// queueList lists jobs in the order a user wants to read them: running
// jobs, then pending ones in the order the scheduler will consider them,
// then (with ?all=true) finished ones; only those the caller may see.
// ?user=, ?group=, ?queue= and ?state= filter; ?offset= and ?limit= page
// (X-Nai-Total says how many match); ?index=&wait= block until the jobs
// change.
func (s *Server) queueList(w http.ResponseWriter, r *request) error {
	f, err := queueFilterOf(r.Request)
	if err != nil {
		return err
	}
	var out []*structs.Job
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		jobs, err := snap.Jobs(ws)
		if err != nil {
			return 0, err
		}
		if out, err = s.queueOrder(r, snap, jobs, f); err != nil {
			return 0, err
		}
		return snap.TableIndex(state.TableJobs), nil
	})
	if err != nil {
		return err
	}
	total := len(out)
	out = out[min(f.offset, total):]
	if f.limit > 0 && len(out) > f.limit {
		out = out[:f.limit]
	}
	w.Header().Set(structs.TotalHeader, strconv.Itoa(total))
	if idx > 0 {
		w.Header().Set(structs.IndexHeader, strconv.FormatUint(idx, 10))
	}
	if f.table {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		return jobtext.QueueTable(w, out, time.Now())
	}
	w.Header().Set("Content-Type", "application/json")
	return s.encs.writeList(w, out, f.enc)
}

// queueFilter is what a queue request asks for.
type queueFilter struct {
	all                        bool
	user, group, queue, status string
	offset, limit              int
	// enc is how each job is written: ?view=row sends queue rows
	// (structs.JobRow), ?pretty=true whole jobs indented.
	enc encKind
	// table (?view=table) writes the queue as `nai queue` prints it,
	// as text: the CLI copies it instead of decoding every job.
	table bool
}

func queueFilterOf(r *http.Request) (queueFilter, error) {
	q := r.URL.Query()
	f := queueFilter{all: q.Get("all") == "true", user: q.Get("user"), group: q.Get("group"), queue: q.Get("queue"), status: q.Get("state")}
	switch structs.JobStatus(f.status) {
	case "", structs.JobPending, structs.JobRunning:
	case structs.JobComplete, structs.JobFailed, structs.JobCancelled, structs.JobLost:
		f.all = true
	default:
		return f, structs.NewError(structs.CodeInvalid, "state %q is unknown: expected pending, running, complete, failed, cancelled or lost", f.status)
	}
	switch v := q.Get("view"); v {
	case "":
	case "row":
		f.enc = encRow
	case "table":
		f.table = true
	default:
		return f, structs.NewError(structs.CodeInvalid, "view %q is unknown: expected row (the fields of a queue row), table (the queue as text) or none (whole jobs)", v)
	}
	switch v := q.Get("pretty"); v {
	case "", "false":
	case "true":
		if f.enc == encRow || f.table {
			return f, structs.NewError(structs.CodeInvalid, "pretty=true writes whole jobs: give it without view=%s", q.Get("view"))
		}
		f.enc = encPretty
	default:
		return f, structs.NewError(structs.CodeInvalid, "pretty %q: expected true or false", v)
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"offset", &f.offset}, {"limit", &f.limit}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, structs.NewError(structs.CodeInvalid, "%s %q is not a number of 0 or more", p.name, v)
			}
			*p.v = n
		}
	}
	return f, nil
}

func (f queueFilter) keep(j *structs.Job) bool {
	return (f.user == "" || j.User == f.user) && (f.group == "" || j.Group == f.group) &&
		(f.queue == "" || j.Queue == f.queue) && (f.status == "" || string(j.Status) == f.status)
}

// queueOrder puts jobs in queue order and keeps those the caller may see
// and the filter wants.
func (s *Server) queueOrder(r *request, snap *state.Snapshot, jobs []*structs.Job, f queueFilter) ([]*structs.Job, error) {
	var running, done []*structs.Job
	for _, j := range jobs {
		switch {
		case j.Status == structs.JobRunning:
			running = append(running, j)
		case j.Status.Terminal() && f.all:
			done = append(done, j)
		}
	}
	slices.SortStableFunc(running, func(a, b *structs.Job) int { return a.StartTime.Compare(b.StartTime) })
	out := append([]*structs.Job{}, running...)
	if f.status == "" || f.status == string(structs.JobPending) {
		now := time.Now().UTC()
		sched, err := s.schedulerFor(snap, now)
		if err != nil {
			return nil, err
		}
		for _, j := range sched.Order(snap.SchedulerState(), now) {
			if j.Status == structs.JobPending { // a running service short of replicas is listed once, running
				out = append(out, j)
			}
		}
	}
	out = append(out, done...)
	return slices.DeleteFunc(out, func(j *structs.Job) bool {
		return !f.keep(j) || (r.acl.Enabled() && !r.acl.CanSeeJob(j.User, j.Group))
	}), nil
}

// finalLog returns the blob of a finished job's log stream, "" when the job
// runs or its client did not keep one.
func finalLog(j *structs.Job, typ string) string {
	if !j.Status.Terminal() {
		return ""
	}
	if typ == "stderr" {
		return j.StderrDigest
	}
	return j.StdoutDigest
}

// serveLogBlob streams a final log blob from offset (negative: from the
// end), limit bytes of it when limit > 0.
func (s *Server) serveLogBlob(w http.ResponseWriter, r *request, digest string, offset, limit int64) error {
	f, err := s.openBlob(r.Context(), digest)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("log blob %s: %w", digest, err)
	}
	start, n := structs.LogRange(offset, limit, fi.Size())
	if n < 0 {
		n = max(fi.Size()-start, 0)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set(structs.OffsetHeader, strconv.FormatInt(start, 10))
	w.Header().Set(structs.SizeHeader, strconv.FormatInt(fi.Size(), 10))
	_, _ = io.Copy(w, io.NewSectionReader(f, start, n))
	return nil
}

// logWindow reads a log request's ?offset= (negative: counted from the
// end) and ?limit= (bytes; not with follow=true).
func logWindow(r *http.Request, follow bool) (offset, limit int64, err error) {
	q := r.URL.Query()
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, 0, structs.NewError(structs.CodeInvalid, "offset %q is not a byte offset (a number; negative counts from the end)", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil || limit <= 0 {
			return 0, 0, structs.NewError(structs.CodeInvalid, "limit %q is not a number of bytes above 0", v)
		}
		if follow {
			return 0, 0, structs.NewError(structs.CodeInvalid, "limit and follow=true are alternatives: a followed log has no end")
		}
	}
	return offset, limit, nil
}
