package server

import (
	"net/http"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/membership"
	"github.com/nai-project/nai/structs"
)

// clusterRoutes registers the routes that describe the cluster. The agent
// and status routes answer from this server (see forward).
func (s *Server) clusterRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/status/peers", s.handlePeers)
	mux.HandleFunc("GET /v1/agent/members", s.handleMembers)
	mux.HandleFunc("GET /v1/agent/self", s.handleAgentSelf)
	mux.HandleFunc("PUT /v1/agent/force-leave", s.handleForceLeave)
	mux.HandleFunc("GET /v1/operator/raft/configuration", s.handleRaftConfiguration)
	mux.HandleFunc("DELETE /v1/operator/raft/peer", s.handleRaftRemovePeer)
}

func (s *Server) raftServers() ([]raft.Server, error) {
	fut := s.raft.GetConfiguration()
	if err := fut.Error(); err != nil {
		return nil, structs.NewError(structs.CodeUnavailable, "read raft configuration: %v", err)
	}
	return fut.Configuration().Servers, nil
}

func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) {
	servers, err := s.raftServers()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]string, 0, len(servers))
	for _, srv := range servers {
		out = append(out, string(srv.Address))
	}
	writeJSON(w, 0, out)
}

func (s *Server) handleRaftConfiguration(w http.ResponseWriter, r *http.Request) {
	servers, err := s.raftServers()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	_, leader := s.raft.LeaderWithID()
	out := make([]api.RaftPeer, 0, len(servers))
	for _, srv := range servers {
		out = append(out, api.RaftPeer{ID: string(srv.ID), Address: string(srv.Address), Suffrage: suffrage(srv.Suffrage), Leader: srv.ID == leader})
	}
	writeJSON(w, 0, out)
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

func (s *Server) handleRaftRemovePeer(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "remove raft peer: ?id= (the server's node name) is required"))
		return
	}
	servers, err := s.raftServers()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	found := false
	for _, srv := range servers {
		found = found || string(srv.ID) == id
	}
	if !found {
		s.writeError(w, r, structs.NewError(structs.CodeNotFound, "raft has no server %q (see `nai operator raft list-peers`)", id))
		return
	}
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		if err == raft.ErrNotLeader {
			err = structs.NewError(structs.CodeNotLeader, "this server is not the raft leader")
		}
		s.writeError(w, r, err)
		return
	}
	s.logger.Info("removed server from raft by operator request", "server", id)
	writeJSON(w, 0, map[string]any{"removed": id})
}

func (s *Server) handleForceLeave(w http.ResponseWriter, r *http.Request) {
	if s.cluster == nil {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "force-leave needs a cluster: this agent runs in dev mode"))
		return
	}
	node := r.URL.Query().Get("node")
	if err := ForceLeave(s.cluster.m, node); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.logger.Info("forced a failed member to leave", "member", node)
	writeJSON(w, 0, map[string]any{"left": node})
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

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	if s.cluster == nil {
		// A dev agent is a cluster of one.
		writeJSON(w, 0, []api.AgentMember{{
			Name: s.cfg.NodeName, Addr: s.RaftAddr(), Status: "alive", Leader: s.IsLeader(),
			Role: "server,client", Datacenter: "dc1", RaftAddr: s.RaftAddr(),
		}})
		return
	}
	_, leader := s.raft.LeaderWithID()
	writeJSON(w, 0, AgentMembers(s.cluster.m, string(leader)))
}

// AgentMembers lists serf's members in the API's shape; leader is the raft
// leader's id ("" when unknown).
func AgentMembers(m *membership.Membership, leader string) []api.AgentMember {
	ms := m.Members()
	out := make([]api.AgentMember, 0, len(ms))
	for _, mem := range ms {
		out = append(out, api.AgentMember{
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
func AgentSelfOf(m *membership.Membership) *api.AgentSelf {
	local := m.Local()
	out := &api.AgentSelf{
		Name: local.Name, Role: local.Tags.Role(), Datacenter: local.Tags.Datacenter,
		SerfAddr: local.Addr, HTTPAddr: local.Tags.HTTPAddr, RaftAddr: local.Tags.RaftAddr,
		Encrypted: m.Encrypted(), ClusterID: local.Tags.ClusterID, BootstrapExpect: local.Tags.BootstrapExpect,
		Problems: []api.AgentProblem{},
	}
	for _, mem := range m.Members() {
		if mem.Alive() {
			out.AliveMembers++
		}
	}
	for _, p := range m.Problems().List() {
		out.Problems = append(out.Problems, api.AgentProblem{Kind: p.Kind, Message: p.Message, First: p.First, Last: p.Last, Count: p.Count})
	}
	return out
}

func (s *Server) handleAgentSelf(w http.ResponseWriter, r *http.Request) {
	out := &api.AgentSelf{Name: s.cfg.NodeName, Role: "server,client", Datacenter: "dc1", Problems: []api.AgentProblem{}}
	if s.cluster != nil {
		out = AgentSelfOf(s.cluster.m)
		out.BootstrapExpect = s.cfg.BootstrapExpect
		out.ClusterID = s.cluster.id()
	}
	out.RaftAddr = s.RaftAddr()
	out.Leader = s.IsLeader()
	out.LeaderAddr = s.LeaderAddr()
	out.RaftState = s.raft.State().String()
	out.RaftLastIndex = s.raft.LastIndex()
	out.StateIndex = s.State().LatestIndex()
	writeJSON(w, 0, out)
}
