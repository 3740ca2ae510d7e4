package state

import (
	"time"

	"github.com/nai-project/nai/structs"
)

// keyNodeHook is the retry key of an allocation whose node's prolog
// failed: the job goes back to the queue whatever its retry policy.
const keyNodeHook = "node-hook"

// nodeHookFailed drains the node of an allocation whose report carries a
// failed node hook (structs/hooks.go), in the transaction that records the
// report: the node takes no new work from this index on, its running
// allocations run to their end (Slurm's DRAIN), and it keeps the reason
// and the hook's report for `nai node status` until it is made eligible
// again. A node already draining keeps its deadline.
func (w *writer) nodeHookFailed(a *structs.Allocation) error {
	h := a.ClientStatus.Hook
	if h == nil {
		return nil
	}
	if err := h.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "alloc %s: %v", a.ID, err)
	}
	old, err := first[structs.Node](w.txn, nil, tableNodes, "id", a.NodeID)
	if err != nil || old == nil {
		return err // a node that is gone has nothing to drain
	}
	n := old.Copy()
	if !n.Drain {
		n.Drain, n.DrainDeadline = true, time.Time{}
	}
	n.Eligible = false
	n.DrainReason = h.DrainReason()
	n.HookFailure = h.Copy()
	if n.HookFailure.AllocID == "" {
		n.HookFailure.AllocID, n.HookFailure.JobID = a.ID, a.JobID
	}
	return putNode(w.txn, w.index, n)
}
