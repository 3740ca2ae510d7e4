// Package state is nai's replicated state store: the tables that the raft
// FSM writes (jobs, allocations, nodes, the scheduling policy's queues,
// shares and quotas, and the per-table raft indexes), kept in a
// hashicorp/go-memdb database. RegisterJobs checks each job against its
// queue (queues.go).
//
// Datasets and models (artifacts.go) are one row per name holding every
// version. RegisterJobs pins each dataset and model a job reads to a version
// number and digest in the same transaction, and the transaction that
// completes a job with output { model = ... } adds its outputs as the
// model's next version with lineage, so neither is ever seen half done.
// Cluster plugins (plugins.go) are artifacts of a third kind: a job built
// from one is pinned to the version whose content is its code, and the
// transaction that completes a job with output { dataset = ... } adds the
// dataset's next version with the job, its inputs and its plugin as
// lineage. A client's report of a failed node hook drains the node in the
// transaction that records it (hooks.go).
//
// Writes come only from the FSM, one memdb write transaction per raft log
// entry, committed whole or not at all. Every write takes the raft index of
// its entry and every time it records comes from the request (chosen by the
// leader before raft), so each replica that applies the same log reaches the
// same state: no clock, no randomness and no map iteration order decides
// anything here. Job IDs come from a counter kept in the state itself.
//
// Reads go through a Snapshot, a cheap immutable view (a memdb read
// transaction). Objects returned by a snapshot are shared with the store and
// must never be changed by callers; writers copy an object before changing
// it. BlockingQuery runs a read again whenever something it watched changes,
// for the API's ?index=N&wait=30s queries.
//
// Services (services.go) are jobs whose replicas are their allocations;
// placing replicas, scaling, rollouts and rollbacks are transactions of
// their own there.
//
// Persist and Restore write and read every table as a stream of typed
// records, for raft snapshots.
//
// state imports structs and the memdb library only; it never imports
// server, client or scheduler (tests may import scheduler to check that
// SchedulerView implements scheduler.State).
package state
