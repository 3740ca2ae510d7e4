// Package membership wraps hashicorp/serf: every nai agent (server or
// client) is one member of a gossip cluster, and members find each other
// through it. Serf finds, raft decides: this package only reports who is
// there and how they are (alive, failed, left); the servers turn that into
// raft-committed state.
//
// The tags each member gossips are a small versioned contract (role, vsn,
// datacenter, HTTP and raft addresses, bootstrap_expect, node id) read by
// one function, ParseTags, into the typed Tags struct.
//
// Gossip travels through the package's own memberlist transport
// (transport.go: UDP datagrams and TCP streams on the serf port), which
// hands each datagram on in a buffer of its size rather than memberlist's
// fresh 64 KiB one, and uncompressed; it still reads the compressed gossip
// of agents of earlier versions.
//
// A tag is a claim, not a proof: anyone who can join serf can say it is a
// server. Whoever acts on the claim checks it: the leader has a server
// prove it over raft before adding it (server/cluster_leader.go), and the
// ServerProxy of a client-only agent, with TLS, calls only holders of a
// server certificate. Gossip encryption keeps strangers out of serf.
//
// Invariants:
//   - The serf event channel is always drained by one goroutine that never
//     blocks; consumers are woken through Subscribe (level-triggered: they
//     re-read Members) rather than being handed events they could miss.
//   - Problems an operator must see (a join that fails, a gossip key that
//     does not match, a duplicate node name) are recorded in Problems and
//     logged, never only one of the two.
//
// It must not import server, client, fsm or cmd: they import it.
package membership
