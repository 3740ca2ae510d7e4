package state

import (
	"time"

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
	return s.changeJobs(index, "update", req.JobIDs, func(j *structs.Job) (*structs.Job, error) {
		if j.Status != structs.JobPending {
			return nil, structs.NewError(structs.CodeConflict, "job %s is %s: only a pending job can be updated", j.ID, j.Status)
		}
		// A deep copy: the members of a sweep share their spec's maps
		// and slices, which are read-only.
		c := j.Copy()
		req.Update.Apply(c)
		if c.Hold != nil {
			setHeldReason(c)
		} else {
			c.Reason, c.EstimatedStart, c.NodeFilters = "", time.Time{}, nil
		}
		return c, nil
	})
}
