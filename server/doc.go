// Package server is the servers' side of nai: it wires raft (hashicorp/raft
// with raft-boltdb/v2 stores and a file snapshot store) to the FSM, runs the
// leader's scheduling loop, serves the HTTP API, and keeps the blob store of
// job outputs, code, datasets and models. The store and its replication are
// the package server/blobstore (content-addressed files with resumable
// upload sessions; a replicator that copies what this server lacks from a
// peer, fetches on demand, re-hashes changed copies and scrubs them all);
// this package gives it raft, serf and HTTP (blob_replicate.go), serves the
// blob routes (blobs.go, blobs_upload.go), and the leader garbage-collects
// unreferenced blobs (blob_gc.go).
//
// Every write goes through raft: a handler builds a typed request (with the
// times it needs already chosen), applies it, and answers from the FSM's
// response. Reads come from immutable state snapshots; list reads support
// blocking queries (?index=N&wait=30s).
//
// Operations (the operator's kit): snapshots for backups, checked whole
// before raft restores them (snapshot.go); autopilot (autopilot.go): the
// raft log format the leader writes during rolling upgrades, dead server
// cleanup that never goes below a majority, and the servers' health for
// list-peers; initial tokens from the configuration (acl_initial.go).
//
// Only the leader schedules. The scheduler is woken by every state change
// (debounced by a millisecond, so a burst of submissions is planned in one
// pass) and by a slow timer for time-based rules; it plans from a snapshot
// and the plan goes back through raft, where the state store re-checks it.
//
// Raft is for servers only (raft_transport.go): inside mutual TLS with
// server certificates, or behind a handshake keyed from the gossip key;
// the leader adds a serf member tagged server to raft only once it proved
// the same (cluster_leader.go), and a server with ACLs on and neither
// refuses to start.
//
// Services (http_services.go, services.go): every server answers
// /v1/services/NAME/<rest> through its gateway (package gateway), whose
// replica table a watch on this server's own state keeps current; such
// calls are neither forwarded to the leader nor audited. The leader rolls
// back rollouts whose new replicas are not healthy by their deadline.
//
// server imports acl, fsm, fsm/state, gateway, membership, scheduler,
// server/blobstore, structs and a few internal helpers; it never imports
// api, client or cmd (internal/archtest checks).
package server
