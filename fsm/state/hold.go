package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// HoldJobs holds or releases pending jobs (scontrol hold / release), all of
// them or none: an unknown id, a job that is not pending, a release of a
// job that is not held, or a release of an admin hold without req.Admin
// refuses the whole request and changes nothing. A held job's reason says
// so at once (the scheduler gives the same one); a released job's reason
// is cleared for the scheduler's next pass. Holding a held job again keeps
// its hold, made an admin hold when req.Admin. It answers the ids changed.
func (s *Store) HoldJobs(index uint64, req *structs.JobHoldRequest) ([]string, error) {
	if req == nil || len(req.JobIDs) == 0 {
		return nil, structs.NewError(structs.CodeInvalid, "hold jobs: the request names no job")
	}
	verb := "hold"
	if req.Release {
		verb = "release"
	}
	return s.changeJobs(index, verb, req.JobIDs, func(j *structs.Job) (*structs.Job, error) {
		if err := checkHold(j, req); err != nil {
			return nil, err
		}
		c, ok := heldCopy(j, req)
		if !ok {
			return nil, nil // held already, as asked
		}
		return c, nil
	})
}

// changeJobs writes change's new version of each job of ids (each once),
// all of them or none: an unknown id, or an error from change, refuses
// the whole request and changes nothing. change answers nil for a job it
// leaves as it is. It answers the ids changed, in the order given.
func (s *Store) changeJobs(index uint64, verb string, ids []string, change func(*structs.Job) (*structs.Job, error)) ([]string, error) {
	var changed []string
	err := s.write(func(txn *memdb.Txn) error {
		seen := map[string]bool{}
		var out []*structs.Job
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			j, err := jobByID(txn, nil, id)
			if err != nil {
				return err
			}
			if j == nil {
				return structs.NewError(structs.CodeNotFound, "%s: job %q not found", verb, id)
			}
			c, err := change(j)
			if err != nil {
				return err
			}
			if c == nil {
				continue
			}
			c.ModifyIndex = index
			out = append(out, c)
		}
		for _, c := range out {
			if err := txn.Insert(tableJobs, c); err != nil {
				return fmt.Errorf("%s job %s: %w", verb, c.ID, err)
			}
			changed = append(changed, c.ID)
		}
		if len(out) == 0 {
			return nil
		}
		return bumpIndex(txn, tableJobs, index)
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// checkHold says why req cannot hold or release j, or nil.
func checkHold(j *structs.Job, req *structs.JobHoldRequest) error {
	verb := "held"
	if req.Release {
		verb = "released"
	}
	if j.Status != structs.JobPending {
		return structs.NewError(structs.CodeConflict, "job %s is %s: only a pending job can be %s", j.ID, j.Status, verb)
	}
	if !req.Release {
		return nil
	}
	switch {
	case j.Hold == nil:
		return structs.NewError(structs.CodeConflict, "job %s is not held", j.ID)
	case j.Hold.Admin && !req.Admin:
		return structs.NewError(structs.CodeForbidden, "permission denied: job %s is held by an operator (%s), and only an operator can release it", j.ID, holder(j.Hold))
	}
	return nil
}

func holder(h *structs.JobHold) string {
	if h.By == "" {
		return "admin hold"
	}
	return "admin hold by " + h.By
}

// heldCopy is j held or released as req asks; false when nothing changes
// (a user hold asked of a job held already).
func heldCopy(j *structs.Job, req *structs.JobHoldRequest) (*structs.Job, bool) {
	// A shallow copy: stored jobs are read-only (see cancelledCopy).
	c := *j
	if req.Release {
		c.Hold = nil
		c.Reason, c.EstimatedStart, c.NodeFilters = "", time.Time{}, nil
		return &c, true
	}
	if j.Hold != nil && (j.Hold.Admin || !req.Admin) {
		return nil, false
	}
	by := req.By
	if by == "" {
		by = j.User
	}
	c.Hold = &structs.JobHold{By: by, Admin: req.Admin, Time: req.Now}
	setHeldReason(&c)
	return &c, true
}

// setHeldReason gives a held job the reason the scheduler's hold gate
// gives it.
func setHeldReason(j *structs.Job) {
	j.Reason, j.EstimatedStart, j.NodeFilters = structs.WaitHeld(j.Hold).Reason, time.Time{}, nil
}
