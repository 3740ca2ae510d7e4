// Package fsm is nai's raft finite state machine: a thin, deterministic
// dispatcher from typed raft log entries to the state store in fsm/state.
//
// A log entry is [message type][encoding version][JSON request] (see
// Encode). One table, commands (commands.go), is the only list of message
// types: each command has its name, a decoder for every encoding version of
// its request any release wrote, and an apply that makes exactly one state
// store call with the entry's raft index. Golden entries of every command
// (testdata/entries, TestGoldenEntries) pin the encoding and replay into a
// golden state, so a change that old logs would read differently fails the
// build; changing a request incompatibly means a new version with the old
// decoder kept. Every time and id a write needs is chosen by the leader before the
// entry reaches raft, so Apply reads no clock, draws no random number and
// lets no map order decide anything: every server that applies the same log
// holds the same state.
//
// Raft log formats (format.go) name which commands and versions a server
// reads; servers advertise theirs, and a leader encodes each entry for the
// oldest format of its cluster (EncodeAt), through a command's downgrade
// when an older version can carry the request, so that a rolling upgrade
// never hands a server an entry it cannot apply.
//
// A message type with IgnoreUnknownFlag set may be skipped by a server that
// does not know it (or its version), so that new optional messages can be
// rolled out one server at a time; a server that knows it strips the flag
// and applies it. An unknown type or version without the flag stops the
// server: it would otherwise silently diverge from the others.
//
// Snapshot and Restore follow hashicorp/raft's FSM contract: Snapshot takes
// a cheap immutable view, Persist streams every table of the schema (and
// cancels the sink on any error), Restore builds fresh contents and swaps
// them in; snapshots of every older format still restore.
//
// fsm imports structs, fsm/state and raft; it never imports server, client
// or scheduler, and does no networking.
package fsm
