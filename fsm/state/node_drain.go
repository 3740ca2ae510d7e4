package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// Node drain and eligibility (structs/node_drain.go tells the life of a
// drain). The leader moves a drain on with ProgressNodeDrain, which decides
// from the stored state alone, so a request computed from an older snapshot
// cannot undo what a user did since.

// DrainNode starts (or changes the deadline of) a node's drain, which makes
// the node ineligible, or cancels it, which makes the node eligible again.
func (s *Store) DrainNode(index uint64, req *structs.NodeDrainRequest) error {
	if req == nil || req.NodeID == "" {
		return structs.NewError(structs.CodeInvalid, "drain node: the request names no node")
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Node](txn, nil, tableNodes, "id", req.NodeID)
		if err != nil {
			return err
		}
		if old == nil {
			return structs.NewError(structs.CodeNotFound, "drain node: node %q not found", req.NodeID)
		}
		n := old.Copy()
		if req.Drain {
			n.Drain, n.Eligible, n.DrainDeadline = true, false, req.Deadline
			if req.ByOperator {
				// The drain is the operator's from now on, not a
				// failed hook's that the node may end itself.
				n.DrainReason = ""
			}
		} else {
			if !old.Drain {
				return structs.NewError(structs.CodeInvalid, "node %s is not draining: nothing to cancel", old.Name)
			}
			n.Drain, n.Eligible, n.DrainDeadline = false, true, time.Time{}
			n.DrainReason = ""
		}
		return putNode(txn, index, n)
	})
}

// SetNodeEligibility marks a node eligible for new work or not. A draining
// node is refused: its drain decides, and cancelling it makes the node
// eligible.
func (s *Store) SetNodeEligibility(index uint64, req *structs.NodeEligibilityRequest) error {
	if req == nil || req.NodeID == "" {
		return structs.NewError(structs.CodeInvalid, "node eligibility: the request names no node")
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Node](txn, nil, tableNodes, "id", req.NodeID)
		if err != nil {
			return err
		}
		if old == nil {
			return structs.NewError(structs.CodeNotFound, "node eligibility: node %q not found", req.NodeID)
		}
		if old.Drain {
			return structs.NewError(structs.CodeConflict, "node %s is draining: cancel the drain (nai node drain -disable) to make it eligible", old.Name)
		}
		// An operator's "not eligible" takes over a failed hook's: the
		// node must not end it as its own.
		takeOver := req.ByOperator && !req.Eligible && old.DrainReason != ""
		if old.Eligible == req.Eligible && !takeOver {
			return nil
		}
		n := old.Copy()
		n.Eligible = req.Eligible
		if n.Eligible || takeOver {
			n.DrainReason = ""
		}
		return putNode(txn, index, n)
	})
}

// ProgressNodeDrain takes one step of a node's drain at req.Now: past the
// deadline every live allocation on the node is asked to stop with reason
// node-drained; once none is live the drain ends and the node stays
// ineligible. A node that is not draining is left alone.
func (s *Store) ProgressNodeDrain(index uint64, req *structs.NodeDrainProgressRequest) error {
	if req == nil || req.NodeID == "" {
		return structs.NewError(structs.CodeInvalid, "drain progress: the request names no node")
	}
	return s.write(func(txn *memdb.Txn) error {
		n, err := first[structs.Node](txn, nil, tableNodes, "id", req.NodeID)
		if err != nil || n == nil {
			return err // a node that vanished has nothing left to drain
		}
		draining, past := n.Draining(req.Now)
		if !draining {
			return nil
		}
		live, toStop, err := liveOnNode(txn, n.ID)
		if err != nil {
			return err
		}
		if len(live) == 0 {
			c := n.Copy()
			c.Drain, c.Eligible, c.DrainDeadline = false, false, time.Time{}
			return putNode(txn, index, c)
		}
		if !past || len(toStop) == 0 {
			return nil
		}
		for _, a := range toStop {
			c := a.Copy()
			c.DesiredStatus = structs.DesiredStop
			c.DesiredReason = structs.ExitNodeDrained
			c.ModifyIndex, c.ServerIndex = index, index
			if err := txn.Insert(tableAllocs, c); err != nil {
				return fmt.Errorf("stop alloc %s of draining node %s: %w", a.ID, n.Name, err)
			}
		}
		return bumpIndex(txn, tableAllocs, index)
	})
}

// DrainSteps lists the draining nodes that ProgressNodeDrain would change
// at now, and the earliest deadline still to come (zero if none), for the
// leader's timer.
func (sn *Snapshot) DrainSteps(now time.Time) ([]string, time.Time, error) {
	nodes, err := list[structs.Node](sn.txn, nil, tableNodes, "id")
	if err != nil {
		return nil, time.Time{}, err
	}
	var ids []string
	var next time.Time
	for _, n := range nodes {
		draining, past := n.Draining(now)
		if !draining {
			continue
		}
		live, toStop, err := liveOnNode(sn.txn, n.ID)
		if err != nil {
			return nil, time.Time{}, err
		}
		switch {
		case len(live) == 0 || (past && len(toStop) > 0):
			ids = append(ids, n.ID)
		case !past && !n.DrainDeadline.IsZero() && (next.IsZero() || n.DrainDeadline.Before(next)):
			next = n.DrainDeadline
		}
	}
	return ids, next, nil
}

// liveOnNode returns a node's live allocations and those of them not yet
// asked to stop.
func liveOnNode(txn *memdb.Txn, nodeID string) (live, toStop []*structs.Allocation, err error) {
	allocs, err := list[structs.Allocation](txn, nil, tableAllocs, "node_live", nodeID)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range allocs {
		if a.Terminal() {
			continue
		}
		live = append(live, a)
		if a.DesiredStatus != structs.DesiredStop {
			toStop = append(toStop, a)
		}
	}
	return live, toStop, nil
}

func putNode(txn *memdb.Txn, index uint64, n *structs.Node) error {
	n.ModifyIndex = index
	if err := txn.Insert(tableNodes, n); err != nil {
		return fmt.Errorf("update node %s: %w", n.ID, err)
	}
	return bumpIndex(txn, tableNodes, index)
}
