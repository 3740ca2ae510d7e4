package server

import (
	"slices"
	"strconv"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// jobCancelMany cancels many jobs and sweeps at once: what `nai job cancel
// -u USER` selects, in one raft entry (two when some targets are member 0
// of a sweep alone) instead of one DELETE and one commit per job. Targets
// that name no job are reported, and so are the jobs named that had already
// ended (a target with nothing left to stop is not cancelled); the others
// are cancelled. A target the caller may not cancel refuses the whole
// request, so nothing changes then.
func (s *Server) jobCancelMany(r *request) (any, uint64, error) {
	var body structs.JobCancelManyRequest
	if err := decodeBody(r.Request, &body); err != nil {
		return nil, 0, err
	}
	if len(body.Targets) == 0 {
		return nil, 0, structs.NewError(structs.CodeInvalid, `no target in the request: expected {"targets": [{"id": "12"}, ...]}`)
	}
	if len(body.Targets) > structs.MaxCancelTargets {
		return nil, 0, structs.NewError(structs.CodeInvalid, "%d targets in one cancel: the limit is %d", len(body.Targets), structs.MaxCancelTargets)
	}
	out := &structs.JobCancelManyResponse{Cancelled: []string{}, NotFound: []string{}, Ended: []structs.EndedJob{}}
	// Member-0-alone targets go in an entry of their own: Only is one flag
	// for a whole request.
	var whole, only []string
	for _, t := range body.Targets {
		if t.ID == "" {
			return nil, 0, structs.NewError(structs.CodeInvalid, "a cancel target has no id")
		}
		var members []*structs.Job
		if !t.Only {
			var err error
			if members, err = r.snap.JobsByArray(nil, t.ID); err != nil {
				return nil, 0, err
			}
		}
		if len(members) == 0 {
			j, err := r.snap.JobByID(nil, t.ID)
			if err != nil {
				return nil, 0, err
			}
			if j == nil {
				out.NotFound = append(out.NotFound, t.ID)
				continue
			}
			members = []*structs.Job{j}
		}
		// A target the caller may not even see names no job, to it
		// (hidden.go): reported as not found, as one that names nothing.
		if slices.ContainsFunc(members, func(j *structs.Job) bool { return r.acl.HidesJob(j.User, j.Group) }) {
			out.NotFound = append(out.NotFound, t.ID)
			continue
		}
		for _, j := range members {
			if err := checkJob(r, j, acl.Manage, t.ID); err != nil {
				return nil, 0, err
			}
		}
		live, ended := structs.SplitEnded(t.ID, members)
		out.Ended = append(out.Ended, ended...)
		switch {
		case len(live) == 0:
			// Nothing left to stop: reported in Ended, not cancelled.
		case t.Only:
			only = append(only, t.ID)
		default:
			whole = append(whole, t.ID)
		}
	}
	now := time.Now().UTC()
	for _, g := range []struct {
		ids  []string
		only bool
	}{{whole, false}, {only, true}} {
		if len(g.ids) == 0 {
			continue
		}
		req := &structs.JobCancelRequest{JobIDs: g.ids, Reason: structs.ExitCancelled, Only: g.only, Now: now}
		_, idx, err := s.apply(fsm.JobCancel, req)
		if err != nil {
			return nil, 0, err
		}
		out.Cancelled = append(out.Cancelled, g.ids...)
		out.Index = idx
	}
	if out.Index == 0 {
		out.Index = r.snap.Index() // nothing written
	}
	switch n := len(out.Cancelled); {
	case n == 1:
		r.audit = "job " + out.Cancelled[0]
	case n > 1:
		r.audit = "jobs " + out.Cancelled[0] + " and " + strconv.Itoa(n-1) + " more"
	}
	return out, out.Index, nil
}
