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
	if req == nil || len(req.Updates) == 0 {
		return structs.NewError(structs.CodeInvalid, "update allocs: the request has no updates")
	}
	return s.write(func(txn *memdb.Txn) error {
		for _, u := range req.Updates {
			if u == nil {
				return structs.NewError(structs.CodeInvalid, "update allocs: an update is missing")
			}
			switch u.Client.Status {
			case structs.AllocPending, structs.AllocRunning, structs.AllocComplete, structs.AllocFailed, structs.AllocLost:
			default:
				return structs.NewError(structs.CodeInvalid, "update allocs: alloc %q: status %q is unknown: expected pending, running, complete, failed or lost", u.AllocID, u.Client.Status)
			}
			a, err := allocByID(txn, nil, u.AllocID)
			if err != nil {
				return err
			}
			if a == nil || (req.NodeID != "" && a.NodeID != req.NodeID) {
				return structs.NewError(structs.CodeNotFound, "update allocs: alloc %q not found on node %q", u.AllocID, req.NodeID)
			}
		}
		w := &writer{txn: txn, index: index, now: req.Now}
		for _, u := range req.Updates {
			if err := w.updateAlloc(u); err != nil {
				return err
			}
		}
		return w.finish()
	})
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
	if err := w.putAlloc(c); err != nil {
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
	job, err := w.currentJob(c)
	if err != nil || job == nil {
		return err
	}
	j := job.Copy()
	if mergeMetrics(j, c.ClientStatus.Metrics) {
		return w.putJob(j)
	}
	return nil
}
