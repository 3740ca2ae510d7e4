package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestFormatCluster(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	members := []structs.AgentMember{
		{Name: "gpu-01", Addr: "10.0.0.11:4648", Status: "alive", Role: "client", Datacenter: "dc1", HTTPAddr: "10.0.0.11:4646", NodeID: "3f2c"},
		{Name: "s1", Addr: "10.0.0.1:4648", Status: "alive", Leader: true, Role: "server", Datacenter: "dc1", RaftAddr: "10.0.0.1:4647"},
		{Name: "s2", Addr: "10.0.0.2:4648", Status: "failed", Role: "server", Datacenter: "dc1", RaftAddr: "10.0.0.2:4647"},
	}
	peers := []structs.RaftPeer{
		{ID: "s1", Address: "10.0.0.1:4647", Suffrage: "voter", Leader: true, State: "leader", SerfStatus: "alive", Version: "v0.4.0", LogFormat: 2, LastIndex: 1200, Healthy: true},
		{ID: "s2", Address: "10.0.0.2:4647", Suffrage: "voter", State: "unreachable", SerfStatus: "failed", Problem: "serf: failed", FailedSince: now.Add(-2 * time.Minute)},
		{ID: "s3", Address: "10.0.0.3:4647", Suffrage: "voter", State: "follower", SerfStatus: "alive", Version: "v0.4.0", LogFormat: 2, LastIndex: 1190, Lag: 10,
			LastContact: structs.Duration(40 * time.Millisecond), Healthy: true},
	}
	// s3's own view after s1 and s2 stopped answering: no leader.
	stale := []structs.RaftPeer{
		{ID: "s1", Address: "10.0.0.1:4647", Suffrage: "voter", State: "unreachable", SerfStatus: "failed", LogFormat: 2, Problem: "serf: failed"},
		{ID: "s2", Address: "10.0.0.2:4647", Suffrage: "voter", State: "unreachable", SerfStatus: "failed", LogFormat: 2, Problem: "serf: failed"},
		{ID: "s3", Address: "10.0.0.3:4647", Suffrage: "voter", State: "candidate", Self: true, SerfStatus: "alive", Version: "v0.4.0", LogFormat: 2,
			LastIndex: 1190, LastContact: structs.Duration(95 * time.Second), Problem: "it is calling an election"},
	}
	leaderless := &structs.AgentSelf{Name: "s3", Version: "1.2.0", Role: "server", Datacenter: "dc1", SerfAddr: "10.0.0.3:4648", HTTPAddr: "10.0.0.3:4646",
		RaftAddr: "10.0.0.3:4647", RaftState: "Candidate", RaftLastIndex: 1190, StateIndex: 1190, ClusterID: "35a6d283a50cc6d7", BootstrapExpect: 3, AliveMembers: 3,
		Problems: []structs.AgentProblem{{Kind: "no-leader", Message: "no raft leader for 1m35s: this server is Candidate; 1 of 3 voters seen alive in serf (2 needed to elect one); quorum is lost: if the others are gone for good, see \"Recovering from a lost quorum\" in docs/operations.md (peers.json), and `nai operator raft list-peers -stale` for this server's raft configuration",
			First: now.Add(-95 * time.Second), Last: now, Count: 1}}}
	healthy := &structs.AgentSelf{Name: "s1", Version: "1.2.0", Role: "server", Datacenter: "dc1", SerfAddr: "10.0.0.1:4648", HTTPAddr: "10.0.0.1:4646",
		RaftAddr: "10.0.0.1:4647", Leader: true, LeaderAddr: "10.0.0.1:4647", RaftState: "Leader", RaftLastIndex: 120, StateIndex: 118,
		ClusterID: "35a6d283a50cc6d7", BootstrapExpect: 3, Encrypted: true, AliveMembers: 5}
	troubled := &structs.AgentSelf{Name: "gpu-02", Role: "client", Datacenter: "dc1", SerfAddr: "10.0.0.12:4648", AliveMembers: 1,
		Problems: []structs.AgentProblem{
			{Kind: "join", Message: "cannot join the cluster through [10.0.0.9:4648]: dial tcp 10.0.0.9:4648: connect: connection refused (retrying)", Last: now.Add(-3 * time.Second), Count: 4},
			{Kind: "encrypt", Message: "gossip encryption does not match a peer's: every agent needs the same `encrypt` key", Last: now.Add(-time.Minute), Count: 1},
		}}
	cases := []struct {
		name   string
		format func(*bytes.Buffer) error
	}{
		{"server_members", func(b *bytes.Buffer) error { return formatMembers(b, members) }},
		{"raft_peers", func(b *bytes.Buffer) error { return formatPeers(b, peers, false) }},
		{"raft_peers_stale", func(b *bytes.Buffer) error {
			if err := formatStaleHeader(b, stale); err != nil {
				return err
			}
			return formatPeers(b, stale, true)
		}},
		{"agent_info_no_leader", func(b *bytes.Buffer) error { return formatAgentInfo(b, leaderless, now) }},
		{"agent_info", func(b *bytes.Buffer) error { return formatAgentInfo(b, healthy, now) }},
		{"agent_info_problems", func(b *bytes.Buffer) error { return formatAgentInfo(b, troubled, now) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.format(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}
