// nai-executor is the small binary of each job's two processes: a client
// agent starts `nai-executor executor ALLOC_DIR` for an allocation (on
// cgroup v1 it then hands the same executor its next batch allocations:
// client/execpool.go), and that executor starts the task through `nai-executor exec-shim ...`, from
// its own binary (package client/executor: Main and ShimMain). Both do
// exactly what `nai executor` and `nai exec-shim` do; those stay in nai and
// nai-agent for an agent with no nai-executor beside it and for executors
// already running through an upgrade (cmd/nai/agent_bin.go picks the
// binary).
//
// Why a third binary: each job pays one or two process starts (the
// executor, and on cgroup v2 the exec shim), on the path from submission to
// the task's first instruction and in every drain of a queue.
// A process of a big binary runs all of its package initialisers and faults
// in more of its pages; this one links client/executor and what it needs
// (cgroups/cgroupfs, structs, golang.org/x/sys/unix: internal/archtest's
// lean table keeps it so), no command-line library, not even
// internal/version: make build passes it the same -ldflags as nai, so `go
// version -m nai-executor` shows the version and commit, and it ships
// beside nai and nai-agent, from the same build.
//
// Measured 2026-12-03 on the shared 2-core dev VM, built as make build
// builds them, each running `BINARY executor` with no alloc dir (the usage
// error: the process start and nothing else), perf stat -r 300, task-clock
// per run at load average 1 from other work (in brackets, three runs at
// load average 2):
//
//	binary        size     CPU per start     page faults
//	nai-executor   4.4 MB  1.4 ms (1.7-1.9)  ~250
//	nai (CLI)     20.2 MB  2.9 ms (2.9-3.1)  ~455
//	nai-agent     38.6 MB  4.7 ms (4.8-5.6)  ~550
//
// so each of a job's starts costs about 1.5 ms of CPU less than through
// nai, 3.3 ms less than through nai-agent.
//
// Exit status: that of executor.Main or ShimMain; 2 with the usage for
// anything else; 0 for -h.
package main
