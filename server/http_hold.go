package server

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// jobHold holds pending jobs (scontrol hold): POST /v1/jobs/hold with
// {"targets": [{"id": "12"}, ...]}. An array id names every pending member
// (unless "only": member 0 alone). The owner
// (or an admin of the job's group) places a user hold; an operator places
// an admin hold, which only an operator releases.
//
// A target that is as asked already (a job held, an array whose pending
// members all are) is left as it is and named in the answer's unchanged;
// the others are held. Release does the same for a job not held, or an
// array with no held member. A job that is not pending, an unknown id or
// a caller without the right refuses the whole request.
func (s *Server) jobHold(r *request) (any, uint64, error) { return s.holdOrRelease(r, false) }

// jobRelease releases held jobs (scontrol release): POST /v1/jobs/release.
func (s *Server) jobRelease(r *request) (any, uint64, error) { return s.holdOrRelease(r, true) }

func (s *Server) holdOrRelease(r *request, release bool) (any, uint64, error) {
	verb := "hold"
	if release {
		verb = "release"
	}
	var body structs.JobHoldTargets
	if err := decodeBody(r.Request, &body); err != nil {
		return nil, 0, err
	}
	if len(body.Targets) == 0 {
		return nil, 0, structs.NewError(structs.CodeInvalid, `no target in the request: expected {"targets": [{"id": "12"}, ...]}`)
	}
	if len(body.Targets) > structs.MaxHoldTargets {
		return nil, 0, structs.NewError(structs.CodeInvalid, "%d targets in one %s: the limit is %d", len(body.Targets), verb, structs.MaxHoldTargets)
	}
	// An operator's holds are admin holds (Slurm's JobHeldAdmin), and an
	// operator may hold and release any job; others need to manage the
	// job, as for a cancel. Without ACLs every caller is a user.
	admin := r.acl.Enabled() && (r.acl.IsOperator() || r.acl.IsManagement())
	var ids []string
	refs := map[string]string{} // job id -> A_N or id, for the answer
	// What each target sent, to tell afterwards which changed nothing.
	type sentTarget struct {
		unchanged structs.JobHoldUnchanged
		ids       []string
	}
	var sent []sentTarget
	var unchanged []structs.JobHoldUnchanged
	for _, t := range body.Targets {
		id := t.ID
		if id == "" {
			return nil, 0, structs.NewError(structs.CodeInvalid, "a %s target has no id", verb)
		}
		var members []*structs.Job
		if !t.Only {
			var err error
			if members, err = r.snap.JobsByArray(nil, id); err != nil {
				return nil, 0, err
			}
		}
		array := len(members) > 0
		if !array {
			j, err := jobOrNotFound(r.snap, nil, id)
			if err != nil {
				return nil, 0, err
			}
			members = []*structs.Job{j}
		}
		tg := sentTarget{unchanged: structs.JobHoldUnchanged{Ref: members[0].ArrayRef(), ID: members[0].ID}}
		if array {
			tg.unchanged = structs.JobHoldUnchanged{Ref: id, ID: id, Array: true}
		}
		pending := 0
		for _, j := range members {
			if !admin {
				if err := checkJob(r, j, acl.Manage, id); err != nil {
					return nil, 0, err
				}
			}
			// An array names its pending members (those held, on a
			// release); a job named alone must be pending, and the
			// store says so otherwise.
			if array && j.Status != structs.JobPending {
				continue
			}
			pending++
			if release && j.Status == structs.JobPending && j.Hold == nil {
				// Released already: left out of the entry, whose
				// release of a job not held would refuse every job.
				continue
			}
			ids = append(ids, j.ID)
			tg.ids = append(tg.ids, j.ID)
			refs[j.ID] = j.ArrayRef()
		}
		switch {
		case array && pending == 0 && !release:
			return nil, 0, structs.NewError(structs.CodeConflict, "job array %s has no pending job", id)
		case len(tg.ids) == 0:
			unchanged = append(unchanged, tg.unchanged)
		default:
			sent = append(sent, tg)
		}
	}
	var changed []string
	idx := r.snap.Index()
	if len(ids) > 0 {
		req := &structs.JobHoldRequest{JobIDs: ids, Release: release, Admin: admin, Now: time.Now().UTC()}
		if admin {
			req.By = r.acl.UserName()
			if req.By == "" {
				req.By = "operator"
			}
		} else if r.acl.Enabled() {
			req.By = r.acl.UserName()
		}
		resp, i, err := s.apply(fsm.JobHold, req)
		if err != nil {
			return nil, 0, err
		}
		var ok bool
		if changed, ok = resp.([]string); !ok && resp != nil {
			return nil, 0, fmt.Errorf("raft answered a %s with %T", verb, resp)
		}
		idx = i
	}
	if changed == nil {
		changed = []string{}
	}
	// A target none of whose jobs changed was as asked already: the
	// store leaves a job held already as it was, though the entry names
	// it. (A job not held was left out of a release above.)
	if len(sent) > 0 {
		done := make(map[string]bool, len(changed))
		for _, id := range changed {
			done[id] = true
		}
		for _, tg := range sent {
			if !slices.ContainsFunc(tg.ids, func(id string) bool { return done[id] }) {
				unchanged = append(unchanged, tg.unchanged)
			}
		}
	}
	var changedRefs []string
	for _, id := range changed {
		changedRefs = append(changedRefs, cmp.Or(refs[id], id))
	}
	switch n := len(changed); {
	case n == 1:
		r.audit = "job " + changed[0]
	case n > 1:
		r.audit = "jobs " + changed[0] + " and " + strconv.Itoa(n-1) + " more"
	}
	return &structs.JobHoldResponse{JobIDs: changed, Refs: changedRefs, Unchanged: unchanged, Admin: admin && !release, Index: idx}, idx, nil
}
