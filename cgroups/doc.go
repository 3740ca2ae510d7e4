// Package cgroups puts each allocation's processes in a cgroup of its own
// and enforces its limits: memory (hard, swap off), CPU quota, pids, and
// which device nodes it may open (its GPUs, the NVIDIA control devices
// and the usual pseudo-devices). It reads what the cgroup measured (CPU
// time, peak memory, OOM kills) and kills the whole process tree, however
// it daemonised.
//
// It wraps github.com/containerd/cgroups/v3 for both hierarchies:
//
//   - cgroup v1 (and hybrid hosts, where the controllers live on v1): one
//     directory per controller (memory, cpu, cpuacct, pids, devices,
//     freezer); AddProc writes the pid to every one of them.
//   - cgroup v2: one directory; devices are restricted by an eBPF program
//     attached to it. If the program cannot be attached, Create fails
//     with ErrDevicesNotEnforced rather than run the job unrestricted.
//
// Layout: every allocation is <parent>/nai/<name>. The parent defaults to
// the agent's own cgroup, per controller on v1, read from
// /proc/self/cgroup; a process already inside a nai tree (the executor,
// the exec shim) resolves the same parent. Nothing is created elsewhere,
// and a parent that is missing or not writable is an error from New
// naming it, so the agent can refuse to start.
//
// The job must be in its cgroup before it runs user code: the client's
// exec shim calls Open(name) and AddProc(os.Getpid()) on itself and then
// execs the job. Kill freezes the cgroup (or uses cgroup.kill on v2),
// SIGKILLs every process, thaws, and repeats until cgroup.procs is empty,
// giving up with an error after 5 s. Delete removes every directory.
//
// On v2 a cgroup that holds processes cannot hand controllers down to its
// children, so the agent (and any supervisor) must not run in <parent>
// itself when limits are wanted; Create says so when the kernel refuses.
//
// Files: cgroups.go (the interface), limits.go (validation, device list),
// mode_linux.go (detection, /proc parsing), v1_linux.go, v2_linux.go,
// resources_linux.go (Limits to containerd's types), kill_linux.go;
// cgroups_other.go is the non-Linux twin whose New fails.
//
// This package imports only structs from nai; it must not import client,
// server or anything above it.
package cgroups
