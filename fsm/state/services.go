package state

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// Services are jobs of type service (structs/service.go). Their replicas
// are their allocations: each has a replica number and the service version
// it runs (Allocation.Replica, JobVersion), and its id is "<job>.<n>" with
// n one more than the job's Attempt, which for a service counts
// placements rather than retries. A service never completes: a replica
// that ends (its node lost, preempted, drained) is placed again by the
// scheduler, which sees the service short of replicas; a replica whose
// process exits is restarted by its client and stays the same allocation.
//
// Rollouts: a new revision (model, command) becomes the job's spec with the
// next version; the scheduler places replicas of it beside the old ones;
// once as many of the new ones are healthy as the service wants (clients
// report health through AllocUpdate), the old ones are asked to stop, in
// the same transaction. A rollout whose new replicas are not healthy by
// its deadline is rolled back by the leader (ServiceRollback): the old
// revision is the spec again and the new replicas stop.

// Services returns the services that have not ended, in numeric id order.
func (sn *Snapshot) Services(ws memdb.WatchSet) ([]*structs.Job, error) {
	return list[structs.Job](sn.txn, ws, tableJobs, "service", true)
}

// ServiceByName returns the live service of that name, or nil.
func (sn *Snapshot) ServiceByName(ws memdb.WatchSet, name string) (*structs.Job, error) {
	return serviceByName(sn.txn, ws, name)
}

func serviceByName(txn *memdb.Txn, ws memdb.WatchSet, name string) (*structs.Job, error) {
	svcs, err := list[structs.Job](txn, ws, tableJobs, "service", true)
	if err != nil {
		return nil, err
	}
	for _, j := range svcs {
		if j.Name == name {
			return j, nil
		}
	}
	return nil, nil
}

// checkServiceName refuses a second live service of one name: the gateway
// finds services by name.
func checkServiceName(txn *memdb.Txn, j *structs.Job, taken map[string]bool) error {
	if !j.IsService() {
		return nil
	}
	old, err := serviceByName(txn, nil, j.Name)
	if err != nil {
		return err
	}
	if old != nil || taken[j.Name] {
		id := "another job of this request"
		if old != nil {
			id = "job " + old.ID
		}
		return structs.NewError(structs.CodeConflict,
			"a service named %q already runs (%s): change it with `nai service scale` or `nai service rollout`, or stop it first", j.Name, id)
	}
	taken[j.Name] = true
	return nil
}

// liveReplicas returns a service's allocations that hold resources and are
// meant to run, by replica, for one version.
func liveReplicas(txn *memdb.Txn, jobID string, version int) (map[int]*structs.Allocation, error) {
	allocs, err := allocsOfJob(txn, nil, jobID)
	if err != nil {
		return nil, err
	}
	out := map[int]*structs.Allocation{}
	for _, a := range allocs {
		if !a.Terminal() && a.DesiredStatus == structs.DesiredRun && a.JobVersion == version {
			out[a.Replica] = a
		}
	}
	return out, nil
}

// placeReplicas writes the placements of one service in a plan, each on
// its own: a replica whose slot is taken by now, whose node no longer fits
// it, or whose attempt is stale is dropped without the others.
func (w *writer) placeReplicas(p *planCheck, job *structs.Job, allocs []*structs.Allocation) ([]string, error) {
	if job.Status.Terminal() || job.Service == nil {
		return nil, nil
	}
	held, err := liveReplicas(w.txn, job.ID, job.Version)
	if err != nil {
		return nil, err
	}
	var ids []string
	attempt := job.Attempt
	for _, a := range allocs {
		if a.Attempt <= job.Attempt || a.ID != job.ID+"."+strconv.Itoa(a.Attempt) || a.JobVersion != job.Version ||
			a.Replica < 0 || a.Replica >= job.Service.Replicas || held[a.Replica] != nil {
			continue
		}
		if old, err := allocByID(w.txn, nil, a.ID); err != nil || old != nil {
			if err != nil {
				return nil, err
			}
			continue // already placed (a plan applied twice)
		}
		node, err := first[structs.Node](w.txn, nil, tableNodes, "id", a.NodeID)
		if err != nil {
			return nil, err
		}
		if node == nil || !node.Schedulable() {
			continue
		}
		use, err := p.nodeUse(node.ID)
		if err != nil {
			return nil, err
		}
		if !fits(node, use, job, a.GPUs) {
			continue
		}
		use.take(job, a.GPUs)
		c, err := w.writeAlloc(job, a, node)
		if err != nil {
			return nil, err
		}
		held[a.Replica] = c
		ids = append(ids, c.ID)
		attempt = max(attempt, a.Attempt)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	j := job.Copy()
	if j.Status == structs.JobPending {
		j.Status = structs.JobRunning
		j.StartTime = w.now
	}
	lead := held[0]
	if lead == nil {
		lead = held[firstKey(held)]
	}
	j.NodeID, j.NodeName, j.AllocID = lead.NodeID, lead.NodeName, lead.ID
	j.GPUs = slices.Clone(lead.GPUs)
	j.Attempt = attempt
	if len(held) >= j.Service.Replicas {
		j.Reason = ""
		j.EstimatedStart = time.Time{}
		j.NodeFilters = nil
	}
	if err := w.putJob(j); err != nil {
		return nil, fmt.Errorf("place replicas of service %s: %w", job.ID, err)
	}
	return ids, nil
}

func firstKey(m map[int]*structs.Allocation) int {
	k := -1
	for r := range m {
		if k < 0 || r < k {
			k = r
		}
	}
	return k
}

// replicaChanged settles what a client report about a service replica
// means for the service: a rollout completes once enough new replicas are
// healthy; a replica that ended is noted (the scheduler places another).
func (w *writer) replicaChanged(job *structs.Job, a *structs.Allocation) error {
	if job.Status.Terminal() {
		return nil
	}
	if a.Terminal() && a.DesiredStatus == structs.DesiredRun && a.JobVersion == job.Version {
		c := job.Copy()
		why := string(a.ClientStatus.ExitReason)
		if why == "" {
			why = string(a.ClientStatus.Status)
		}
		c.Reason = fmt.Sprintf("replica %d (%s on %s) ended: %s; placing another", a.Replica, a.ID, a.NodeName, why)
		if err := w.putJob(c); err != nil {
			return err
		}
		job = c
	}
	return w.maybeCompleteRollout(job)
}

// maybeCompleteRollout ends a running rollout whose new replicas are
// healthy, as many as the service wants: the old replicas are asked to
// stop (the gateways stop sending them requests at once).
func (w *writer) maybeCompleteRollout(job *structs.Job) error {
	r := job.Rollout
	if r == nil || r.Status != structs.RolloutRunning || job.Service == nil {
		return nil
	}
	allocs, err := allocsOfJob(w.txn, nil, job.ID)
	if err != nil {
		return err
	}
	healthy := 0
	for _, a := range allocs {
		if !a.Terminal() && a.DesiredStatus == structs.DesiredRun && a.JobVersion == job.Version &&
			a.ClientStatus.Status == structs.AllocRunning && a.ClientStatus.Service != nil && a.ClientStatus.Service.Healthy {
			healthy++
		}
	}
	if healthy < job.Service.Replicas {
		return nil
	}
	stopped := 0
	for _, a := range allocs {
		if a.Terminal() || a.DesiredStatus == structs.DesiredStop || a.JobVersion == job.Version {
			continue
		}
		c := a.Copy()
		c.DesiredStatus, c.DesiredReason = structs.DesiredStop, structs.ExitReplaced
		if err := w.putAlloc(c); err != nil {
			return err
		}
		stopped++
	}
	j := job.Copy()
	j.Rollout.Status = structs.RolloutComplete
	j.Rollout.EndTime = w.now
	// Only people read this text (nothing compares it), so a server of an
	// older version that wrote "1 replicas" for the same entry holds the
	// same state in every other respect.
	j.Rollout.Reason = fmt.Sprintf("%d %s of version %d healthy; %d of version %d stopped", healthy, plural(healthy, "replica", "replicas"), j.Version, stopped, r.FromVersion)
	return w.putJob(j)
}

// stopService ends a running service at once: it is cancelled (so nothing
// places its replicas again) and every live replica is asked to stop.
func stopService(txn *memdb.Txn, index uint64, j *structs.Job, reason structs.ExitReason, now time.Time) (bool, error) {
	n, err := stopLiveAllocs(txn, index, j.ID, "", reason)
	if err != nil {
		return false, err
	}
	c := cancelledCopy(j, now, reason, "stopped by user")
	if c.Rollout != nil && c.Rollout.Status == structs.RolloutRunning {
		c.Rollout.Status, c.Rollout.EndTime, c.Rollout.Reason = structs.RolloutRolledBack, now, "the service was stopped"
	}
	c.ModifyIndex = index
	if err := txn.Insert(tableJobs, c); err != nil {
		return false, fmt.Errorf("stop service %s: %w", j.ID, err)
	}
	return n > 0, nil
}

// liveService returns the service with id, or a coded error when there is
// none or it has ended.
func liveService(txn *memdb.Txn, id string) (*structs.Job, error) {
	j, err := jobByID(txn, nil, id)
	if err != nil {
		return nil, err
	}
	switch {
	case j == nil:
		return nil, structs.NewError(structs.CodeNotFound, "job %q not found", id)
	case !j.IsService() || j.Service == nil:
		return nil, structs.NewError(structs.CodeInvalid, "job %s is a batch job, not a service", id)
	case j.Status.Terminal():
		return nil, structs.NewError(structs.CodeConflict, "service %s (job %s) has ended (%s)", j.Name, id, j.Status)
	}
	return j, nil
}

// ScaleService sets how many replicas a service runs. Replicas numbered
// from the new count up are asked to stop (scaled-down); the scheduler
// places the missing ones.
func (s *Store) ScaleService(index uint64, req *structs.ServiceScaleRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "scale service: empty request")
	}
	if req.Replicas < 1 || req.Replicas > structs.MaxReplicas {
		return structs.NewError(structs.CodeInvalid, "replicas %d is out of range: expected 1 to %d (stop a service with `nai service stop`)", req.Replicas, structs.MaxReplicas)
	}
	return s.write(func(txn *memdb.Txn) error {
		job, err := liveService(txn, req.JobID)
		if err != nil {
			return err
		}
		w := &writer{txn: txn, index: index, now: req.Now}
		c := job.Copy()
		c.Service.Replicas = req.Replicas
		if err := w.putJob(c); err != nil {
			return err
		}
		allocs, err := allocsOfJob(txn, nil, job.ID)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			if a.Terminal() || a.DesiredStatus == structs.DesiredStop || a.Replica < req.Replicas {
				continue
			}
			ac := a.Copy()
			ac.DesiredStatus, ac.DesiredReason = structs.DesiredStop, structs.ExitScaledDown
			if err := w.putAlloc(ac); err != nil {
				return err
			}
		}
		if err := w.maybeCompleteRollout(c); err != nil {
			return err
		}
		return w.finish()
	})
}

// StartRollout makes a new revision the service's spec, with the next
// version. With replicas of the old version running, the rollout runs
// until the new ones are healthy (or its deadline passes); without, it is
// complete at once.
func (s *Store) StartRollout(index uint64, req *structs.ServiceRolloutRequest) (*structs.ServiceResponse, error) {
	if req == nil {
		return nil, structs.NewError(structs.CodeInvalid, "roll out service: empty request")
	}
	if err := req.Revision.Task.Validate(); err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "roll out service: %v", err)
	}
	var resp *structs.ServiceResponse
	err := s.write(func(txn *memdb.Txn) error {
		job, err := liveService(txn, req.JobID)
		if err != nil {
			return err
		}
		if r := job.Rollout; r != nil && r.Status == structs.RolloutRunning {
			return structs.NewError(structs.CodeConflict, "service %s is rolling out to version %d (%s) already: wait until it completes or is rolled back", job.Name, r.ToVersion, r.ToModel)
		}
		c := job.Copy()
		from := structs.RevisionOf(job)
		req.Revision.Apply(c)
		if err := resolveArtifactRefs(txn, c); err != nil {
			return err
		}
		if revisionsEqual(from, structs.RevisionOf(c)) {
			return structs.NewError(structs.CodeConflict, "service %s already runs %s with this command: nothing to roll out", job.Name, orNone(from.ModelLabel()))
		}
		next := job.Version + 1
		if job.Rollout != nil {
			next = max(next, job.Rollout.ToVersion+1)
		}
		old, err := liveReplicas(txn, job.ID, job.Version)
		if err != nil {
			return err
		}
		r := &structs.Rollout{
			FromVersion: job.Version, ToVersion: next, Status: structs.RolloutRunning, From: from,
			FromModel: from.ModelLabel(), ToModel: structs.RevisionOf(c).ModelLabel(),
			StartTime: req.Now, Deadline: req.Deadline,
		}
		if len(old) == 0 {
			r.Status, r.EndTime, r.Reason = structs.RolloutComplete, req.Now, "no replica of the old version ran"
		}
		c.Rollout = r
		c.Version = next
		c.Service.ModelCommand = req.ModelCommand
		w := &writer{txn: txn, index: index, now: req.Now}
		if err := w.putJob(c); err != nil {
			return err
		}
		resp = &structs.ServiceResponse{JobID: c.ID, Name: c.Name, Version: next, Index: index}
		return w.finish()
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func orNone(s string) string {
	if s == "" {
		return "no model"
	}
	return s
}

// revisionsEqual compares what two revisions run (models by content).
func revisionsEqual(a, b structs.ServiceRevision) bool {
	if a.Code != b.Code || len(a.Models) != len(b.Models) || a.Task.Command != b.Task.Command ||
		a.Task.Script != b.Task.Script || a.Task.Workdir != b.Task.Workdir || a.Task.User != b.Task.User ||
		!slices.Equal(a.Task.Args, b.Task.Args) || len(a.Task.Env) != len(b.Task.Env) {
		return false
	}
	for k, v := range a.Task.Env {
		if bv, ok := b.Task.Env[k]; !ok || bv != v {
			return false
		}
	}
	for i := range a.Models {
		x, y := a.Models[i], b.Models[i]
		if x.Name != y.Name || x.Version != y.Version || x.Digest != y.Digest || x.Path != y.Path {
			return false
		}
	}
	return true
}

// RollbackRollout ends a running rollout without its new version: the old
// revision and version are the service's again, and the new replicas are
// asked to stop. A request for another rollout than the running one
// changes nothing.
func (s *Store) RollbackRollout(index uint64, req *structs.ServiceRollbackRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "roll back service: empty request")
	}
	return s.write(func(txn *memdb.Txn) error {
		job, err := jobByID(txn, nil, req.JobID)
		if err != nil || job == nil || job.Status.Terminal() || job.Rollout == nil ||
			job.Rollout.Status != structs.RolloutRunning || job.Rollout.ToVersion != req.ToVersion {
			return err
		}
		w := &writer{txn: txn, index: index, now: req.Now}
		c := job.Copy()
		r := c.Rollout
		r.From.Apply(c)
		c.Version = r.FromVersion
		r.Status, r.EndTime, r.Reason = structs.RolloutRolledBack, req.Now, req.Reason
		c.Reason = "rollout to version " + strconv.Itoa(r.ToVersion) + " rolled back: " + req.Reason
		if err := w.putJob(c); err != nil {
			return err
		}
		allocs, err := allocsOfJob(txn, nil, job.ID)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			if a.Terminal() || a.DesiredStatus == structs.DesiredStop || a.JobVersion != r.ToVersion {
				continue
			}
			ac := a.Copy()
			ac.DesiredStatus, ac.DesiredReason = structs.DesiredStop, structs.ExitReplaced
			if err := w.putAlloc(ac); err != nil {
				return err
			}
		}
		return w.finish()
	})
}
