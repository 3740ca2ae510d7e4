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

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// registerBody is the body of PUT /v1/jobs: one job or several (a sweep).
type registerBody struct {
	Job  *structs.Job   `json:"job"`
	Jobs []*structs.Job `json:"jobs"`
}

// MaxJobsPerSubmit bounds one submission (the sweep limit of the jobspec).
const MaxJobsPerSubmit = 10000

func (s *Server) handleJobRegister(w http.ResponseWriter, r *http.Request) {
	jobs, err := submittedJobs(r) // http_plan.go: shared with the dry run
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := &structs.JobRegisterRequest{Jobs: jobs, Now: time.Now().UTC()}
	resp, idx, err := s.apply(fsm.JobRegister, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, ok := resp.(*structs.JobRegisterResponse)
	if !ok {
		s.writeError(w, r, fmt.Errorf("raft answered a job registration with %T", resp))
		return
	}
	out.Index = idx
	writeJSON(w, idx, out)
}

func (s *Server) handleJobList(w http.ResponseWriter, r *http.Request) {
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
			if all || !j.Status.Terminal() {
				out = append(out, j)
			}
		}
		return snap.Index(), nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if out == nil {
		out = []*structs.Job{}
	}
	writeJSON(w, idx, out)
}

// jobOrNotFound reads a job and turns absence into a not-found error.
func jobOrNotFound(snap *state.Snapshot, ws memdb.WatchSet, id string) (*structs.Job, error) {
	j, err := snap.JobByID(ws, id)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, structs.NewError(structs.CodeNotFound, "job %s not found", id)
	}
	return j, nil
}

func (s *Server) handleJobGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var out *structs.Job
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		j, err := jobOrNotFound(snap, ws, id)
		if err != nil {
			return 0, err
		}
		out = j
		return j.ModifyIndex, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, out)
}

func (s *Server) handleJobCancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req := &structs.JobCancelRequest{JobIDs: []string{id}, Reason: structs.ExitCancelled, Now: time.Now().UTC()}
	_, idx, err := s.apply(fsm.JobCancel, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, map[string]any{"job_id": id, "index": idx})
}

func (s *Server) handleJobAllocs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	snap := s.State().Snapshot()
	if _, err := jobOrNotFound(snap, nil, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	allocs, err := snap.AllocsByJob(nil, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if allocs == nil {
		allocs = []*structs.Allocation{}
	}
	writeJSON(w, snap.Index(), allocs)
}

func (s *Server) handleJobMetrics(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	j, err := jobOrNotFound(snap, nil, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m := j.Metrics
	if m == nil {
		m = map[string]float64{}
	}
	out := &structs.JobMetrics{JobID: j.ID, Metrics: m}
	if r.URL.Query().Get("all") == "true" {
		if out.History, err = s.metricsHistory(j); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, j.ModifyIndex, out)
}

func (s *Server) handleJobOutputs(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	j, err := jobOrNotFound(snap, nil, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if j.OutputDigest == "" {
		msg := fmt.Sprintf("job %s has no outputs", j.ID)
		if !j.Status.Terminal() {
			msg = fmt.Sprintf("job %s is %s: its outputs are uploaded when it ends", j.ID, j.Status)
		}
		s.writeError(w, r, structs.NewError(structs.CodeNotFound, "%s", msg))
		return
	}
	f, err := s.openBlob(r.Context(), j.OutputDigest)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "job-"+j.ID+"-outputs.tar.gz"))
	http.ServeContent(w, r, "", time.Time{}, f)
}

// handleJobLogs streams a job's log from the agent of the node that runs
// (or ran) it. A pending job with follow=true waits until it is placed.
func (s *Server) handleJobLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	follow := r.URL.Query().Get("follow") == "true"
	typ := r.URL.Query().Get("type")
	if typ != "" && typ != "stdout" && typ != "stderr" {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "log type %q is unknown: expected stdout or stderr", typ))
		return
	}
	var offset int64
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.writeError(w, r, structs.NewError(structs.CodeInvalid, "offset %q is not a non-negative number", v))
			return
		}
		offset = n
	}
	snap := s.State().Snapshot()
	j, err := jobOrNotFound(snap, nil, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A finished job's final logs are blobs on the servers: they are read
	// there, whether or not the node that ran the job is still around.
	if d := finalLog(j, typ); d != "" {
		w.Header().Set(api.AllocHeader, j.AllocID)
		s.serveLogBlob(w, r, d, offset)
		return
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
				return
			}
			s.writeError(w, r, err)
			return
		}
	}
	if j.AllocID == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		return
	}
	a, err := snap.AllocByID(nil, j.AllocID)
	if err != nil || a == nil {
		s.writeError(w, r, structs.NewError(structs.CodeNotFound, "allocation %s of job %s not found", j.AllocID, id))
		return
	}
	n, err := snap.NodeByID(nil, a.NodeID)
	if err != nil || n == nil || n.HTTPAddr == "" {
		s.writeError(w, r, structs.NewError(structs.CodeUnavailable, "node %s of job %s is unknown or has no address; its logs cannot be read", a.NodeName, id))
		return
	}
	target, err := url.Parse(n.HTTPAddr)
	if err != nil || target.Host == "" {
		target, err = url.Parse("http://" + n.HTTPAddr)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("node %s has a bad address %q: %w", n.Name, n.HTTPAddr, err))
			return
		}
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = "/v1/client/allocations/" + url.PathEscape(a.ID) + "/logs"
			pr.Out.URL.RawPath = ""
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.writeError(w, r, structs.NewError(structs.CodeUnavailable, "cannot reach node %s at %s for the logs of job %s: %v", n.Name, n.HTTPAddr, id, err))
		},
	}
	w.Header().Set(api.AllocHeader, a.ID)
	proxy.ServeHTTP(w, r)
}

// handleQueue lists jobs in the order a user wants to read them: running
// jobs, then pending ones in the order the scheduler will consider them,
// then (with ?all=true) finished ones.
func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request) {
	all := r.URL.Query().Get("all") == "true"
	snap := s.State().Snapshot()
	jobs, err := snap.Jobs(nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var running, done []*structs.Job
	for _, j := range jobs {
		switch {
		case j.Status == structs.JobRunning:
			running = append(running, j)
		case j.Status.Terminal() && all:
			done = append(done, j)
		}
	}
	slices.SortStableFunc(running, func(a, b *structs.Job) int { return a.StartTime.Compare(b.StartTime) })
	out := append([]*structs.Job{}, running...)
	now := time.Now().UTC()
	sched, err := s.schedulerFor(snap, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out = append(out, sched.Order(snap.SchedulerState(), now)...)
	out = append(out, done...)
	writeJSON(w, snap.Index(), out)
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

// serveLogBlob streams a final log blob from offset.
func (s *Server) serveLogBlob(w http.ResponseWriter, r *http.Request, digest string, offset int64) {
	f, err := s.openBlob(r.Context(), digest)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		s.writeError(w, r, fmt.Errorf("seek in log blob %s: %w", digest, err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.Copy(w, f)
}
