// Package executor is the per-job side of the client agent: the two short
// programs that run between the agent and a task, and the allocation dir
// through which the agent talks to them.
//
//   - Main is `nai executor ALLOC_DIR`, for one allocation, and after it
//     for the next ones its agent hands it over the channel. The agent starts
//     it in a session of its own, so that jobs outlive an agent restart. It
//     becomes a child subreaper, starts the task inside its cgroup (it forks
//     the task from inside the cgroup, direct.go; on cgroup v2, or with
//     NAI_EXEC_SHIM=1, through the exec shim; a task with datasets or
//     models in a mount namespace of its own where they are read-only,
//     readonly.go), enforces the time limit, obeys
//     stop requests, restarts a service replica's task (service.go), kills
//     whatever the task leaves behind (a task that leaves nothing has its
//     cgroup removed at once, which the kernel refuses otherwise), and
//     writes exit.json once nothing of the task is left.
//   - ShimMain is `nai exec-shim ... -- COMMAND ARGS`: it joins the
//     allocation's cgroup, makes the task's datasets and models read-only
//     in a mount namespace of its own, drops to the task's user and execs
//     the task, so
//     that not one instruction of the task runs outside its limits. The
//     executor starts it from its own binary.
//
// Both run for every job, so the package is kept small: it imports only
// cgroups/cgroupfs (the existing allocation cgroup, through its files;
// never package cgroups, which links containerd to create them), structs
// and golang.org/x/sys/unix of this module and third parties
// (internal/archtest checks it), and a binary that calls only Main
// and ShimMain starts in a fraction of the time the whole nai binary takes:
// cmd/nai-executor is that binary, which the agent prefers (the nai and
// nai-agent binaries run both too).
// The client agent (package client) imports this package for the files'
// names and types; this package never imports the agent.
//
// # The allocation dir: the contract between agent and executor
//
// The agent and the executor talk through files in the allocation dir
// (Dir, DataDir/allocs/ID/ on the node), so that either can die and
// restart, and an agent of one version can watch an executor of the
// previous one during an upgrade. The one exception is a fast path: the
// agent that starts an executor may give it a channel (ChannelEnv,
// channel.go) over which it hands the executor the node's next batch
// allocations once one ends, so that a Go process start is paid once for
// many short jobs; the files below still carry every end and every stop. Files are replaced
// atomically (WriteFileAtomic: a temp file renamed into place), so a reader
// never sees half of one. The names and JSON fields below are a contract:
// they may gain fields, never lose or rename one.
//
//	alloc.json     AllocFile: the allocation, and under "executor" what to
//	               run (Spec): argv, env, dir, time limit, kill grace,
//	               cgroup, user, a service's restart policy, where the logs
//	               go, the dirs the task sees read-only. Written by the agent before it starts the executor,
//	               never replaced after.
//	(the dir)      The executor holds a POSIX read lock on the alloc dir
//	               itself for its whole life (LockDir); LivePid names the
//	               holder. No pid file: one inode less per job.
//	executor.json  SpecFile: the Spec alone, as older agents wrote it; read
//	               when alloc.json has no spec.
//	executor.pid   PidFile: the executor's pid, written only for an older
//	               agent (spec in executor.json), which knows no lock.
//	               Alive tells a live executor from a recycled pid.
//	stop           StopFile: a stop request, its content the reason
//	               (cancelled, preempted, ...). Written by the agent, which
//	               then sends the executor SIGTERM; an executor that was not
//	               yet listening finds the file when it starts.
//	start-error    StartErrorFile: why the exec shim could not exec the task.
//	exit.json      ExitFile: how the task ended (ExitStatus), written once by
//	               the executor, with an fsync, after the whole process tree
//	               is gone. An executor that finds it never runs the task.
//	restart        RestartFile: a service restart request, its content why;
//	               written by the agent, which then sends SIGUSR1.
//	restarts.json  RestartsFile: a service's restarts so far (RestartRecord),
//	               written by the executor.
//	stdout stderr  the task's output streams, opened for appending by the
//	               executor: in the dir itself with Spec.Logs LogsHere, in
//	               logs/ (LogPath) for older agents' specs.
//
// Every file or dir a job creates costs an inode, and on a no-journal ext4
// each inode allocation skips the inodes deleted in the last minutes one by
// one (0.3-0.6 ms of kernel CPU each on a busy node): the dir is kept to
// the files above. The other files of the dir (reported, metrics.jsonl,
// work/, output/, ...) are the agent's alone; package client describes
// them.
package executor
