package state

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// UpsertNode registers a node or refreshes its fingerprint. A known node
// keeps its create index, register time, eligibility and drain (flag and
// deadline); every registration marks it ready.
func (s *Store) UpsertNode(index uint64, req *structs.NodeRegisterRequest) error {
	if req == nil || req.Node == nil {
		return structs.NewError(structs.CodeInvalid, "register node: the request has no node")
	}
	if err := validateNode(req.Node); err != nil {
		return structs.NewError(structs.CodeInvalid, "register node %q: %v", req.Node.ID, err)
	}
	return s.write(func(txn *memdb.Txn) error {
		n := req.Node.Copy()
		for i := range n.GPUs {
			n.GPUs[i].AllocID, n.GPUs[i].JobID = "", "" // filled in answers only
		}
		byName, err := first[structs.Node](txn, nil, tableNodes, "name", n.Name)
		if err != nil {
			return err
		}
		if byName != nil && byName.ID != n.ID {
			return structs.NewError(structs.CodeConflict, "register node %q: the name %q belongs to node %q", n.ID, n.Name, byName.ID)
		}
		old, err := first[structs.Node](txn, nil, tableNodes, "id", n.ID)
		if err != nil {
			return err
		}
		n.Status = structs.NodeReady
		n.UnreachableSince = time.Time{} // it registers: it is reachable
		n.ModifyIndex = index
		if old == nil {
			n.Eligible = true
			n.Drain = false
			n.DrainDeadline = time.Time{}
			n.DrainReason, n.HookFailure = "", nil
			n.CreateIndex = index
			n.RegisterTime = req.Now
			n.StatusTime = req.Now
		} else {
			n.Eligible = old.Eligible
			n.Drain = old.Drain
			n.DrainDeadline = old.DrainDeadline
			n.DrainReason, n.HookFailure = old.DrainReason, old.HookFailure.Copy()
			n.CreateIndex = old.CreateIndex
			n.RegisterTime = old.RegisterTime
			n.StatusTime = old.StatusTime
			if old.Status != structs.NodeReady {
				n.StatusTime = req.Now
			}
		}
		if err := putNodeSecret(txn, index, n.ID, req.SecretHash); err != nil {
			return err
		}
		if err := txn.Insert(tableNodes, n); err != nil {
			return fmt.Errorf("insert node %s: %w", n.ID, err)
		}
		return bumpIndex(txn, tableNodes, index)
	})
}

func validateNode(n *structs.Node) error {
	var errs []error
	if n.ID == "" {
		errs = append(errs, errors.New("node id is required"))
	}
	if n.Name == "" {
		errs = append(errs, errors.New("node name is required"))
	}
	if n.CPU < 0 || n.CPU != n.CPU {
		errs = append(errs, fmt.Errorf("cpu %v is invalid: expected 0 or more cores", n.CPU))
	}
	if n.MemoryBytes < 0 {
		errs = append(errs, fmt.Errorf("memory %d bytes is negative", n.MemoryBytes))
	}
	seen := map[int]bool{}
	for _, g := range n.GPUs {
		if g.Index < 0 {
			errs = append(errs, fmt.Errorf("gpu index %d is negative", g.Index))
		}
		if seen[g.Index] {
			errs = append(errs, fmt.Errorf("gpu index %d appears twice", g.Index))
		}
		seen[g.Index] = true
	}
	return errors.Join(errs...)
}

// UpdateNodeStatus changes a node's liveness. A node going down loses every
// live allocation on it; their jobs are requeued when their retry policy
// allows node-lost, and are lost otherwise.
func (s *Store) UpdateNodeStatus(index uint64, req *structs.NodeStatusRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "update node status: empty request")
	}
	switch req.Status {
	case structs.NodeReady, structs.NodeDown:
	default:
		return structs.NewError(structs.CodeInvalid, "update node status: status %q is unknown: expected ready or down", req.Status)
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Node](txn, nil, tableNodes, "id", req.NodeID)
		if err != nil {
			return err
		}
		if old == nil {
			return structs.NewError(structs.CodeNotFound, "update node status: node %q not found", req.NodeID)
		}
		unreachable := req.Status == structs.NodeReady && req.Unreachable
		if old.Status == req.Status && unreachable == !old.UnreachableSince.IsZero() {
			return nil
		}
		n := old.Copy()
		switch {
		case !unreachable:
			n.UnreachableSince = time.Time{}
		case n.UnreachableSince.IsZero():
			n.UnreachableSince = req.Now
		}
		if n.Status != req.Status {
			n.Status = req.Status
			n.StatusTime = req.Now
		}
		n.ModifyIndex = index
		if err := txn.Insert(tableNodes, n); err != nil {
			return fmt.Errorf("update node %s: %w", n.ID, err)
		}
		if err := bumpIndex(txn, tableNodes, index); err != nil {
			return err
		}
		if req.Status != structs.NodeDown {
			return nil
		}
		return loseNodeAllocs(txn, index, n, req)
	})
}

// loseNodeAllocs marks every live allocation on a down node lost and settles
// its job.
func loseNodeAllocs(txn *memdb.Txn, index uint64, n *structs.Node, req *structs.NodeStatusRequest) error {
	allocs, err := list[structs.Allocation](txn, nil, tableAllocs, "node_live", n.ID)
	if err != nil {
		return err
	}
	w := &writer{txn: txn, index: index, now: req.Now}
	for _, a := range allocs {
		if a.Terminal() {
			continue
		}
		c := a.Copy()
		c.ClientStatus.Status = structs.AllocLost
		c.ClientStatus.ExitReason = structs.ExitNodeLost
		c.ClientStatus.EndTime = req.Now
		c.ClientStatus.Message = fmt.Sprintf("node %s is down", n.Name)
		if err := w.putAlloc(c); err != nil {
			return err
		}
		if err := w.allocEnded(c); err != nil {
			return err
		}
	}
	return w.finish()
}
