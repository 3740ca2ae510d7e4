package server

import (
	"strings"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// nodeDrain is POST /v1/nodes/{id}/drain (body structs.NodeDrainSpec) and
// nodeEligibility POST /v1/nodes/{id}/eligibility (body
// structs.NodeEligibilitySpec). Both answer the node as it is after the
// write; {id} is a node id, a unique prefix of one, or a node name.
func (s *Server) nodeDrain(r *request) (any, uint64, error) {
	var spec structs.NodeDrainSpec
	n, err := nodeWrite(r, &spec)
	if err != nil {
		return nil, 0, err
	}
	now := time.Now().UTC()
	req := &structs.NodeDrainRequest{NodeID: n.ID, Drain: spec.Enable, Now: now, ByOperator: true}
	switch {
	case !spec.Enable && (spec.Deadline != nil || spec.NoDeadline):
		return nil, 0, structs.NewError(structs.CodeInvalid, "a deadline only goes with enable: cancelling a drain takes none")
	case !spec.Enable, spec.NoDeadline && spec.Deadline == nil:
	case spec.NoDeadline:
		return nil, 0, structs.NewError(structs.CodeInvalid, "give a deadline or no_deadline, not both")
	case spec.Deadline == nil:
		req.Deadline = now.Add(structs.DefaultDrainDeadline)
	case spec.Deadline.D() < 0:
		return nil, 0, structs.NewError(structs.CodeInvalid, "drain deadline %s is negative: expected 0 (stop running jobs now) or more", spec.Deadline)
	default:
		req.Deadline = now.Add(spec.Deadline.D())
	}
	return s.applyAndAnswerNode(fsm.NodeDrain, req, n.ID)
}

func (s *Server) nodeEligibility(r *request) (any, uint64, error) {
	var spec structs.NodeEligibilitySpec
	n, err := nodeWrite(r, &spec)
	if err != nil {
		return nil, 0, err
	}
	req := &structs.NodeEligibilityRequest{NodeID: n.ID, Eligible: spec.Eligible, Now: time.Now().UTC(), ByOperator: true}
	return s.applyAndAnswerNode(fsm.NodeEligibility, req, n.ID)
}

// nodeDiskRecovered is POST /v1/client/nodes/{id}/disk-recovered: a
// client whose data dir was below its min_free_disk refused a job as a
// failed prolog does, which drained its node (client/disk.go); with space
// back, it ends that drain itself. Only that drain: the node's drain
// reason must be its own disk check's (structs.HookReport.DiskCheck), and
// a drain with a deadline is an operator's (a hook's drain has none, and
// keeps an operator's deadline). Anything else is 409 and changes
// nothing. The writes are the operator's own (cancel the drain, or make
// the node eligible), so the raft log format does not change.
func (s *Server) nodeDiskRecovered(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	if err := ownNode(r, id); err != nil {
		return nil, 0, err
	}
	n, err := r.snap.NodeByID(nil, id)
	if err != nil {
		return nil, 0, err
	}
	if n == nil {
		return nil, 0, structs.NewError(structs.CodeNotFound, "node %s not found", id)
	}
	r.audit = "node " + n.Name
	h := n.HookFailure
	if !h.DiskCheck() || n.DrainReason != h.DrainReason() || !n.DrainDeadline.IsZero() {
		return nil, 0, structs.NewError(structs.CodeConflict, "node %s was not drained by its own disk check (drain reason %q): only an operator returns it to service", n.Name, n.DrainReason)
	}
	now := time.Now().UTC()
	if n.Drain {
		out, idx, err := s.applyAndAnswerNode(fsm.NodeDrain, &structs.NodeDrainRequest{NodeID: n.ID, Drain: false, Now: now}, n.ID)
		if structs.CodeOf(err) != structs.CodeInvalid {
			return out, idx, err
		}
		// The drain completed meanwhile (nothing ran there any more):
		// the node is left ineligible, which the next write ends.
	}
	return s.applyAndAnswerNode(fsm.NodeEligibility, &structs.NodeEligibilityRequest{NodeID: n.ID, Eligible: true, Now: now}, n.ID)
}

// applyAndAnswerNode commits one node write and answers the node as the
// leader's state has it afterwards.
func (s *Server) applyAndAnswerNode(t fsm.MessageType, req any, id string) (any, uint64, error) {
	_, idx, err := s.apply(t, req)
	if err != nil {
		return nil, 0, err
	}
	snap := s.State().Snapshot()
	n, err := snap.NodeByID(nil, id)
	if err != nil {
		return nil, 0, err
	}
	if n == nil {
		return nil, 0, structs.NewError(structs.CodeNotFound, "node %s not found", id)
	}
	return withHolders(snap, n), idx, nil
}

// resolveNode finds a node by id, name or a unique id prefix of at least
// four characters (the CLI prints eight).
func resolveNode(snap *state.Snapshot, id string) (*structs.Node, error) {
	if id == "" {
		return nil, structs.NewError(structs.CodeInvalid, "missing node id")
	}
	n, err := snap.NodeByID(nil, id)
	if err == nil && n == nil {
		n, err = snap.NodeByName(nil, id)
	}
	if err != nil || n != nil {
		return n, err
	}
	nodes, err := snap.Nodes(nil)
	if err != nil {
		return nil, err
	}
	for _, c := range nodes {
		if len(id) >= 4 && strings.HasPrefix(c.ID, id) {
			if n != nil {
				return nil, structs.NewError(structs.CodeInvalid, "node id prefix %q matches several nodes; give more of it", id)
			}
			n = c
		}
	}
	if n == nil {
		return nil, structs.NewError(structs.CodeNotFound, "node %s not found", id)
	}
	return n, nil
}

// nodeWrite decodes a node write's body into spec and finds the node the
// path names, which the audit record then names.
func nodeWrite(r *request, spec any) (*structs.Node, error) {
	if err := decodeBody(r.Request, spec); err != nil {
		return nil, err
	}
	n, err := resolveNode(r.snap, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	r.audit = "node " + n.Name
	return n, nil
}
