package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

func (s *Server) nodeList(r *request) (any, uint64, error) {
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
	return out, idx, err
}

// withHolders returns a copy of the node whose GPUs name the allocation and
// job holding each.
func withHolders(snap *state.Snapshot, n *structs.Node) *structs.Node {
	c := n.Copy()
	allocs, err := snap.LiveAllocsByNode(nil, n.ID)
	if err != nil {
		return c
	}
	for _, a := range allocs {
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

func (s *Server) nodeGet(r *request) (any, uint64, error) {
	n, err := resolveNode(r.snap, r.PathValue("id"))
	if err != nil {
		return nil, 0, err
	}
	return withHolders(r.snap, n), r.snap.Index(), nil
}

// nodeRegister adds or refreshes a client node. The node sends its secret
// in the body; only its hash goes to raft. A node already registered may
// refresh only itself.
func (s *Server) nodeRegister(r *request) (any, uint64, error) {
	var req structs.NodeRegisterRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	if req.Node == nil || req.Node.ID == "" || req.Node.Name == "" {
		return nil, 0, structs.NewError(structs.CodeInvalid, "node registration needs a node with an id and a name")
	}
	if id := r.acl.NodeID(); id != "" && id != req.Node.ID {
		return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: client node %s may not register node %s", id, req.Node.ID)
	}
	if req.SecretID == "" && r.acl.Enabled() {
		return nil, 0, structs.NewError(structs.CodeInvalid, "node registration needs the node's secret (secret_id) when ACLs are enabled")
	}
	if req.SecretID != "" && len(req.SecretID) < 16 {
		return nil, 0, structs.NewError(structs.CodeInvalid, "node secret is too short: expected at least 16 characters")
	}
	req.SecretHash = ""
	if req.SecretID != "" {
		req.SecretHash = hashSecret(req.SecretID)
	}
	req.SecretID = ""
	req.Now = time.Now().UTC()
	_, idx, err := s.apply(fsm.NodeRegister, &req)
	if err != nil {
		return nil, 0, err
	}
	return &structs.IndexResponse{Index: idx}, idx, nil
}

// ownNode refuses a client node that asks about another node.
func ownNode(r *request, nodeID string) error {
	if id := r.acl.NodeID(); id != "" && id != nodeID {
		return structs.NewError(structs.CodeForbidden, "permission denied: client node %s may not act for node %s", id, nodeID)
	}
	return nil
}

// nodeAllocs is the client's long-poll: the node's live allocations,
// each with its job, answered when the state index passes ?index.
func (s *Server) nodeAllocs(w http.ResponseWriter, r *request) error {
	nodeID := r.PathValue("id")
	if err := ownNode(r, nodeID); err != nil {
		return err
	}
	type item struct {
		a    *structs.Allocation
		j    *structs.Job
		gang *structs.Allocation // a gang member's answer, written fresh
	}
	// A client that says "compact" has had every allocation created at or
	// before the index it asks from in full (that answer listed them), and
	// looks only at the state of those: they come without their job. A
	// busy node's poll answers after every change of any allocation of
	// it, the node's own reports included, so each job was otherwise sent
	// and decoded several times.
	var known uint64
	asked, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	if r.URL.Query().Has("compact") {
		known = asked
	}
	var out []item
	// abandoned is closed once a snapshot restore has replaced the state
	// the wait began on: the answer comes at once (errStateRestored). The
	// channel, not that first snapshot: a snapshot held through a 30 s
	// poll keeps the whole state of its moment alive (1000 nodes' polls
	// kept every job that job GC had removed since: the leader's live
	// heap went from 16 to 75 MiB in make bench's scale run).
	var abandoned <-chan struct{}
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		if abandoned == nil {
			abandoned = snap.AbandonCh()
		}
		restored := isClosed(abandoned)
		allocs, max, err := snap.NodeAllocs(ws, nodeID)
		if err != nil {
			return 0, err
		}
		out = out[:0]
		for _, a := range allocs {
			if a.CreateIndex <= known {
				out = append(out, item{a: a})
				continue
			}
			j, err := snap.JobByID(nil, a.JobID)
			if err != nil {
				return 0, err
			}
			// An old replica of a service in a rollout runs its old spec.
			it := item{a: a, j: j.SpecFor(a.JobVersion)}
			if j != nil && j.Resources.Nodes > 1 {
				c := a.Copy()
				c.Job = it.j
				if c.Gang, err = gangInfo(snap, c, j); err != nil {
					return 0, err
				}
				it.gang = c
			}
			out = append(out, it)
		}
		if max == 0 {
			max = 1
		}
		if restored || max < asked {
			return max, errStateRestored
		}
		return max, nil
	})
	if errors.Is(err, errStateRestored) {
		err = nil
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(structs.IndexHeader, strconv.FormatUint(idx, 10))
	bw := bufio.NewWriter(w)
	bw.WriteByte('[')
	for i, it := range out {
		if i > 0 {
			bw.WriteByte(',')
		}
		if it.gang != nil {
			b, err := json.Marshal(it.gang)
			if err != nil {
				return fmt.Errorf("encode allocation %s: %w", it.a.ID, err)
			}
			bw.Write(b)
			continue
		}
		bw.Write(s.encs.alloc(it.a, it.j))
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// errStateRestored ends a node's long-poll at once when a snapshot
// restore replaced the state it waits on, or when the node's index is
// behind the one it asks from (a restore before the poll came, or a
// follower a moment behind the server that gave the index). The poll
// would otherwise wait out its time (30s), or until the node's
// allocations change past that index (minutes after a restore): meanwhile
// the node ran what the restored state no longer has, and did not hear of
// what it has. Answered at once, the node sees the index go back, asks
// again from 0 and settles both.
var errStateRestored = errors.New("the state was restored from a snapshot")

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// allocUpdate takes a node's reports; a node may report only the
// allocations placed on it.
func (s *Server) allocUpdate(r *request) (any, uint64, error) {
	var req structs.AllocUpdateRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	if len(req.Updates) == 0 {
		return &structs.IndexResponse{}, 0, nil
	}
	if id := r.acl.NodeID(); id != "" {
		if req.NodeID != "" && req.NodeID != id {
			return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: client node %s may not report for node %s", id, req.NodeID)
		}
		for _, u := range req.Updates {
			if u == nil {
				continue
			}
			if a, err := r.snap.AllocByID(nil, u.AllocID); err != nil {
				return nil, 0, err
			} else if a != nil && a.NodeID != id {
				return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: allocation %s runs on node %s, not on client node %s", a.ID, a.NodeID, id)
			}
		}
	}
	for _, u := range req.Updates {
		if u != nil && u.Client.Hook != nil {
			if err := u.Client.Hook.Validate(); err != nil {
				return nil, 0, structs.NewError(structs.CodeInvalid, "alloc %s: %v", u.AllocID, err)
			}
		}
	}
	req.Now = time.Now().UTC()
	// A gang job keeps its rank 0's outputs and logs (raft log format 8;
	// the leader drops this for a cluster that still holds older servers).
	req.RankZeroOutputs = true
	idx, err := s.reports.apply(&req) // report_batch.go
	if err != nil {
		return nil, 0, err
	}
	return &structs.IndexResponse{Index: idx}, idx, nil
}

func (s *Server) outputUpload(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	a, err := r.snap.AllocByID(nil, id)
	if err != nil {
		return nil, 0, err
	}
	if a == nil {
		drain(r.Request)
		return nil, 0, structs.NewError(structs.CodeNotFound, "allocation %s not found", id)
	}
	if err := ownNode(r, a.NodeID); err != nil {
		drain(r.Request)
		return nil, 0, err
	}
	digest, size, err := s.putBlob(r.Context(), r.Body)
	if err != nil {
		return nil, 0, err
	}
	return &structs.BlobInfo{Digest: digest, Size: size}, 0, nil
}

// gangInfo finds where rank 0 of a multi-node job's attempt runs: its
// node's host becomes every member's MASTER_ADDR.
func gangInfo(snap *state.Snapshot, a *structs.Allocation, j *structs.Job) (*structs.GangInfo, error) {
	siblings, err := snap.AllocsByJob(nil, a.JobID)
	if err != nil {
		return nil, err
	}
	var g *structs.GangInfo
	names := make([]string, j.Resources.Nodes)
	for _, sib := range siblings {
		if sib.Attempt != a.Attempt || sib.Rank < 0 || sib.Rank >= len(names) {
			continue
		}
		names[sib.Rank] = sib.NodeName
		if sib.Rank != 0 {
			continue
		}
		n, err := snap.NodeByID(nil, sib.NodeID)
		if err != nil {
			return nil, err
		}
		if n != nil {
			g = &structs.GangInfo{Nodes: j.Resources.Nodes, MasterAddr: nodeHost(n), MasterPort: structs.GangPort(j.ID)}
		}
	}
	if g != nil && !slices.Contains(names, "") {
		// Every rank's node, in rank order (SLURM_JOB_NODELIST).
		g.NodeNames = names
	}
	return g, nil
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
