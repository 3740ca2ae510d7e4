package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// nodeDrainRoutes are POST /v1/nodes/{id}/drain (body
// structs.NodeDrainSpec) and POST /v1/nodes/{id}/eligibility (body
// structs.NodeEligibilitySpec). Both answer the node as it is after the
// write; {id} is a node id, a unique prefix of one, or a node name.
func (s *Server) nodeDrainRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/nodes/{id}/drain", s.handleNodeDrain)
	mux.HandleFunc("POST /v1/nodes/{id}/eligibility", s.handleNodeEligibility)
}

func (s *Server) handleNodeDrain(w http.ResponseWriter, r *http.Request) {
	var spec structs.NodeDrainSpec
	if err := decodeBody(r, &spec); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := resolveNode(s.State().Snapshot(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now().UTC()
	req := &structs.NodeDrainRequest{NodeID: n.ID, Drain: spec.Enable, Now: now}
	switch {
	case !spec.Enable && (spec.Deadline != nil || spec.NoDeadline):
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "a deadline only goes with enable: cancelling a drain takes none"))
		return
	case !spec.Enable, spec.NoDeadline && spec.Deadline == nil:
	case spec.NoDeadline:
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "give a deadline or no_deadline, not both"))
		return
	case spec.Deadline == nil:
		req.Deadline = now.Add(structs.DefaultDrainDeadline)
	case spec.Deadline.D() < 0:
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "drain deadline %s is negative: expected 0 (stop running jobs now) or more", spec.Deadline))
		return
	default:
		req.Deadline = now.Add(spec.Deadline.D())
	}
	s.applyAndAnswerNode(w, r, fsm.NodeDrain, req, n.ID)
}

func (s *Server) handleNodeEligibility(w http.ResponseWriter, r *http.Request) {
	var spec structs.NodeEligibilitySpec
	if err := decodeBody(r, &spec); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := resolveNode(s.State().Snapshot(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := &structs.NodeEligibilityRequest{NodeID: n.ID, Eligible: spec.Eligible, Now: time.Now().UTC()}
	s.applyAndAnswerNode(w, r, fsm.NodeEligibility, req, n.ID)
}

// applyAndAnswerNode commits one node write and answers the node as the
// leader's state has it afterwards.
func (s *Server) applyAndAnswerNode(w http.ResponseWriter, r *http.Request, t fsm.MessageType, req any, id string) {
	_, idx, err := s.apply(t, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	snap := s.State().Snapshot()
	n, err := snap.NodeByID(nil, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if n == nil {
		s.writeError(w, r, structs.NewError(structs.CodeNotFound, "node %s not found", id))
		return
	}
	writeJSON(w, idx, withHolders(snap, n))
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
