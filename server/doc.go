// Package server is the servers' side of nai: it wires raft (hashicorp/raft
// with raft-boltdb/v2 stores and a file snapshot store) to the FSM, runs the
// leader's scheduling loop, serves the HTTP API, and keeps the blob store of
// job outputs, code, datasets and models (content-addressed files, streamed
// in and out, with resumable upload sessions: blobs_upload.go). Which
// servers hold each blob is in raft; every server copies the blobs it
// lacks from a peer, fetches on demand what it is asked for and lacks,
// re-hashes copies that changed (and all of them in a periodic scrub), and
// the leader garbage-collects unreferenced blobs (blob_replicate.go,
// blob_gc.go).
//
// Every write goes through raft: a handler builds a typed request (with the
// times it needs already chosen), applies it, and answers from the FSM's
// response. Reads come from immutable state snapshots; list reads support
// blocking queries (?index=N&wait=30s).
//
// Only the leader schedules. The scheduler is woken by every state change
// (debounced by a millisecond, so a burst of submissions is planned in one
// pass) and by a slow timer for time-based rules; it plans from a snapshot
// and the plan goes back through raft, where the state store re-checks it.
//
// Services (http_services.go, services.go): every server answers
// /v1/services/NAME/<rest> through its gateway (package gateway), whose
// replica table a watch on this server's own state keeps current; such
// calls are neither forwarded to the leader nor audited. The leader rolls
// back rollouts whose new replicas are not healthy by their deadline.
//
// server imports fsm, scheduler, gateway, structs and api (for proxying
// client log streams); it never imports client or cmd.
package server
