package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// UpdateJobs applies an update to pending jobs (scontrol update), all of
// them or none: an unknown id or a job that is no longer pending refuses
// the whole request and changes nothing. The values were checked on the
// API path; here they are only written. An updated job's reason and estimate
// are cleared for the scheduler's next pass (a held job keeps its held
// reason). It answers the ids changed.
func (s *Store) UpdateJobs(index uint64, req *structs.JobUpdateRequest) ([]string, error) {
	if req == nil || len(req.JobIDs) == 0 {
		return nil, structs.NewError(structs.CodeInvalid, "update jobs: the request names no job")
	}
	var changed []string
	err := s.write(func(txn *memdb.Txn) error {
		seen := map[string]bool{}
		var out []*structs.Job
		for _, id := range req.JobIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			j, err := jobByID(txn, nil, id)
			if err != nil {
				return err
			}
			switch {
			case j == nil:
				return structs.NewError(structs.CodeNotFound, "update: job %q not found", id)
			case j.Status != structs.JobPending:
				return structs.NewError(structs.CodeConflict, "job %s is %s: only a pending job can be updated", j.ID, j.Status)
			}
			// A deep copy: the members of a sweep share their spec's
			// maps and slices, which are read-only.
			c := j.Copy()
			req.Update.Apply(c)
			if c.Hold != nil {
				setHeldReason(c)
			} else {
				c.Reason, c.EstimatedStart, c.NodeFilters = "", time.Time{}, nil
			}
			c.ModifyIndex = index
			out = append(out, c)
		}
		for _, c := range out {
			if err := txn.Insert(tableJobs, c); err != nil {
				return fmt.Errorf("update job %s: %w", c.ID, err)
			}
			changed = append(changed, c.ID)
		}
		return bumpIndex(txn, tableJobs, index)
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}
