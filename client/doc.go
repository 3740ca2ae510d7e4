// Package client is the GPU-host side of the nai agent: it registers the
// node's fingerprint with the servers, long-polls the allocations placed on
// it, runs each one as a host process in its own cgroup with its GPUs
// pinned, and ships logs, metrics, outputs and the exact way it ended.
//
// It talks to the servers only through api.Client, to the kernel's cgroups
// only through cgroups.Manager, and to NVML only through client/fingerprint.
// It must not import server, fsm, scheduler, jobspec or cmd.
//
// Each task is supervised by an executor process, and maybe started by an
// exec shim: both are package client/executor, which also owns the files
// of the allocation dir that the agent and the executor share
// (executor.Spec, executor.ExitStatus, ...). The agent runs
// `Config.ExecutorBinary executor DIR`; the executor starts the exec shim
// from its own binary.
//
// # The life of a task
//
//	servers                agent (Client, allocRunner)          executor (`nai executor DIR`)      task
//	-------                ---------------------------          -----------------------------      ----
//	alloc, desired=run --> reconcile: first sight of the id?
//	                       mkdir allocs/ID/{work,output}
//	                       stage code and data, node prolog (hooks.go)
//	                       alloc.json with the executor's spec
//	                       (argv, env, time limit, cgroup name)
//	                       cgroups.Create(nai-ID, limits)
//	                       start executor (setsid), or hand --> lock the dir, child subreaper
//	                       an idle one "run DIR" (execpool.go)
//	    <-- running ------ report running                      a thread joins the cgroup, forks --> exec command
//	                                                           the task (setpgid), returns to its
//	                                                           own cgroup (executor/direct.go; on
//	                                                           cgroup v2 or NAI_EXEC_SHIM=1 instead
//	                                                           `nai exec-shim`: join cgroup, exec)
//	    <-- metrics ------ tail metrics.jsonl (<= 1/s)                                             writes stdout,
//	                                                                                               metrics, output/
//	alloc, desired=stop -> write stop=REASON, SIGTERM ------> SIGTERM tree, grace, SIGKILL tree
//	                       (to a reused executor "stop ID")
//	                                                           (or: time limit reached)
//	                                                           main process exits; kill leftovers
//	                                                           read cgroup usage, pick the reason
//	                                                           write exit.json, remove cgroup
//	                       executor gone, or "done ID" <------ (reused: unlock the dir, wait)
//	                       from a reused one: read exit.json
//	                       node epilog (hooks.go)
//	    <-- PUT outputs -- tar+gzip output/, upload
//	    <-- final status - complete | failed + reason, code,
//	                       usage, metrics, output digest
//	                       mark `reported`
//
// Every step leaves a file in the alloc dir, so an agent can die at any
// point and the next one (Run's recovery) finds where things stand: an
// executor still alive is re-attached, an exit.json not yet reported is
// uploaded and reported, and an executor gone without exit.json is
// reported failed with reason node-lost. An allocation whose dir exists is
// never started again: a task runs at most once.
//
// # Exit reasons
//
// exited (with its code), oom-killed (the cgroup saw an OOM kill and the
// task died of it), time-limit, cancelled, preempted, node-lost (executor
// vanished, or the servers no longer list the allocation), start-failed,
// prolog-failed (the node's prolog failed, or its data dir was below
// min_free_disk (disk.go): the task never started, the job goes back to
// the queue and the node is drained), disk-full (the executor left no
// exit status while the data dir was full: the job fails, as for any
// failure, rather than node-lost; disk.go), gpu-failed (a GPU it holds turned unhealthy; the job fails, or is
// requeued when its retry policy lists "failed"), and signal:SIGSEGV style
// for any other deadly signal. A task that dies of a signal reports exit
// code 128+signal, as a shell would.
//
// # Files of an allocation (DataDir/allocs/ID/)
//
//	alloc.json       the allocation and its job, and under "executor" the
//	                 executor's spec: argv, env, dir, time limit, cgroup (agent)
//	                 (the executor holds a lock on the dir while it lives;
//	                 executor.json and executor.pid only in older agents' dirs)
//	stop             a stop request's reason (agent)
//	start-error      why the task could not be exec'd (exec shim)
//	exit.json        code, reason, times, usage (executor, atomically, once)
//	reported         the servers have the final status (agent): a hard link
//	                 to exit.json dated when reported, not a new inode
//	gpu-failure      why the allocation's GPU was withdrawn (agent, gpus.go)
//	upload-failed    the outputs could not be uploaded: output/ kept until
//	                 the GC, work/ and the archive removed (cleanup.go)
//	hook.json        a failed prolog's or epilog's report, sent with the final status
//	epilog-done      the epilog ran (it runs once per allocation)
//	work/ output/ stdout stderr metrics.jsonl (logs/stdout, logs/stderr in
//	                 older agents' dirs)
//
// The executors' own stderr is one file for the node, DataDir/executor.log
// (execlog.go), its lines marked alloc=ID.
//
// Who may read what of the data dir, and the task's umask 077: perms.go
// (tightenDataDir tightens an older agent's layout at start). Nothing in
// the alloc dir is readable by other users; work/, output/,
// metrics.jsonl and checkpoints/JOB are the task user's, 0700/0600.
//
// Once reported (and the outputs uploaded), work/ and output/ are removed
// unless empty;
// the rest goes when the GC finds the dir reported over AllocGCAge ago
// (cleanup.go). Code blobs are kept by digest in DataDir/cache/blobs under a
// size cap, least recently used first out (cache.go). Dataset and model
// versions are unpacked once by digest into DataDir/cache/unpacked, 0444,
// and shared by the node's jobs; each task sees them as read-only mounts in
// a mount namespace of its own (executor.Spec.ReadOnly, readonly.go and
// executor/readonly.go), or by their permissions alone where the agent
// lacks CAP_SYS_ADMIN. GPU health and
// utilisation: gpus.go. Who a task runs as, and the root policy:
// rootpolicy.go. On cgroup v2 each executor has a leaf of its own:
// execgroup.go.
//
// NAI_CHECKPOINT_DIR is DataDir/checkpoints/JOBID, shared by the attempts
// of one job on this node. One that another account owns was left by an
// earlier job of the same id (a snapshot restore rolls job ids back): it
// is moved aside to DataDir/replaced/checkpoints, never given to the new
// task's user (restored.go).
//
// # Service replicas
//
// A service's allocation is one replica (service.go, executor/service.go):
// the agent picks it a port of Config.ServicePorts (kept in the alloc dir's
// port file), checks its health path and reports health and restarts; the
// executor restarts the task whenever it ends (restarts.json), or when the
// agent asks (the restart file and SIGUSR1, after unhealthy_after failed
// checks), until a stop, which it delays by the service's shutdown_delay.
// A replica that cannot be started is tried again with backoff rather than
// failed. "A task runs at most once" holds per allocation run, not per
// process: a replica's process may start many times in one allocation.
package client
