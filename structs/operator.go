package structs

import "time"

// RaftStats is one server's own view of raft (GET /v1/agent/raft): what
// the leader gathers from every server for `nai operator raft list-peers`.
type RaftStats struct {
	Name         string `json:"name"`
	State        string `json:"state"` // Leader, Follower, Candidate
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// LastContact is when it last heard from a leader (zero: never, or it
	// leads).
	LastContact time.Time `json:"last_contact,omitzero"`
	Version     string    `json:"version"`
	LogFormat   int       `json:"log_format"`
	// ClusterLogFormat is the format this server writes entries in while
	// it leads: the oldest that any server of the cluster reads.
	ClusterLogFormat int `json:"cluster_log_format,omitempty"`
}
