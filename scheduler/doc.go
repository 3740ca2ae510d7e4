// Package scheduler decides which pending jobs start where. It is a pure,
// deterministic function of a read-only State and a time:
//
//	plan := scheduler.New(cfg).Plan(state, now)
//
// The plan lists placements (node and GPU indices, one per node and rank for
// a gang job), preemptions, cancellations (a dependency that can never be
// met) and, for every other pending job, exactly one WaitStatus with a
// typed code, a reason a user understands built from that code
// (structs/wait.go), per-node filter counts when no node can take the job,
// and, when known, an estimated start. The leader applies the whole plan
// as one raft entry, and the state store re-checks every part against the
// newest state; the simulator (package sim) replays traces through the
// same code.
//
// A pass, stage by stage (consider in plan.go):
//
//   - order (priority.go): queue tier, then Slurm-like multifactor priority
//     (age, fair share, job size, queue, the job's own priority, and the
//     expected run time from the time limit, shortest first (runtime.go);
//     weights in Config), then submit time, then ID. Order and Factors
//     expose it.
//   - gates (gate.go, one gate_*.go file and table test each), in order:
//     queue exists, request valid, queue limits (QueueLimit), begin time,
//     dependencies (Dependency; cancel when never satisfiable), singleton
//     (Slurm's --dependency=singleton), quotas (QuotaExceeded), sweep
//     max_parallel (ArrayLimit), some ready node (NoNodes). The first gate
//     that holds a job gives its reason. A gate with a setup step is off,
//     and costs nothing, in a pass where it cannot hold any job.
//   - feasibility (feasible.go, filters.go): the nodes a job's shape could
//     ever use, cached per shape per pass; the others are counted by the
//     filter they fail first (queue, down, draining, ineligible, GPUs, GPU
//     model, GPU memory, CPU, memory); "NoNodeFits" when too few remain.
//   - placement (place.go, capacity.go, rank.go): best fit across nodes
//     (fewest free GPUs that still fit, from free-count buckets held as
//     bitsets), then NVLink-connected GPUs within the node; gangs get N
//     nodes or none. An exclusive job (Resources.Exclusive, Slurm's
//     --exclusive) takes only nodes nothing holds, and nothing joins a
//     node an exclusive job holds.
//   - waiting (wait.go): Priority when a higher blocked job holds the
//     nodes, else Resources with the nodes counted by what is missing now
//     (an exclusive holder, not idle, free GPUs, CPU, memory).
//   - blocking: without backfill a job that cannot start holds every node
//     it could use against lower jobs (strict priority); with EASY backfill
//     (backfill.go) the top blocked job gets a reservation from running
//     jobs' time limits and lower jobs start only if they cannot delay it.
//     Estimates and reservations replay who holds each node, so
//     exclusivity holds in them too.
//   - estimates (profile.go): after the pass, the waiting jobs are taken
//     again in order, each given the earliest time its nodes stay free
//     for its time limit after what the jobs ahead of it were given
//     (conservative backfill's profile, for estimates only), so a job
//     queued behind another is not told it starts at the same moment;
//     past the first maxRefined such jobs, the first estimate stays.
//   - preemption (preempt.go): a blocked job of a higher queue tier stops
//     preemptible jobs of lower tiers, choosing the node and victims that
//     lose the least GPU-time.
//
// Services (service.go): State lists running services among the pending
// jobs; a pass considers a service once per replica of its current
// version that no live allocation holds, each placement one node with one
// of its service ports (Resources.Ports: a node offers
// Node.ServicePorts), and treats services as running for ever. They are
// preempted only when preemptible, like any job.
//
// Fair-share usage is an input (Config.Usage), computed by the caller with
// Usage.Advance, AdvanceHeld or AccumulateUsage so the server and the
// simulator agree.
//
// A replay (package sim) sets Config.PlacementsOnly: its passes make the
// same placements but stop once no later job can start, and take the
// jobs from a heap instead of sorting them all (replay.go), since nobody
// reads a replay's wait reasons.
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
