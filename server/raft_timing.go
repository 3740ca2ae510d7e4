package server

import (
	"time"

	"github.com/hashicorp/raft"
)

// Raft's timing in a cluster, scaled as Consul's raft_multiplier does.
//
// A follower that hears nothing from the leader for a heartbeat timeout
// (a random time between one and two of them) calls an election, so the
// timeout is most of the time a failover takes: with raft's own default
// (one second) a write waited two seconds after the leader died. At
// multiplier 1 the timeout is raftTimeBase, 100 ms; the default, 3, makes
// it 300 ms, which elects a new leader within about half a second of the
// old one's death and, in the soak with this machine's CPU saturated
// (e2e TestClusterSoakNoSpuriousElectionsLong), called no election while
// the leader lived: the leader sends heartbeats ten times per timeout.
// Slow or lossy networks want a larger multiplier; 10 is raft's default.
const (
	raftTimeBase = 100 * time.Millisecond
	// DefaultRaftMultiplier is the multiplier of a server that sets none.
	DefaultRaftMultiplier = 3
	// MaxRaftMultiplier bounds the multiplier.
	MaxRaftMultiplier = 20
)

// setRaftTiming sets the election and lease timeouts for multiplier m
// (0: DefaultRaftMultiplier).
func setRaftTiming(rc *raft.Config, m int) {
	if m <= 0 {
		m = DefaultRaftMultiplier
	}
	d := time.Duration(m) * raftTimeBase
	rc.HeartbeatTimeout = d
	rc.ElectionTimeout = d
	// The leader steps down when it has not heard from a majority for
	// this long; raft wants it no longer than the heartbeat timeout.
	rc.LeaderLeaseTimeout = d
}
