// Package sim replays a job trace in virtual time through the real
// scheduler, so a policy can be judged on recorded cluster load before it
// runs a live cluster. `nai sim` is its command line.
//
// A trace is CSV with a header: job_id, submit_time_s, num_gpus and
// duration_s are required; user and time_limit_s are used when present
// (ReadTrace). Without a limit a job gets duration x limit factor (2.0 by
// default), which is what backfilling plans with.
//
// Run builds identical nodes, then walks an event loop of submissions and
// completions. At every instant where something happens it calls
// scheduler.Plan on an in-memory State and applies the plan: placed jobs
// start now and end after their real duration (or their limit, if
// shorter). It skips the instants where no job could start (no GPU free
// and every waiting job asks for one), and its passes are
// Config.PlacementsOnly: they stop once no later job can start, since
// nobody reads wait reasons here; the placements are those of a full
// pass. Jobs bigger than a node become gang jobs over several nodes; a
// job the scheduler reports as NoNodeFits (or over a QueueLimit) is
// counted as unschedulable. For fair share the simulator keeps decayed
// usage as the server does, advanced at every event with the GPUs each
// user holds (scheduler.Usage.AdvanceHeld).
//
// The policies (PolicyConfig) are the live default (scheduler.DefaultConfig,
// also what an empty Options.Policy means), fifo, priority, backfill,
// priority-backfill (the default before the Runtime factor) and
// sjf-oracle, which plans with the true run times no scheduler knows: the
// yardstick for average job completion time, as EASY backfill is for the
// tail of waits (Compare replays both beside a policy). TraceOptions can
// replace every limit by a user's noisy guess (duration x U[1,5] from a
// seeded generator, rounded up to 15 minutes) and make every job one
// user's; Options.WarmupJobs leaves the start of a trace out of the
// figures, to judge a policy on jobs it was not tuned on.
//
// Run is deterministic: the same trace and options give the same Result.
// It reports average, p50 and p99 wait, average job completion time,
// average bounded slowdown (run times under 10 s count as 10 s), makespan
// and GPU utilisation (allocated GPU-seconds over cluster GPU-seconds in
// the makespan).
//
// sim imports scheduler and structs only; nothing of the server, the
// client or the network.
package sim
