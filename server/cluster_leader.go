package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/membership"
	"github.com/nai-project/nai/structs"
)

// startClusterLeader runs the leader's reconciliation of serf into raft
// until stop closes. It is called by leaderLoop after its barrier, so it
// acts on all state committed by earlier leaders.
func (s *Server) startClusterLeader(stop chan struct{}) {
	if s.cluster == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.clusterLeaderLoop(stop)
	}()
}

// clusterLeaderLoop reconciles on every serf change and on a timer. Its
// only memory, when each client was first seen failed, is rebuilt from
// serf by every new leader: a node's grace restarts on a leader change,
// which can only delay marking it down, never mark a live node down.
func (s *Server) clusterLeaderLoop(stop chan struct{}) {
	c := s.cluster
	sub := c.m.Subscribe()
	defer c.m.Unsubscribe(sub)
	ticker := time.NewTicker(c.tick)
	defer ticker.Stop()
	failedSince := map[string]time.Time{}
	s.startAutopilot()
	for {
		s.reconcileServers()
		s.reconcileNodes(failedSince, time.Now())
		s.pruneDeadServers(time.Now())
		select {
		case <-stop:
			return
		case <-s.shutdownCh:
			return
		case <-sub:
		case <-ticker.C:
		}
	}
}

// reconcileServers adds alive servers that raft does not know as voters
// (or updates their address), once they proved they are servers of this
// cluster (serverProven), and removes servers that left serf on
// purpose. Failed servers stay: they may come back, and removing them
// could shrink the quorum below what is safe.
func (s *Server) reconcileServers() {
	c := s.cluster
	fut := s.raft.GetConfiguration()
	if err := fut.Error(); err != nil {
		s.logger.Error("read raft configuration", "err", err)
		return
	}
	known := map[raft.ServerID]raft.ServerAddress{}
	for _, srv := range fut.Configuration().Servers {
		known[srv.ID] = srv.Address
	}
	mine := c.id()
	for _, mem := range c.servers() {
		id := raft.ServerID(mem.Name)
		addr, inRaft := known[id]
		switch {
		case mem.Alive():
			if mem.Name == s.cfg.NodeName {
				continue
			}
			if mem.Tags.ClusterID != "" && mine != "" && mem.Tags.ClusterID != mine {
				msg := fmt.Sprintf("server %s has data from cluster %s, not this cluster (%s): not adding it to raft", mem.Name, mem.Tags.ClusterID, mine)
				if c.problems.Set(membership.ProblemCluster+"/"+mem.Name, msg) {
					s.logger.Error(msg)
				}
				continue
			}
			if inRaft && addr == raft.ServerAddress(mem.Tags.RaftAddr) {
				continue
			}
			if !s.serverProven(mem, time.Now()) {
				continue
			}
			s.logger.Info("adding server to raft", "server", mem.Name, "raft_addr", mem.Tags.RaftAddr, "old_addr", addr)
			if err := s.await(s.raft.AddVoter(id, raft.ServerAddress(mem.Tags.RaftAddr), 0, s.cfg.ApplyTimeout)); err != nil {
				s.logger.Error("add server to raft", "server", mem.Name, "err", err)
			}
		case mem.Status == "left" && inRaft && mem.Name != s.cfg.NodeName:
			s.logger.Info("removing server that left from raft", "server", mem.Name)
			if err := s.await(s.raft.RemoveServer(id, 0, s.cfg.ApplyTimeout)); err != nil {
				s.logger.Error("remove server from raft", "server", mem.Name, "err", err)
			}
		}
	}
}

// reconcileNodes turns serf liveness into raft-committed node status: a
// client that serf shows failed (or left, or does not show at all) for the
// grace is marked down, which loses its allocations; one alive again is
// marked ready.
func (s *Server) reconcileNodes(failedSince map[string]time.Time, now time.Time) {
	c := s.cluster
	byID := map[string]membership.Member{}
	byName := map[string]membership.Member{}
	for _, mem := range c.m.Members() {
		if mem.TagsError != "" || !mem.Tags.Client {
			continue
		}
		if mem.Tags.NodeID != "" {
			byID[mem.Tags.NodeID] = mem
		}
		byName[mem.Name] = mem
	}
	nodes, err := s.State().Snapshot().Nodes(nil)
	if err != nil {
		s.logger.Error("read nodes", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		seen[n.ID] = true
		mem, ok := byID[n.ID]
		if !ok {
			mem, ok = byName[n.Name]
		}
		alive := ok && mem.Alive()
		if alive {
			delete(failedSince, n.ID)
			if n.Status == structs.NodeDown || !n.UnreachableSince.IsZero() {
				s.setNodeStatus(n, structs.NodeReady, "serf shows it alive again", now)
			}
			continue
		}
		if n.Status != structs.NodeReady {
			delete(failedSince, n.ID)
			continue
		}
		first, ok2 := failedSince[n.ID]
		if !ok2 {
			failedSince[n.ID] = now
			status := "absent from serf"
			if ok {
				status = mem.Status
			}
			s.logger.Warn("client node is not alive in serf; marking it down after the grace", "node", n.Name, "serf_status", status, "grace", c.grace)
			// One serf declared failed or left takes no new work through
			// the grace. One serf does not show at all may be a client
			// whose join has not reached this server yet (it registers
			// over HTTP as it joins): it stays schedulable.
			if ok && n.UnreachableSince.IsZero() {
				s.markUnreachable(n, now)
			}
			continue
		}
		if now.Sub(first) >= c.grace {
			s.setNodeStatus(n, structs.NodeDown, fmt.Sprintf("not alive in serf for %s", now.Sub(first).Round(time.Millisecond)), now)
			delete(failedSince, n.ID)
		}
	}
	for id := range failedSince {
		if !seen[id] {
			delete(failedSince, id)
		}
	}
}

// markUnreachable keeps new work off a ready node serf declared failed,
// through the grace: work placed there would start only once the node is
// back, or be lost with it.
func (s *Server) markUnreachable(n *structs.Node, now time.Time) {
	req := &structs.NodeStatusRequest{NodeID: n.ID, Status: structs.NodeReady, Unreachable: true, Now: now.UTC()}
	if _, _, err := s.apply(fsm.NodeStatus, req); err != nil {
		if errors.Is(err, fsm.ErrFormat) {
			// A server not yet upgraded: the node stays as before.
			s.logger.Debug("node not marked unreachable during the rolling upgrade", "node", n.Name, "err", err)
			return
		}
		s.logger.Error("mark node unreachable", "node", n.Name, "err", err)
	}
}

func (s *Server) setNodeStatus(n *structs.Node, status structs.NodeStatus, why string, now time.Time) {
	s.logger.Info("node status changes", "node", n.Name, "id", n.ID, "from", n.Status, "to", status, "why", why)
	req := &structs.NodeStatusRequest{NodeID: n.ID, Status: status, Now: now.UTC()}
	if _, _, err := s.apply(fsm.NodeStatus, req); err != nil {
		s.logger.Error("update node status", "node", n.Name, "status", status, "err", err)
	}
}

// Backoff of the identity check of a serf member that failed it.
const (
	unprovenRetryMin = 10 * time.Second
	unprovenRetryMax = 5 * time.Minute
)

// unproven is a serf member tagged server that failed the identity
// check, and when to check it again.
type unproven struct {
	addr  string
	retry time.Time
	wait  time.Duration
}

// serverProven says whether a serf member tagged server is one of this
// cluster's servers: the leader dials its raft address as raft would, and
// the member must complete the TLS handshake with a server certificate,
// or the key's handshake (raft_transport.go). A serf tag is only a claim:
// without this, any program that joined serf with Tags{Server: true}
// became a voter, took the quorum of a small cluster and was sent every
// log entry. A member that fails is warned about once (and listed in
// agent-info's problems), and checked again after a backoff, not on
// every reconciliation. Without TLS or a key nothing can be proven, and
// every member passes, as before (New refuses that with ACLs on).
func (s *Server) serverProven(mem membership.Member, now time.Time) bool {
	c := s.cluster
	c.mu.Lock()
	prev, known := c.unproven[mem.Name]
	c.mu.Unlock()
	if known && prev.addr == mem.Tags.RaftAddr && now.Before(prev.retry) {
		return false
	}
	_, err := s.verifyRaftPeer(mem.Tags.RaftAddr)
	kind := membership.ProblemUnproven + "/" + mem.Name
	if err == nil {
		if known {
			c.mu.Lock()
			delete(c.unproven, mem.Name)
			c.mu.Unlock()
			c.problems.Resolve(kind)
			s.logger.Info("serf member now proves it is a server of this cluster", "server", mem.Name, "raft_addr", mem.Tags.RaftAddr)
		}
		return true
	}
	wait := unprovenRetryMin
	if known && prev.addr == mem.Tags.RaftAddr {
		wait = min(2*prev.wait, unprovenRetryMax)
	}
	c.mu.Lock()
	if c.unproven == nil {
		c.unproven = map[string]unproven{}
	}
	c.unproven[mem.Name] = unproven{addr: mem.Tags.RaftAddr, retry: now.Add(wait), wait: wait}
	// Forget members serf no longer shows, so the record stays small.
	for name := range c.unproven {
		if _, ok := c.memberByName(name); !ok {
			delete(c.unproven, name)
		}
	}
	c.mu.Unlock()
	msg := fmt.Sprintf("serf member %s (%s) says it is a server, but its raft address %s did not prove it is one of this cluster's: not adding it to raft. "+
		"A server needs the same encrypt key, or with TLS a server certificate of the cluster's CA (nai tls cert create -server); anything else may be an impostor",
		mem.Name, mem.Addr, mem.Tags.RaftAddr)
	c.problems.Set(kind, msg)
	if !known || prev.addr != mem.Tags.RaftAddr {
		s.logger.Warn("not adding a serf member tagged server to raft: it did not prove it is a server of this cluster",
			"server", mem.Name, "serf_addr", mem.Addr, "raft_addr", mem.Tags.RaftAddr, "err", err)
	}
	return false
}
