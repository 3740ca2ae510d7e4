package structs

import "time"

// What agents say about themselves and the cluster (GET /v1/agent/...,
// /v1/operator/raft/...).

// AgentMember is one agent of the serf cluster.
type AgentMember struct {
	Name            string `json:"name"`
	Addr            string `json:"addr"`   // serf host:port
	Status          string `json:"status"` // alive, leaving, left, failed
	Leader          bool   `json:"leader"` // the raft leader
	Role            string `json:"role"`   // server, client or server,client
	Datacenter      string `json:"datacenter"`
	HTTPAddr        string `json:"http_addr,omitempty"`
	RaftAddr        string `json:"raft_addr,omitempty"`
	NodeID          string `json:"node_id,omitempty"`
	BootstrapExpect int    `json:"bootstrap_expect,omitempty"`
	TagsError       string `json:"tags_error,omitempty"`
}

// RaftPeer is one server of the raft configuration, with its health as
// the server that answered sees it (`nai operator raft list-peers`).
type RaftPeer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"` // voter, nonvoter
	Leader   bool   `json:"leader"`
	// State is the server's raft state as it reports it (leader,
	// follower, candidate), "unreachable" when serf does not show it
	// alive or it does not answer, "" when not asked (a stale listing
	// asks no other server).
	State string `json:"state,omitempty"`
	// Self marks the server that answered the listing: a stale listing
	// is its view of the raft configuration.
	Self bool `json:"self,omitempty"`

	// SerfStatus is alive, failed or left, "absent" when serf does not
	// list the server.
	SerfStatus string `json:"serf_status,omitempty"`
	// Version is its nai build and LogFormat the newest raft log format
	// it reads (0: unknown).
	Version   string `json:"version,omitempty"`
	LogFormat int    `json:"log_format,omitempty"`
	// LastIndex is its last raft index, Lag how many entries it is behind
	// the leader, LastContact how long ago it last heard from the leader
	// (0 for the leader).
	LastIndex   uint64   `json:"last_index"`
	Lag         uint64   `json:"lag"`
	LastContact Duration `json:"last_contact"`
	// Healthy: alive in serf, answering, in touch with the leader and
	// not far behind it; Problem says what is wrong otherwise.
	Healthy bool   `json:"healthy"`
	Problem string `json:"problem,omitempty"`
	// FailedSince is when the leader first saw it not alive in serf
	// (dead server cleanup counts from it).
	FailedSince time.Time `json:"failed_since,omitzero"`
}

// AgentProblem is a condition the operator should fix (a failing join, a
// gossip key mismatch, a duplicate node name, ...).
type AgentProblem struct {
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Count   int       `json:"count"`
}

// AgentHealth is a server's answer to a load balancer's health check
// (GET /v1/agent/health): status "ok" (HTTP 200), or "catching_up"
// (HTTP 503) while its state replays raft's log, with why in Message.
type AgentHealth struct {
	Status  string `json:"status"`
	Name    string `json:"name"`
	Leader  string `json:"leader"` // the raft leader's address, "" when none is known
	Message string `json:"message,omitempty"`
}

// AgentSelf describes the agent answering.
type AgentSelf struct {
	Name string `json:"name"`
	// Version is the nai build the agent runs (internal/version).
	Version         string         `json:"version,omitempty"`
	Role            string         `json:"role"`
	Datacenter      string         `json:"datacenter"`
	SerfAddr        string         `json:"serf_addr,omitempty"`
	HTTPAddr        string         `json:"http_addr,omitempty"`
	RaftAddr        string         `json:"raft_addr,omitempty"`
	Encrypted       bool           `json:"encrypted"`
	Leader          bool           `json:"leader"`
	LeaderAddr      string         `json:"leader_addr,omitempty"`
	RaftState       string         `json:"raft_state,omitempty"`
	RaftLastIndex   uint64         `json:"raft_last_index,omitempty"`
	StateIndex      uint64         `json:"state_index,omitempty"`
	ClusterID       string         `json:"cluster_id,omitempty"`
	BootstrapExpect int            `json:"bootstrap_expect,omitempty"`
	AliveMembers    int            `json:"alive_members"`
	ACLEnabled      bool           `json:"acl_enabled"`
	TLSEnabled      bool           `json:"tls_enabled"`
	Problems        []AgentProblem `json:"problems"`
}

// MemberLeft answers a force-leave.
type MemberLeft struct {
	Left string `json:"left"`
}

// PeerRemoved answers the removal of a raft peer.
type PeerRemoved struct {
	Removed string `json:"removed"`
}
