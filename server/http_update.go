package server

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// jobUpdate changes pending jobs (scontrol update): POST /v1/jobs/update
// with {"targets": [{"id": "12"}, ...], "update": {"time_limit": "30m",
// ...}}. An array id names every pending member (unless "only": member 0
// alone). The caller must manage each job (its owner, or an admin of its
// group), and each job as updated must be one the caller could submit:
// the same checks as a submission, so an update never makes a job that a
// submission would refuse. All or none: one job that is not pending, or
// that the update would make invalid, refuses the whole request.
func (s *Server) jobUpdate(r *request) (any, uint64, error) {
	var body structs.JobUpdateTargets
	if err := decodeBody(r.Request, &body); err != nil {
		return nil, 0, err
	}
	if len(body.Targets) == 0 {
		return nil, 0, structs.NewError(structs.CodeInvalid, `no target in the request: expected {"targets": [{"id": "12"}, ...], "update": {...}}`)
	}
	if len(body.Targets) > structs.MaxUpdateTargets {
		return nil, 0, structs.NewError(structs.CodeInvalid, "%d targets in one update: the limit is %d", len(body.Targets), structs.MaxUpdateTargets)
	}
	if body.Update.Empty() {
		return nil, 0, structs.NewError(structs.CodeInvalid, "the update changes nothing: expected at least one of name, queue, priority, time_limit, gpus, cpu, memory_bytes, nodes")
	}
	var ids []string
	seen := map[string]bool{}
	refs := map[string]string{} // job id -> A_N or id, for the answer
	shapes := map[string]unfitShape{}
	for _, t := range body.Targets {
		if t.ID == "" {
			return nil, 0, structs.NewError(structs.CodeInvalid, "an update target has no id")
		}
		var members []*structs.Job
		if !t.Only {
			var err error
			if members, err = r.snap.JobsByArray(nil, t.ID); err != nil {
				return nil, 0, err
			}
		}
		array := len(members) > 0
		if !array {
			j, err := jobOrNotFound(r.snap, nil, t.ID)
			if err != nil {
				return nil, 0, err
			}
			members = []*structs.Job{j}
		}
		n := 0
		for _, j := range members {
			if err := checkJob(r, j, acl.Manage, t.ID); err != nil {
				return nil, 0, err
			}
			if j.Status != structs.JobPending {
				if array {
					continue // an array names its pending members
				}
				return nil, 0, structs.NewError(structs.CodeConflict, "job %s is %s: only a pending job can be updated", j.ID, j.Status)
			}
			if j.IsService() {
				return nil, 0, structs.NewError(structs.CodeInvalid, "job %s is a service: change it with nai service, which rolls its replicas over", j.ID)
			}
			if err := checkUpdated(r.snap, j, &body.Update); err != nil {
				return nil, 0, err
			}
			n++
			if !seen[j.ID] {
				seen[j.ID] = true
				ids = append(ids, j.ID)
				refs[j.ID] = j.ArrayRef()
				as := structs.Job{Type: j.Type, Resources: j.Resources, Queue: j.Queue}
				body.Update.Apply(&as)
				shapes[j.ID] = shapeOfJob(as.Type, as.Resources, as.Queue)
			}
		}
		if array && n == 0 {
			return nil, 0, structs.NewError(structs.CodeConflict, "job array %s has no pending job", t.ID)
		}
	}
	resp, idx, err := s.apply(fsm.JobUpdate, &structs.JobUpdateRequest{JobIDs: ids, Update: body.Update})
	if err != nil {
		return nil, 0, err
	}
	changed, ok := resp.([]string)
	if !ok && resp != nil {
		return nil, 0, fmt.Errorf("raft answered an update with %T", resp)
	}
	if changed == nil {
		changed = []string{}
	}
	switch n := len(changed); {
	case n == 1:
		r.audit = "job " + changed[0] + ": " + body.Update.Fields()
	case n > 1:
		r.audit = "jobs " + changed[0] + " and " + strconv.Itoa(n-1) + " more: " + body.Update.Fields()
	}
	names := make([]string, len(changed))
	for i, id := range changed {
		names[i] = cmp.Or(refs[id], id)
	}
	// A job that, as updated, no node could ever run is updated and
	// waits, as a submission of it would: the answer says so.
	groups := groupShapes(len(changed), func(i int) unfitShape { return shapes[changed[i]] }, names)
	warnings := unfitWarnings(r.snap, groups, len(changed), "")
	return &structs.JobUpdateResponse{JobIDs: changed, Refs: names, Index: idx, Warnings: warnings}, idx, nil
}

// checkUpdated is what a submission of j as updated would say of it: its
// own checks, and its queue's (the queue must exist, take the job's group,
// its GPUs and its time limit), which a registration makes in the state
// machine and an update must make here.
func checkUpdated(snap *state.Snapshot, j *structs.Job, u *structs.JobUpdate) error {
	c := j.Copy()
	u.Apply(c)
	errs := []error{u.CheckGPUs(j), c.Validate(), c.CheckSubmit()}
	// Canonicalize fills what a submission leaves out; an update sets
	// what it names, so a 0 there is a 0 in the job.
	if u.CPU != nil && !(*u.CPU > 0) {
		errs = append(errs, fmt.Errorf("cpu %v: expected more than 0 cores", *u.CPU))
	}
	if u.Nodes != nil && *u.Nodes < 1 {
		errs = append(errs, fmt.Errorf("nodes %d: expected 1 or more", *u.Nodes))
	}
	if u.MemoryBytes != nil && *u.MemoryBytes < structs.MinMemory {
		errs = append(errs, fmt.Errorf("memory %s: expected at least %s", structs.FormatSize(*u.MemoryBytes), structs.FormatSize(structs.MinMemory)))
	}
	if err := errors.Join(errs...); err != nil {
		return structs.NewError(structs.CodeInvalid, "job %s as updated would be invalid: %v", j.ID, err)
	}
	name := c.Queue
	if name == "" {
		name = structs.DefaultQueueName
	}
	q, err := snap.QueueByName(nil, name)
	if err != nil {
		return err
	}
	if q == nil {
		if name == structs.DefaultQueueName {
			return nil
		}
		return structs.NewError(structs.CodeInvalid, "job %s: queue %q does not exist (see `nai operator queue list`)", j.ID, name)
	}
	admitted := c.Copy()
	if err := q.Admit(admitted); err != nil {
		return structs.NewError(structs.CodeInvalid, "job %s as updated: %v", j.ID, err)
	}
	if admitted.TimeLimit != c.TimeLimit {
		// A submission without a limit gets the queue's default or
		// maximum; an update does not pick one for it.
		return structs.NewError(structs.CodeInvalid, "job %s as updated has no time limit, and queue %s gives every job one (%s): give it with -time",
			j.ID, q.Name, time.Duration(admitted.TimeLimit))
	}
	return nil
}
