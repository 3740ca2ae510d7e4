package server

import (
	"cmp"
	"fmt"
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
		n := 0
		for _, j := range members {
			if !admin {
				if err := r.acl.CheckJob(j.ID, j.User, j.Group, acl.Manage); err != nil {
					return nil, 0, err
				}
			}
			// An array names its pending members (those held, on a
			// release); a job named alone must be pending, and the
			// store says so otherwise.
			if array && (j.Status != structs.JobPending || (release && j.Hold == nil)) {
				continue
			}
			ids = append(ids, j.ID)
			refs[j.ID] = j.ArrayRef()
			n++
		}
		if array && n == 0 {
			what := "pending"
			if release {
				what = "held"
			}
			return nil, 0, structs.NewError(structs.CodeConflict, "job array %s has no %s job", id, what)
		}
	}
	req := &structs.JobHoldRequest{JobIDs: ids, Release: release, Admin: admin, Now: time.Now().UTC()}
	if admin {
		req.By = r.acl.UserName()
		if req.By == "" {
			req.By = "operator"
		}
	} else if r.acl.Enabled() {
		req.By = r.acl.UserName()
	}
	resp, idx, err := s.apply(fsm.JobHold, req)
	if err != nil {
		return nil, 0, err
	}
	changed, ok := resp.([]string)
	if !ok && resp != nil {
		return nil, 0, fmt.Errorf("raft answered a %s with %T", verb, resp)
	}
	if changed == nil {
		changed = []string{}
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
	return &structs.JobHoldResponse{JobIDs: changed, Refs: changedRefs, Admin: admin && !release, Index: idx}, idx, nil
}
