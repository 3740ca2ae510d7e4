// Package fsm is nai's raft finite state machine: a thin, deterministic
// dispatcher from typed raft log entries to the state store in fsm/state.
//
// A log entry is [message type][version][JSON request] (see Encode). One
// explicit table maps each message type to a handler that decodes the
// request and makes exactly one state store call with the entry's raft
// index. Every time and id a write needs is chosen by the leader before the
// entry reaches raft, so Apply reads no clock, draws no random number and
// lets no map order decide anything: every server that applies the same log
// holds the same state.
//
// A message type with IgnoreUnknownFlag set may be skipped by a server that
// does not know it, so that new optional messages can be rolled out one
// server at a time. An unknown type without the flag stops the server: it
// would otherwise silently diverge from the others.
//
// Snapshot and Restore follow hashicorp/raft's FSM contract: Snapshot takes
// a cheap immutable view, Persist streams it (and cancels the sink on any
// error), Restore builds fresh contents and swaps them in.
//
// fsm imports structs, fsm/state and raft; it never imports server, client
// or scheduler, and does no networking.
package fsm
