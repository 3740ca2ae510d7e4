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

// RaftPeer is one server of the raft configuration.
type RaftPeer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"` // voter, nonvoter
	Leader   bool   `json:"leader"`
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
