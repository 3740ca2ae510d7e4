package state

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// RegisterJobs adds the jobs of one submission. Each gets the next id from
// the counter kept in state; a submission of several jobs that carry sweep
// values becomes an array whose id is its first member's. The request is
// refused whole (nothing written) when any job is invalid.
//
// A sweep may come as one spec (req.Sweep) instead: its members are
// expanded here, the same on every server, and share the maps and slices
// of the spec's template that they do not change (jobs in the store are
// read-only), so a thousand pending members hold one copy of the job.
func (s *Store) RegisterJobs(index uint64, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	if req == nil || (len(req.Jobs) == 0 && req.Sweep == nil) {
		return nil, structs.NewError(structs.CodeInvalid, "register jobs: the request has no jobs")
	}
	in, expanded := req.Jobs, false
	var invalid []error // a sweep's members' Validate answers, nil when all are valid
	if req.Sweep != nil {
		if len(req.Jobs) > 0 {
			return nil, structs.NewError(structs.CodeInvalid, "register jobs: the request has both jobs and a sweep")
		}
		// Each member made its own where the store changes it,
		// canonicalized and validated, ahead on the leader
		// (SweepSpec.Prepare).
		var err error
		if in, invalid, err = req.Sweep.ExpandValid(); err != nil {
			return nil, structs.NewError(structs.CodeInvalid, "register jobs: %v", err)
		}
		expanded = true
	}
	var resp *structs.JobRegisterResponse
	err := s.write(func(txn *memdb.Txn) error {
		jobs := make([]*structs.Job, len(in))
		var errs []error
		services := map[string]bool{}
		var queue queueLookup
		for i, in := range in {
			if in == nil {
				errs = append(errs, fmt.Errorf("job %d: missing", i))
				continue
			}
			j := in
			if !expanded {
				j = in.Copy()
				j.Canonicalize()
			}
			// Name the member only when there are several to tell apart
			// (and only for an error: not a Sprintf for each member).
			label := func() string {
				switch {
				case expanded:
					return fmt.Sprintf("sweep member %d (%s) is invalid: ", i, j.Name)
				case len(jobs) > 1:
					return fmt.Sprintf("job %d (%s): ", i, j.Name)
				}
				return ""
			}
			switch {
			case !expanded:
				if err := j.Validate(); err != nil {
					errs = append(errs, fmt.Errorf("%s%w", label(), err))
				}
			case invalid != nil && invalid[i] != nil:
				errs = append(errs, fmt.Errorf("%s%w", label(), invalid[i]))
			}
			if err := admitJob(txn, j, &queue); err != nil {
				errs = append(errs, fmt.Errorf("%s%w", label(), err))
			}
			for _, d := range j.DependsOn {
				dep, err := jobByID(txn, nil, d.JobID)
				if err != nil {
					return err
				}
				if dep == nil && d.JobID != "" {
					errs = append(errs, fmt.Errorf("%sdepends_on names job %q, which does not exist", label(), d.JobID))
				}
			}
			if err := resolveArtifactRefs(txn, j); err != nil {
				errs = append(errs, fmt.Errorf("%s%w", label(), err))
			}
			if err := resolvePluginRef(txn, j); err != nil {
				errs = append(errs, fmt.Errorf("%s%w", label(), err))
			}
			if err := checkServiceName(txn, j, services); err != nil {
				if len(errs) == 0 && structs.CodeOf(err) == structs.CodeConflict {
					return err
				}
				errs = append(errs, fmt.Errorf("%s%w", label(), err))
			}
			jobs[i] = j
		}
		if err := errors.Join(errs...); err != nil {
			return structs.NewError(structs.CodeInvalid, "register jobs: %v", err)
		}

		// Jobs that carry sweep values are an array: two or more, or
		// one when the request says so (req.Array, raft log format 7:
		// the array of one of an #SBATCH --array=5).
		sweep := len(jobs) > 1 || req.Array
		for _, j := range jobs {
			if len(j.SweepValues) == 0 {
				sweep = false
			}
		}
		resp = &structs.JobRegisterResponse{Index: index}
		first, err := reserveCounter(txn, counterJobID, len(jobs))
		if err != nil {
			return err
		}
		var held structs.WaitStatus // the last begin time's reason
		for i, j := range jobs {
			n := first + uint64(i)
			resetJobState(j)
			// A job held by its begin time says so from the start, with
			// the reason and estimated start the scheduler gives it (the
			// first gate that can hold a valid job in an existing queue):
			// the scheduler's first pass then has nothing to write for it,
			// where it rewrote every member of a sweep held so, a second
			// raft entry as large as the registration, right after it.
			if j.BeginTime.After(req.Now) {
				if !held.EstimatedStart.Equal(j.BeginTime) {
					held = structs.WaitBeginAt(j.BeginTime)
				}
				j.Reason, j.EstimatedStart = held.Reason, held.EstimatedStart
			}
			// A job submitted held (sbatch --hold) is held by its owner,
			// whatever the submitter wrote in the hold, and says so.
			if j.Hold != nil {
				j.Hold = &structs.JobHold{By: j.User, Time: req.Now}
				setHeldReason(j)
			}
			j.ID = strconv.FormatUint(n, 10)
			j.SubmitTime = req.Now
			j.CreateIndex, j.ModifyIndex = index, index
			j.ArrayID, j.ArrayIndex = "", 0
			if sweep {
				j.ArrayID = jobs[0].ID
				j.ArrayIndex = i
			}
			if err := txn.Insert(tableJobs, j); err != nil {
				return fmt.Errorf("insert job %s: %w", j.ID, err)
			}
			resp.JobIDs = append(resp.JobIDs, j.ID)
		}
		if sweep {
			resp.ArrayID = jobs[0].ID
		}
		return bumpIndex(txn, tableJobs, index)
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// resetJobState clears every field the cluster owns, whatever the submitter
// put there.
func resetJobState(j *structs.Job) {
	j.Status = structs.JobPending
	j.Reason = ""
	j.ExitCode = nil
	j.ExitReason = ""
	j.NodeID, j.NodeName, j.AllocID = "", "", ""
	j.GPUs = []int{}
	j.Attempt = 0
	j.StartTime, j.EndTime, j.EstimatedStart = time.Time{}, time.Time{}, time.Time{}
	j.NodeFilters = nil
	j.Metrics = nil
	j.NonFiniteMetrics = nil
	j.MetricsSkippedLines, j.MetricsCounted = 0, false
	j.OutputDigest, j.OutputSize = "", 0
	j.OutputFiles, j.OutputVersion = 0, 0
	j.OutputServe = nil
	j.Version, j.Rollout = 0, nil
	if j.IsService() {
		j.Version = 1
	}
}

// CancelJobs stops jobs. A pending job is cancelled at once; a running one
// has its live allocations asked to stop (DesiredReason req.Reason) and
// stays running until its client reports them ended. Terminal jobs are left
// alone. An unknown id refuses the whole request.
//
// req.Reason says who stops the jobs. Empty or "cancelled" is a user's
// cancel: an array id (its first member's id) then cancels every member.
// "preempted" stops running jobs only, so a job requeued meanwhile is not
// ended by a stale preemption. Any other reason (the scheduler ending a job
// whose dependency can never be met) becomes the cancelled job's Reason.
func (s *Store) CancelJobs(index uint64, req *structs.JobCancelRequest) error {
	if req == nil || len(req.JobIDs) == 0 {
		return structs.NewError(structs.CodeInvalid, "cancel jobs: the request names no job")
	}
	reason := req.Reason
	if reason == "" {
		reason = structs.ExitCancelled
	}
	return s.write(func(txn *memdb.Txn) error {
		var targets []*structs.Job
		seen := map[string]bool{}
		for _, id := range req.JobIDs {
			members, err := jobsOfArrayOrSelf(txn, id, reason == structs.ExitCancelled && !req.Only)
			if err != nil {
				return err
			}
			if len(members) == 0 {
				return structs.NewError(structs.CodeNotFound, "cancel jobs: job %q not found", id)
			}
			for _, j := range members {
				if !seen[j.ID] {
					seen[j.ID] = true
					targets = append(targets, j)
				}
			}
		}
		return cancelJobs(txn, index, targets, reason, req.Now)
	})
}

// cancelJobs ends pending targets at once and asks running ones' live
// allocations to stop for reason, in txn.
func cancelJobs(txn *memdb.Txn, index uint64, targets []*structs.Job, reason structs.ExitReason, now time.Time) error {
	jobsChanged, allocsChanged := false, false
	ends := jobEnds{}
	for _, j := range targets {
		switch j.Status {
		case structs.JobPending:
			if reason == structs.ExitPreempted {
				continue
			}
			c := cancelledCopy(j, now, reason, "cancelled by user")
			c.ModifyIndex = index
			if err := ends.count(txn, c, now); err != nil {
				return err
			}
			if err := txn.Insert(tableJobs, c); err != nil {
				return fmt.Errorf("cancel job %s: %w", j.ID, err)
			}
			jobsChanged = true
		case structs.JobRunning:
			// What stops a running job may write usage rows itself.
			if err := ends.flush(txn, index); err != nil {
				return err
			}
			if j.IsService() {
				if reason == structs.ExitPreempted {
					continue // its replicas are preempted one by one, not the service
				}
				changed, err := stopService(txn, index, j, reason, now)
				if err != nil {
					return err
				}
				jobsChanged = true
				allocsChanged = allocsChanged || changed
				continue
			}
			n, err := stopLiveAllocs(txn, index, j.ID, "", reason)
			if err != nil {
				return err
			}
			allocsChanged = allocsChanged || n > 0
		}
	}
	if err := ends.flush(txn, index); err != nil {
		return err
	}
	if jobsChanged {
		if err := bumpIndex(txn, tableJobs, index); err != nil {
			return err
		}
	}
	if allocsChanged {
		return bumpIndex(txn, tableAllocs, index)
	}
	return nil
}

// jobsOfArrayOrSelf resolves a cancel target: the members of the array with
// that id when arrays are wanted, or else the job itself.
func jobsOfArrayOrSelf(txn *memdb.Txn, id string, arrays bool) ([]*structs.Job, error) {
	if arrays {
		members, err := jobsOfArray(txn, nil, id)
		if err != nil {
			return nil, err
		}
		if len(members) > 0 {
			return members, nil
		}
	}
	j, err := jobByID(txn, nil, id)
	if err != nil || j == nil {
		return nil, err
	}
	return []*structs.Job{j}, nil
}

// stopLiveAllocs asks every live allocation of a job, except the one with id
// except, to stop for reason, and returns how many it changed.
func stopLiveAllocs(txn *memdb.Txn, index uint64, jobID, except string, reason structs.ExitReason) (int, error) {
	allocs, err := allocsOfJob(txn, nil, jobID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range allocs {
		if a.ID == except || a.Terminal() || a.DesiredStatus == structs.DesiredStop {
			continue
		}
		c := a.Copy()
		c.DesiredStatus = structs.DesiredStop
		c.DesiredReason = reason
		c.ModifyIndex, c.ServerIndex = index, index
		if err := txn.Insert(tableAllocs, c); err != nil {
			return n, fmt.Errorf("stop alloc %s: %w", a.ID, err)
		}
		n++
	}
	return n, nil
}

// cancelledCopy is a job ended by a cancel (or a stop): cancelled at now,
// with why as its reason unless the cancel gives its own (a preemption, a
// dependency that can never be met).
func cancelledCopy(j *structs.Job, now time.Time, reason structs.ExitReason, why string) *structs.Job {
	// A shallow copy: stored jobs are read-only, so the new row shares
	// the old one's maps and slices (as setWaiting's does) and only the
	// fields set here are its own. A deep copy was a third of cancelling
	// a sweep's members.
	cp := *j
	c := &cp
	c.Status = structs.JobCancelled
	c.EndTime = now
	c.ExitReason = structs.ExitCancelled
	c.Reason = why
	if reason != structs.ExitCancelled {
		c.Reason = string(reason)
	}
	c.EstimatedStart = time.Time{}
	c.NodeFilters = nil
	return c
}
