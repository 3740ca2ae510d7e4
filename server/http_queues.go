package server

import (
	"slices"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// queueDefs answers the queues in force: configured and stored ones by
// name, with the implicit default queue.
func (s *Server) queueDefs(r *request) (any, uint64, error) {
	cfg, _, err := s.policyConfig(r.snap)
	if err != nil {
		return nil, 0, err
	}
	return cfg.Queues, r.snap.Index(), nil
}

func (s *Server) queueDef(r *request) (any, uint64, error) {
	name := r.PathValue("name")
	cfg, _, err := s.policyConfig(r.snap)
	if err != nil {
		return nil, 0, err
	}
	for _, q := range cfg.Queues {
		if q.Name == name {
			return q, r.snap.Index(), nil
		}
	}
	return nil, 0, structs.NewError(structs.CodeNotFound, "queue %s not found", name)
}

// queuePut creates or replaces a queue; the body is a Queue whose name,
// when set, must be the one in the path.
func (s *Server) queuePut(r *request) (any, uint64, error) {
	var q structs.Queue
	if err := decodeBody(r.Request, &q); err != nil {
		return nil, 0, err
	}
	name := r.PathValue("name")
	if q.Name == "" {
		q.Name = name
	}
	if q.Name != name {
		return nil, 0, structs.NewError(structs.CodeInvalid, "the body names queue %q but the path names %q", q.Name, name)
	}
	q.CreateIndex, q.ModifyIndex = 0, 0
	if err := q.Validate(); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "queue %q is invalid: %v", q.Name, err)
	}
	return s.applyIndex(fsm.QueueUpsert, &structs.QueueUpsertRequest{Queue: &q})
}

func (s *Server) queueDelete(r *request) (any, uint64, error) {
	return s.applyIndex(fsm.QueueDelete, &structs.QueueDeleteRequest{Name: r.PathValue("name")})
}

// applyIndex commits one write and answers {"index": N}.
func (s *Server) applyIndex(t fsm.MessageType, req any) (any, uint64, error) {
	_, idx, err := s.apply(t, req)
	if err != nil {
		return nil, 0, err
	}
	return &structs.IndexResponse{Index: idx}, idx, nil
}

// shareReport answers what `nai share` shows: every group and user with
// shares, usage or a pending job, with the factor the leader uses.
func (s *Server) shareReport(r *request) (any, uint64, error) {
	sched, err := s.schedulerFor(r.snap, time.Now().UTC())
	if err != nil {
		return nil, 0, err
	}
	return sched.Shares(r.snap.SchedulerState()), r.snap.Index(), nil
}

func (s *Server) shareList(r *request) (any, uint64, error) {
	shares, err := r.snap.Shares(nil)
	if err != nil {
		return nil, 0, err
	}
	if shares == nil {
		shares = []*structs.Share{}
	}
	return shares, r.snap.Index(), nil
}

func (s *Server) sharePut(r *request) (any, uint64, error) {
	var sh structs.Share
	if err := decodeBody(r.Request, &sh); err != nil {
		return nil, 0, err
	}
	sh.CreateIndex, sh.ModifyIndex = 0, 0
	if err := sh.Validate(); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "shares of %s %q are invalid: %v", sh.Kind, sh.Name, err)
	}
	if err := s.accountExists(r, sh.Kind, sh.Name); err != nil {
		return nil, 0, err
	}
	r.audit = string(sh.Kind) + " " + sh.Name
	return s.applyIndex(fsm.ShareUpsert, &structs.ShareUpsertRequest{Share: &sh})
}

// accountExists refuses shares and quotas of users and groups that do not
// exist, once ACLs keep a list of them.
func (s *Server) accountExists(r *request, kind structs.AccountKind, name string) error {
	if !r.acl.Enabled() {
		return nil
	}
	if kind == structs.AccountGroup {
		g, err := r.snap.GroupByName(nil, name)
		if err != nil {
			return err
		}
		if g == nil {
			return structs.NewError(structs.CodeNotFound, "group %s not found (nai group create %s)", name, name)
		}
		return nil
	}
	u, err := r.snap.UserByName(nil, name)
	if err != nil {
		return err
	}
	if u == nil {
		return structs.NewError(structs.CodeNotFound, "user %s not found", name)
	}
	return nil
}

func (s *Server) shareDelete(r *request) (any, uint64, error) {
	req, err := accountDelete(r)
	if err != nil {
		return nil, 0, err
	}
	return s.applyIndex(fsm.ShareDelete, req)
}

func (s *Server) quotaList(r *request) (any, uint64, error) {
	quotas, err := r.snap.Quotas(nil)
	if err != nil {
		return nil, 0, err
	}
	if quotas == nil {
		quotas = []*structs.AccountQuota{}
	}
	return quotas, r.snap.Index(), nil
}

func (s *Server) quotaPut(r *request) (any, uint64, error) {
	var q structs.AccountQuota
	if err := decodeBody(r.Request, &q); err != nil {
		return nil, 0, err
	}
	q.CreateIndex, q.ModifyIndex = 0, 0
	if err := q.Validate(); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "quota of %s %q is invalid: %v", q.Kind, q.Name, err)
	}
	if err := s.accountExists(r, q.Kind, q.Name); err != nil {
		return nil, 0, err
	}
	r.audit = string(q.Kind) + " " + q.Name
	return s.applyIndex(fsm.QuotaUpsert, &structs.QuotaUpsertRequest{Quota: &q})
}

func (s *Server) quotaDelete(r *request) (any, uint64, error) {
	req, err := accountDelete(r)
	if err != nil {
		return nil, 0, err
	}
	return s.applyIndex(fsm.QuotaDelete, req)
}

func accountDelete(r *request) (*structs.AccountDeleteRequest, error) {
	req := &structs.AccountDeleteRequest{Kind: structs.AccountKind(r.PathValue("kind")), Name: r.PathValue("name")}
	if err := req.Kind.Validate(); err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "%v", err)
	}
	return req, nil
}

// jobPriority answers the priority factors of a pending job, as the
// leader's next pass would compute them.
func (s *Server) jobPriority(r *request) (any, uint64, error) {
	j, err := jobFor(r, r.snap, nil, r.PathValue("id"), acl.Read)
	if err != nil {
		return nil, 0, err
	}
	if j.Status != structs.JobPending {
		return nil, 0, structs.NewError(structs.CodeConflict, "job %s is %s: only pending jobs have priority factors", j.ID, j.Status)
	}
	now := time.Now().UTC()
	sched, err := s.schedulerFor(r.snap, now)
	if err != nil {
		return nil, 0, err
	}
	return sched.Factors(r.snap.SchedulerState(), j, now), r.snap.Index(), nil
}

// queuePriority answers the factors of every pending job the caller may
// see, in the order the scheduler considers them (`nai queue -explain`).
func (s *Server) queuePriority(r *request) (any, uint64, error) {
	now := time.Now().UTC()
	sched, err := s.schedulerFor(r.snap, now)
	if err != nil {
		return nil, 0, err
	}
	out := sched.Explain(r.snap.SchedulerState(), now)
	if r.acl.Enabled() {
		out = slices.DeleteFunc(out, func(f structs.PriorityFactors) bool {
			j, _ := r.snap.JobByID(nil, f.JobID)
			return j == nil || !r.acl.CanSeeJob(j.User, j.Group)
		})
	}
	return out, r.snap.Index(), nil
}
