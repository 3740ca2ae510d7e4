package server

import (
	"net/http"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// policyRoutes registers the scheduling policy API: queues, fair-share
// shares, quotas and priority factors.
func (s *Server) policyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/queues", s.handleQueueList)
	mux.HandleFunc("GET /v1/queues/{name}", s.handleQueueGet)
	mux.HandleFunc("PUT /v1/queues/{name}", s.handleQueuePut)
	mux.HandleFunc("DELETE /v1/queues/{name}", s.handleQueueDelete)
	mux.HandleFunc("GET /v1/share", s.handleShareReport)
	mux.HandleFunc("GET /v1/shares", s.handleShareList)
	mux.HandleFunc("PUT /v1/shares", s.handleSharePut)
	mux.HandleFunc("DELETE /v1/shares/{kind}/{name}", s.handleShareDelete)
	mux.HandleFunc("GET /v1/quotas", s.handleQuotaList)
	mux.HandleFunc("PUT /v1/quotas", s.handleQuotaPut)
	mux.HandleFunc("DELETE /v1/quotas/{kind}/{name}", s.handleQuotaDelete)
	mux.HandleFunc("GET /v1/jobs/{id}/priority", s.handleJobPriority)
	mux.HandleFunc("GET /v1/queue/priority", s.handleQueuePriority)
}

// handleQueueList answers the queues in force: configured and stored ones
// by name, with the implicit default queue.
func (s *Server) handleQueueList(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	cfg, _, err := s.policyConfig(snap)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, snap.Index(), cfg.Queues)
}

func (s *Server) handleQueueGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	snap := s.State().Snapshot()
	cfg, _, err := s.policyConfig(snap)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, q := range cfg.Queues {
		if q.Name == name {
			writeJSON(w, snap.Index(), q)
			return
		}
	}
	s.writeError(w, r, structs.NewError(structs.CodeNotFound, "queue %s not found", name))
}

// handleQueuePut creates or replaces a queue; the body is a Queue whose
// name, when set, must be the one in the path.
func (s *Server) handleQueuePut(w http.ResponseWriter, r *http.Request) {
	var q structs.Queue
	if err := decodeBody(r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := r.PathValue("name")
	if q.Name == "" {
		q.Name = name
	}
	if q.Name != name {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "the body names queue %q but the path names %q", q.Name, name))
		return
	}
	q.CreateIndex, q.ModifyIndex = 0, 0
	if err := q.Validate(); err != nil {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "queue %q is invalid: %v", q.Name, err))
		return
	}
	s.applyAndAnswer(w, r, fsm.QueueUpsert, &structs.QueueUpsertRequest{Queue: &q})
}

func (s *Server) handleQueueDelete(w http.ResponseWriter, r *http.Request) {
	s.applyAndAnswer(w, r, fsm.QueueDelete, &structs.QueueDeleteRequest{Name: r.PathValue("name")})
}

// applyAndAnswer commits one policy write and answers {"index": N}.
func (s *Server) applyAndAnswer(w http.ResponseWriter, r *http.Request, t fsm.MessageType, req any) {
	_, idx, err := s.apply(t, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, map[string]uint64{"index": idx})
}

// handleShareReport answers what `nai share` shows: every group and user
// with shares, usage or a pending job, with the factor the leader uses.
func (s *Server) handleShareReport(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	sched, err := s.schedulerFor(snap, time.Now().UTC())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, snap.Index(), sched.Shares(snap.SchedulerState()))
}

func (s *Server) handleShareList(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	shares, err := snap.Shares(nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if shares == nil {
		shares = []*structs.Share{}
	}
	writeJSON(w, snap.Index(), shares)
}

func (s *Server) handleSharePut(w http.ResponseWriter, r *http.Request) {
	var sh structs.Share
	if err := decodeBody(r, &sh); err != nil {
		s.writeError(w, r, err)
		return
	}
	sh.CreateIndex, sh.ModifyIndex = 0, 0
	if err := sh.Validate(); err != nil {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "shares of %s %q are invalid: %v", sh.Kind, sh.Name, err))
		return
	}
	s.applyAndAnswer(w, r, fsm.ShareUpsert, &structs.ShareUpsertRequest{Share: &sh})
}

func (s *Server) handleShareDelete(w http.ResponseWriter, r *http.Request) {
	req, err := accountDelete(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.applyAndAnswer(w, r, fsm.ShareDelete, req)
}

func (s *Server) handleQuotaList(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	quotas, err := snap.Quotas(nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if quotas == nil {
		quotas = []*structs.AccountQuota{}
	}
	writeJSON(w, snap.Index(), quotas)
}

func (s *Server) handleQuotaPut(w http.ResponseWriter, r *http.Request) {
	var q structs.AccountQuota
	if err := decodeBody(r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	q.CreateIndex, q.ModifyIndex = 0, 0
	if err := q.Validate(); err != nil {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "quota of %s %q is invalid: %v", q.Kind, q.Name, err))
		return
	}
	s.applyAndAnswer(w, r, fsm.QuotaUpsert, &structs.QuotaUpsertRequest{Quota: &q})
}

func (s *Server) handleQuotaDelete(w http.ResponseWriter, r *http.Request) {
	req, err := accountDelete(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.applyAndAnswer(w, r, fsm.QuotaDelete, req)
}

func accountDelete(r *http.Request) (*structs.AccountDeleteRequest, error) {
	req := &structs.AccountDeleteRequest{Kind: structs.AccountKind(r.PathValue("kind")), Name: r.PathValue("name")}
	if err := req.Kind.Validate(); err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "%v", err)
	}
	return req, nil
}

// handleJobPriority answers the priority factors of a pending job, as the
// leader's next pass would compute them.
func (s *Server) handleJobPriority(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	j, err := jobOrNotFound(snap, nil, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if j.Status != structs.JobPending {
		s.writeError(w, r, structs.NewError(structs.CodeConflict, "job %s is %s: only pending jobs have priority factors", j.ID, j.Status))
		return
	}
	now := time.Now().UTC()
	sched, err := s.schedulerFor(snap, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, snap.Index(), sched.Factors(snap.SchedulerState(), j, now))
}

// handleQueuePriority answers the factors of every pending job, in the
// order the scheduler considers them (`nai queue -explain`).
func (s *Server) handleQueuePriority(w http.ResponseWriter, r *http.Request) {
	snap := s.State().Snapshot()
	now := time.Now().UTC()
	sched, err := s.schedulerFor(snap, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := sched.Explain(snap.SchedulerState(), now)
	writeJSON(w, snap.Index(), out)
}
