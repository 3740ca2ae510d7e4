package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/internal/version"
	"github.com/nai-project/nai/membership"
	"github.com/nai-project/nai/structs"
)

func (s *Server) raftServers() ([]raft.Server, error) {
	fut := s.raft.GetConfiguration()
	if err := fut.Error(); err != nil {
		return nil, structs.NewError(structs.CodeUnavailable, "read raft configuration: %v", err)
	}
	return fut.Configuration().Servers, nil
}

func (s *Server) statusPeers(r *request) (any, uint64, error) {
	servers, err := s.raftServers()
	if err != nil {
		return nil, 0, err
	}
	out := make([]string, 0, len(servers))
	for _, srv := range servers {
		out = append(out, string(srv.Address))
	}
	return out, 0, nil
}

func (s *Server) raftConfiguration(r *request) (any, uint64, error) {
	servers, err := s.raftServers()
	if err != nil {
		return nil, 0, err
	}
	_, leader := s.raft.LeaderWithID()
	out := make([]structs.RaftPeer, 0, len(servers))
	for _, srv := range servers {
		out = append(out, structs.RaftPeer{ID: string(srv.ID), Address: string(srv.Address), Suffrage: suffrage(srv.Suffrage),
			Leader: srv.ID == leader, Self: srv.ID == raft.ServerID(s.cfg.NodeName)})
	}
	if r.URL.Query().Has("stale") {
		// This server's own view, at once: no other server is asked
		// (one stopped, or cut off, would hold the answer), so that it
		// answers when quorum is lost.
		s.addLocalPeerHealth(out)
		return out, 0, nil
	}
	s.addPeerHealth(r.Context(), out, servers)
	return out, 0, nil
}

func suffrage(v raft.ServerSuffrage) string {
	switch v {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter:
		return "nonvoter"
	}
	return "staging"
}

func (s *Server) raftRemovePeer(r *request) (any, uint64, error) {
	id := r.URL.Query().Get("id")
	if id == "" {
		return nil, 0, structs.NewError(structs.CodeInvalid, "remove raft peer: ?id= (the server's node name) is required")
	}
	r.audit = "server " + id
	servers, err := s.raftServers()
	if err != nil {
		return nil, 0, err
	}
	found := false
	for _, srv := range servers {
		found = found || string(srv.ID) == id
	}
	if !found {
		return nil, 0, structs.NewError(structs.CodeNotFound, "raft has no server %q (see `nai operator raft list-peers`)", id)
	}
	// A server serf shows alive would be added back by the leader's
	// reconciliation within seconds: the removal would only cost a
	// moment of quorum. force-leave refuses the same.
	if s.cluster != nil {
		for _, mem := range s.cluster.m.Members() {
			if mem.Name == id && mem.Alive() {
				return nil, 0, structs.NewError(structs.CodeConflict, "server %s is alive: the leader would add it back at once; stop its agent (SIGINT leaves and removes it from raft), or after a SIGTERM or crash wait until `nai server members` shows it failed", id)
			}
		}
	}
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		if err == raft.ErrNotLeader {
			err = structs.NewError(structs.CodeNotLeader, "this server is not the raft leader")
		}
		return nil, 0, err
	}
	s.logger.Info("removed server from raft by operator request", "server", id)
	return &structs.PeerRemoved{Removed: id}, 0, nil
}

func (s *Server) agentForceLeave(r *request) (any, uint64, error) {
	if s.cluster == nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "force-leave needs a cluster: this agent runs in dev mode")
	}
	node := r.URL.Query().Get("node")
	if node != "" {
		r.audit = "agent " + node
	}
	if err := ForceLeave(s.cluster.m, node); err != nil {
		return nil, 0, err
	}
	s.logger.Info("forced a failed member to leave", "member", node)
	return &structs.MemberLeft{Left: node}, 0, nil
}

// ForceLeave marks a failed member as left; the leader then removes a
// server from raft. Alive members are refused: they would come right back.
func ForceLeave(m *membership.Membership, node string) error {
	if node == "" {
		return structs.NewError(structs.CodeInvalid, "force-leave: ?node= (the member's name) is required")
	}
	for _, mem := range m.Members() {
		if mem.Name != node {
			continue
		}
		if mem.Alive() {
			return structs.NewError(structs.CodeConflict, "member %s is alive: stop its agent (SIGINT leaves gracefully) instead of forcing it out", node)
		}
		return m.ForceLeave(node)
	}
	return structs.NewError(structs.CodeNotFound, "serf has no member %q (see `nai server members`)", node)
}

func (s *Server) agentMembers(r *request) (any, uint64, error) {
	if s.cluster == nil {
		// A dev agent is a cluster of one.
		return []structs.AgentMember{{
			Name: s.cfg.NodeName, Addr: s.RaftAddr(), Status: "alive", Leader: s.IsLeader(),
			Role: "server,client", Datacenter: "dc1", RaftAddr: s.RaftAddr(),
		}}, 0, nil
	}
	_, leader := s.raft.LeaderWithID()
	return AgentMembers(s.cluster.m, string(leader)), 0, nil
}

// AgentMembers lists serf's members in the API's shape; leader is the raft
// leader's id ("" when unknown).
func AgentMembers(m *membership.Membership, leader string) []structs.AgentMember {
	ms := m.Members()
	out := make([]structs.AgentMember, 0, len(ms))
	for _, mem := range ms {
		out = append(out, structs.AgentMember{
			Name: mem.Name, Addr: mem.Addr, Status: mem.Status,
			Leader:     leader != "" && mem.Name == leader && mem.Tags.Server,
			Role:       mem.Tags.Role(),
			Datacenter: mem.Tags.Datacenter, HTTPAddr: mem.Tags.HTTPAddr, RaftAddr: mem.Tags.RaftAddr,
			NodeID: mem.Tags.NodeID, BootstrapExpect: mem.Tags.BootstrapExpect, TagsError: mem.TagsError,
		})
	}
	return out
}

// AgentSelfOf describes an agent from its membership alone (a client-only
// agent has no raft); the server fills in the rest.
func AgentSelfOf(m *membership.Membership) *structs.AgentSelf {
	local := m.Local()
	out := &structs.AgentSelf{
		Name: local.Name, Role: local.Tags.Role(), Datacenter: local.Tags.Datacenter,
		SerfAddr: local.Addr, HTTPAddr: local.Tags.HTTPAddr, RaftAddr: local.Tags.RaftAddr,
		Encrypted: m.Encrypted(), ClusterID: local.Tags.ClusterID, BootstrapExpect: local.Tags.BootstrapExpect,
		Problems: []structs.AgentProblem{},
	}
	for _, mem := range m.Members() {
		if mem.Alive() {
			out.AliveMembers++
		}
	}
	for _, p := range m.Problems().List() {
		out.Problems = append(out.Problems, structs.AgentProblem{Kind: p.Kind, Message: p.Message, First: p.First, Last: p.Last, Count: p.Count})
	}
	return out
}

func (s *Server) agentSelf(r *request) (any, uint64, error) {
	out := &structs.AgentSelf{Name: s.cfg.NodeName, Role: "server,client", Datacenter: "dc1", Problems: []structs.AgentProblem{}}
	if s.cluster != nil {
		out = AgentSelfOf(s.cluster.m)
		out.BootstrapExpect = s.cfg.BootstrapExpect
		out.ClusterID = s.cluster.id()
	}
	out.Version = version.Get().Version
	out.RaftAddr = s.RaftAddr()
	out.Leader = s.IsLeader()
	out.LeaderAddr = s.LeaderAddr()
	out.RaftState = s.raft.State().String()
	out.RaftLastIndex = s.raft.LastIndex()
	out.StateIndex = s.State().LatestIndex()
	out.ACLEnabled = s.cfg.ACL.Enabled
	out.TLSEnabled = s.tls != nil
	if p, ok := s.noLeaderProblem(time.Now()); ok {
		out.Problems = append(out.Problems, p)
	}
	if p, ok := s.catchingUpProblem(time.Now()); ok {
		out.Problems = append(out.Problems, p)
	}
	return out, 0, nil
}

// agentHealth answers load balancers' health checks cheaply and without a
// token: 200 while this server answers from an up-to-date state, 503
// while it catches up with raft's log (catchup.go).
func (s *Server) agentHealth(w http.ResponseWriter, r *request) error {
	out := structs.AgentHealth{Status: "ok", Name: s.cfg.NodeName, Leader: s.LeaderAddr()}
	status := http.StatusOK
	if applied, target, ok := s.caughtUp(); !ok {
		out.Status, out.Message, status = "catching_up", s.catchingUpText(applied, target), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(out)
}

// noLeaderGrace is how long a server may be without a raft leader before
// agent-info lists it as a problem: an election takes well under a second.
const noLeaderGrace = 5 * time.Second

// noLeaderProblem describes a server of a cluster that has had no raft
// leader for longer than noLeaderGrace: its raft state and how many
// voters of its own raft configuration serf shows alive.
func (s *Server) noLeaderProblem(now time.Time) (structs.AgentProblem, bool) {
	if s.cluster == nil {
		return structs.AgentProblem{}, false
	}
	if _, id := s.raft.LeaderWithID(); id != "" {
		return structs.AgentProblem{}, false
	}
	since := now
	if ns := s.leaderless.Load(); ns != 0 {
		since = time.Unix(0, ns)
	}
	if now.Sub(since) < noLeaderGrace {
		return structs.AgentProblem{}, false
	}
	p := structs.AgentProblem{Kind: "no-leader", First: since.UTC(), Last: now.UTC(), Count: 1}
	servers, err := s.raftServers()
	if err == nil && len(servers) == 0 {
		p.Message = fmt.Sprintf("no raft leader for %s: raft has not bootstrapped yet (bootstrap_expect %d: it waits for that many servers in serf)",
			now.Sub(since).Round(time.Second), s.cfg.BootstrapExpect)
		return p, true
	}
	voters, alive := s.votersAlive(servers)
	p.Message = fmt.Sprintf("no raft leader for %s: this server is %s; %d of %d voters seen alive in serf (%d needed to elect one)",
		now.Sub(since).Round(time.Second), s.raft.State(), alive, voters, voters/2+1)
	if alive <= voters/2 {
		p.Message += "; quorum is lost: if the others are gone for good, see \"Recovering from a lost quorum\" in docs/operations.md (peers.json), and `nai operator raft list-peers -stale` for this server's raft configuration"
	} else {
		p.Message += "; see `nai operator raft list-peers -stale` and each server's log"
	}
	return p, true
}

// votersAlive counts the voters of a raft configuration and those serf
// shows alive (this server always counts as alive).
func (s *Server) votersAlive(servers []raft.Server) (voters, alive int) {
	up := map[string]bool{s.cfg.NodeName: true}
	if s.cluster != nil {
		for _, mem := range s.cluster.servers() {
			if mem.Alive() {
				up[mem.Name] = true
			}
		}
	}
	for _, srv := range servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters++
		if up[string(srv.ID)] {
			alive++
		}
	}
	return voters, alive
}
