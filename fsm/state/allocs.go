package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// UpdateAllocs applies client reports. Every allocation named must exist
// (and be on req.NodeID when that is set), or nothing is applied. Reports
// about an allocation that has already ended are ignored. When an
// allocation ends, its job ends, or goes back to the queue when its retry
// policy allows; while it runs, its metrics are copied to the job.
func (s *Store) UpdateAllocs(index uint64, req *structs.AllocUpdateRequest) error {
	if err := checkAllocUpdate(req); err != nil {
		return err
	}
	return s.write(func(txn *memdb.Txn) error {
		if err := checkAllocUpdateIn(txn, req); err != nil {
			return err
		}
		w := &writer{txn: txn, index: index}
		if err := w.updateAllocs(req); err != nil {
			return err
		}
		return w.finish()
	})
}

// UpdateAllocsBatch applies the reports of several nodes as one
// transaction (one raft entry: the servers fold the reports that arrive
// while the previous one commits). Each request stands alone, as if it
// had come in an entry of its own: one that UpdateAllocs would refuse is
// skipped with its error in the answer, at its position, and the others
// still apply. An error of the store itself aborts them all.
func (s *Store) UpdateAllocsBatch(index uint64, reqs []*structs.AllocUpdateRequest) ([]error, error) {
	if len(reqs) == 0 {
		return nil, structs.NewError(structs.CodeInvalid, "update allocs: the batch has no requests")
	}
	errs := make([]error, len(reqs))
	err := s.write(func(txn *memdb.Txn) error {
		w := &writer{txn: txn, index: index}
		for i, req := range reqs {
			if err := checkAllocUpdate(req); err != nil {
				errs[i] = err
				continue
			}
			if err := checkAllocUpdateIn(txn, req); err != nil {
				if c := structs.CodeOf(err); c != structs.CodeInvalid && c != structs.CodeNotFound {
					return err
				}
				errs[i] = err
				continue
			}
			if err := w.updateAllocs(req); err != nil {
				return err
			}
		}
		return w.finish()
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// checkAllocUpdate is what a report must say, before the state is read.
func checkAllocUpdate(req *structs.AllocUpdateRequest) error {
	if req == nil || len(req.Updates) == 0 {
		return structs.NewError(structs.CodeInvalid, "update allocs: the request has no updates")
	}
	for _, u := range req.Updates {
		if u == nil {
			return structs.NewError(structs.CodeInvalid, "update allocs: an update is missing")
		}
		switch u.Client.Status {
		case structs.AllocPending, structs.AllocRunning, structs.AllocComplete, structs.AllocFailed, structs.AllocLost:
		default:
			return structs.NewError(structs.CodeInvalid, "update allocs: alloc %q: status %q is unknown: expected pending, running, complete, failed or lost", u.AllocID, u.Client.Status)
		}
	}
	return nil
}

// checkAllocUpdateIn refuses a report of an allocation that is not on
// the reporting node.
func checkAllocUpdateIn(txn *memdb.Txn, req *structs.AllocUpdateRequest) error {
	for _, u := range req.Updates {
		a, err := allocByID(txn, nil, u.AllocID)
		if err != nil {
			return err
		}
		if a == nil || (req.NodeID != "" && a.NodeID != req.NodeID) {
			return structs.NewError(structs.CodeNotFound, "update allocs: alloc %q not found on node %q", u.AllocID, req.NodeID)
		}
	}
	return nil
}

// updateAllocs writes one checked report, at its own time.
func (w *writer) updateAllocs(req *structs.AllocUpdateRequest) error {
	w.now = req.Now
	w.reporter, w.rankZero = req.NodeID, req.RankZeroOutputs
	defer func() { w.reporter, w.rankZero = "", false }()
	for _, u := range req.Updates {
		if err := w.updateAlloc(u); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) updateAlloc(u *structs.AllocUpdate) error {
	a, err := allocByID(w.txn, nil, u.AllocID)
	if err != nil {
		return err
	}
	if a == nil {
		return fmt.Errorf("alloc %s vanished during the update", u.AllocID)
	}
	if a.Terminal() {
		return nil // a late or repeated report; the end is already recorded
	}
	c := a.Copy()
	c.ClientStatus = u.Client.Copy()
	if c.ClientStatus.Status.Terminal() && c.ClientStatus.EndTime.IsZero() {
		c.ClientStatus.EndTime = w.now
	}
	if err := w.putReported(c); err != nil {
		return err
	}
	if err := w.nodeHookFailed(c); err != nil { // hooks.go
		return err
	}
	if j, err := jobByID(w.txn, nil, c.JobID); err != nil {
		return err
	} else if j != nil && j.IsService() {
		return w.replicaChanged(j, c)
	}
	if c.Terminal() {
		return w.allocEnded(c)
	}
	if len(c.ClientStatus.Metrics) == 0 && len(c.ClientStatus.NonFinite) == 0 && !c.ClientStatus.MetricsCounted {
		return nil // most reports: nothing for the job (a job's copy is 1 KiB)
	}
	job, err := w.currentJob(c)
	if err != nil || job == nil || !metricsDiffer(job, &c.ClientStatus) {
		return err
	}
	j := job.Copy()
	if mergeMetrics(j, &c.ClientStatus) {
		return w.putJob(j)
	}
	return nil
}
