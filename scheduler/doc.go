// Package scheduler decides which pending jobs start where. It is a pure,
// deterministic function of a read-only State and a time:
//
//	plan := scheduler.New(cfg).Plan(state, now)
//
// The plan lists placements (node and GPU indices, one per node and rank for
// a gang job), preemptions, cancellations (a dependency that can never be
// met) and, for every other pending job, exactly one WaitStatus with a code,
// a reason a user understands and, when known, an estimated start. The
// leader applies the plan through raft and re-checks it against the newest
// state; the simulator (package sim) replays traces through the same code.
//
// A pass, stage by stage:
//
//   - order (priority.go): queue tier, then Slurm-like multifactor priority
//     (age, fair share, job size, queue, the job's own priority; weights in
//     Config), then submit time, then ID. Order and Factors expose it.
//   - gates (plan.go): queue limits, begin time, dependencies, quotas,
//     sweep max_parallel, no ready node.
//   - feasibility (feasible.go): the nodes a job's shape could ever use,
//     cached per shape per pass; "NoNodeFits" when too few.
//   - placement (capacity.go, rank.go): best fit across nodes (fewest free
//     GPUs that still fit, from free-count buckets held as bitsets), then
//     NVLink-connected GPUs within the node; gangs get N nodes or none.
//   - blocking: without backfill a job that cannot start holds every node
//     it could use against lower jobs (strict priority); with EASY backfill
//     (backfill.go) the top blocked job gets a reservation from running
//     jobs' time limits and lower jobs start only if they cannot delay it.
//   - preemption (preempt.go): a blocked job of a higher queue tier stops
//     preemptible jobs of lower tiers, choosing the node and victims that
//     lose the least GPU-time.
//
// Fair-share usage is an input (Config.Usage), computed by the caller with
// Usage.Advance or AccumulateUsage so the server and the simulator agree.
//
// The policy's data types (structs.Queue, structs.Quota,
// structs.PriorityWeights, structs.PriorityFactors) live in structs, so the
// state store and the API carry them as they are; the leader fills
// Config.Queues, shares and quotas from raft on each pass. Explain (factors
// of every pending job, for `nai queue -explain`) and Shares (for
// `nai share`) compute exactly what a pass would.
//
// Invariants: no I/O, no clock (now is an argument), no randomness, and no
// map iteration order in results. A Scheduler keeps no state between
// passes and is safe for concurrent use.
//
// scheduler imports only structs (and the standard library); it must never
// import fsm, server, client, api or cmd.
package scheduler
