package structs

import "time"

// Draining empties a node for maintenance. A drain makes the node
// ineligible at once, so nothing new is placed on it; its running
// allocations keep running until the drain's deadline, when the leader asks
// them to stop with reason node-drained (their jobs go back to the queue as
// after a preemption: always without a retry policy, and with one when it
// lists "preempted" and has attempts left). The drain is complete when no
// live allocation remains on the node; the node then stays ineligible until
// `nai node eligibility -enable`.

// ExitNodeDrained is why an allocation was stopped at its node's drain
// deadline.
const ExitNodeDrained ExitReason = "node-drained"

// DefaultDrainDeadline is how long running allocations may keep running
// on a draining node when the request does not say.
const DefaultDrainDeadline = time.Hour

// NodeDrainSpec is the body of POST /v1/nodes/{id}/drain.
type NodeDrainSpec struct {
	// Enable starts a drain (or replaces the deadline of one under way);
	// false cancels a drain and makes the node eligible again.
	Enable bool `json:"enable"`
	// Deadline is how long running allocations may keep running; nil:
	// DefaultDrainDeadline; zero: they are stopped at once.
	Deadline *Duration `json:"deadline,omitempty"`
	// NoDeadline lets running allocations run to their end.
	NoDeadline bool `json:"no_deadline,omitempty"`
}

// NodeEligibilitySpec is the body of POST /v1/nodes/{id}/eligibility.
type NodeEligibilitySpec struct {
	Eligible bool `json:"eligible"`
}

// NodeDrainRequest starts, changes or cancels a node's drain (a raft
// message). The server turns the spec's deadline into a time.
type NodeDrainRequest struct {
	NodeID   string    `json:"node_id"`
	Drain    bool      `json:"drain"`
	Deadline time.Time `json:"deadline,omitzero"` // zero: no deadline
	Now      time.Time `json:"now"`
	// ByOperator marks a drain an operator asked for (raft log format 8):
	// it clears a failed hook's drain reason (the node's own disk check's
	// among them), so that the node does not end it as its own.
	ByOperator bool `json:"by_operator,omitempty"`
}

// NodeEligibilityRequest marks a node eligible or not for new work (a raft
// message). A draining node's eligibility cannot be changed: cancel the
// drain instead.
type NodeEligibilityRequest struct {
	NodeID   string    `json:"node_id"`
	Eligible bool      `json:"eligible"`
	Now      time.Time `json:"now"`
	// ByOperator, as NodeDrainRequest's: an operator's "not eligible"
	// clears a failed hook's drain reason, also when the node was already
	// ineligible for it.
	ByOperator bool `json:"by_operator,omitempty"`
}

// NodeDrainProgressRequest is the leader's step of a drain (a raft
// message): past the deadline, ask the node's live allocations to stop;
// once none is live, end the drain and leave the node ineligible. The
// state store decides both from its own state and Now, so a stale request
// does no harm.
type NodeDrainProgressRequest struct {
	NodeID string    `json:"node_id"`
	Now    time.Time `json:"now"`
}

// Draining reports whether a drain is under way and, when it has a
// deadline, whether that has passed at now.
func (n *Node) Draining(now time.Time) (draining, pastDeadline bool) {
	if !n.Drain {
		return false, false
	}
	return true, !n.DrainDeadline.IsZero() && !now.Before(n.DrainDeadline)
}
