package server

import (
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

func (s *Server) handleNodeList(w http.ResponseWriter, r *http.Request) {
	var out []*structs.Node
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		nodes, err := snap.Nodes(ws)
		if err != nil {
			return 0, err
		}
		out = make([]*structs.Node, 0, len(nodes))
		for _, n := range nodes {
			out = append(out, withHolders(snap, n))
		}
		return snap.Index(), nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, out)
}

// withHolders returns a copy of the node whose GPUs name the allocation and
// job holding each.
func withHolders(snap *state.Snapshot, n *structs.Node) *structs.Node {
	c := n.Copy()
	allocs, err := snap.AllocsByNode(nil, n.ID)
	if err != nil {
		return c
	}
	for _, a := range allocs {
		if a.Terminal() {
			continue
		}
		for _, gi := range a.GPUs {
			for k := range c.GPUs {
				if c.GPUs[k].Index == gi {
					c.GPUs[k].AllocID, c.GPUs[k].JobID = a.ID, a.JobID
					for _, u := range a.ClientStatus.GPUUsage {
						if u.Index == gi {
							c.GPUs[k].UtilizationPercent, c.GPUs[k].MemoryUsedBytes = u.UtilizationPercent, u.MemoryUsedBytes
						}
					}
				}
			}
		}
	}
	return c
}

func (s *Server) handleNodeGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	snap := s.State().Snapshot()
	n, err := snap.NodeByID(nil, id)
	if err == nil && n == nil {
		n, err = snap.NodeByName(nil, id)
	}
	if err == nil && n == nil {
		// A unique prefix of the id, as the CLI prints 8 characters.
		nodes, lerr := snap.Nodes(nil)
		err = lerr
		for _, c := range nodes {
			if len(id) >= 4 && len(c.ID) >= len(id) && c.ID[:len(id)] == id {
				if n != nil {
					s.writeError(w, r, structs.NewError(structs.CodeInvalid, "node id prefix %q matches several nodes; give more of it", id))
					return
				}
				n = c
			}
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if n == nil {
		s.writeError(w, r, structs.NewError(structs.CodeNotFound, "node %s not found", id))
		return
	}
	writeJSON(w, snap.Index(), withHolders(snap, n))
}

func (s *Server) handleNodeRegister(w http.ResponseWriter, r *http.Request) {
	var req structs.NodeRegisterRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Node == nil || req.Node.ID == "" || req.Node.Name == "" {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "node registration needs a node with an id and a name"))
		return
	}
	req.Now = time.Now().UTC()
	_, idx, err := s.apply(fsm.NodeRegister, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, map[string]any{"index": idx})
}

// handleNodeAllocs is the client's long-poll: the node's live allocations,
// each with its job, answered when the state index passes ?index.
func (s *Server) handleNodeAllocs(w http.ResponseWriter, r *http.Request) {
	nodeID := r.PathValue("id")
	var out []*structs.Allocation
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		allocs, err := snap.AllocsByNode(ws, nodeID)
		if err != nil {
			return 0, err
		}
		out = out[:0]
		var max uint64
		for _, a := range allocs {
			if a.ModifyIndex > max {
				max = a.ModifyIndex
			}
			if a.Terminal() {
				continue
			}
			c := a.Copy()
			j, err := snap.JobByID(nil, a.JobID)
			if err != nil {
				return 0, err
			}
			c.Job = j
			if j != nil && j.Resources.Nodes > 1 {
				g, err := gangInfo(snap, c, j)
				if err != nil {
					return 0, err
				}
				c.Gang = g
			}
			out = append(out, c)
		}
		if max == 0 {
			max = 1
		}
		return max, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if out == nil {
		out = []*structs.Allocation{}
	}
	writeJSON(w, idx, out)
}

func (s *Server) handleAllocUpdate(w http.ResponseWriter, r *http.Request) {
	var req structs.AllocUpdateRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Updates) == 0 {
		writeJSON(w, 0, map[string]any{"index": 0})
		return
	}
	req.Now = time.Now().UTC()
	_, idx, err := s.apply(fsm.AllocUpdate, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, map[string]any{"index": idx})
}

func (s *Server) handleOutputUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := s.State().Snapshot().AllocByID(nil, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if a == nil {
		drain(r)
		s.writeError(w, r, structs.NewError(structs.CodeNotFound, "allocation %s not found", id))
		return
	}
	digest, size, err := s.putBlob(r.Context(), r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, 0, map[string]any{"digest": digest, "size": size})
}

// gangInfo finds where rank 0 of a multi-node job's attempt runs: its
// node's host becomes every member's MASTER_ADDR.
func gangInfo(snap *state.Snapshot, a *structs.Allocation, j *structs.Job) (*structs.GangInfo, error) {
	siblings, err := snap.AllocsByJob(nil, a.JobID)
	if err != nil {
		return nil, err
	}
	for _, sib := range siblings {
		if sib.Attempt != a.Attempt || sib.Rank != 0 {
			continue
		}
		n, err := snap.NodeByID(nil, sib.NodeID)
		if err != nil {
			return nil, err
		}
		if n == nil {
			break
		}
		return &structs.GangInfo{Nodes: j.Resources.Nodes, MasterAddr: nodeHost(n), MasterPort: structs.GangPort(j.ID)}, nil
	}
	return nil, nil
}

// nodeHost is the host part of a node's advertised HTTP address.
func nodeHost(n *structs.Node) string {
	addr := n.HTTPAddr
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
