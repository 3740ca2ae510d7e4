// Package cgroupfs works on allocation cgroups that exist, through the
// cgroup filesystem's own files, with nothing but the standard library
// and golang.org/x/sys/unix. It is what the per-job executor and exec
// shim (client/executor) use, so it starts fast and links little; package
// cgroups, the client agent's, creates the cgroups with their limits
// (through containerd) and hands back this package's Groups.
//
// What it does:
//
//   - Mode: the host's cgroup version (2 unified; 1 legacy or hybrid),
//     from the filesystem type of /sys/fs/cgroup.
//   - NewTree (OpenTree without making or checking dirs, for the
//     executor): <parent>/nai in every hierarchy nai uses (on v1 memory,
//     cpu, cpuacct, pids, devices and, if mounted, freezer; on v2 the
//     unified one), from /proc/self/mountinfo and /proc/self/cgroup. The
//     parent "" is the caller's own cgroup, mapped back out of a nai tree
//     when the caller runs inside one, so the executor and the exec shim
//     resolve the agent's parent.
//   - Tree.Open(name): the group <parent>/nai/<name>; ErrNotFound when it
//     is in no hierarchy.
//   - Group: AddProc writes cgroup.procs (every hierarchy on v1); Pids
//     reads cgroup.procs, nested cgroups included; Usage reads CPU time,
//     peak memory and OOM kills (v1 cpuacct.usage,
//     memory.max_usage_in_bytes, memory.oom_control; v2 cpu.stat,
//     memory.peak, memory.events); Signal signals every process; Kill
//     freezes (v1 freezer.state, v2 cgroup.freeze) or uses v2's
//     cgroup.kill, SIGKILLs, thaws, and repeats until cgroup.procs is
//     empty, giving up after 5 s; Delete removes the directories, deepest
//     first, refusing while a process is inside. EmptyDeleter's
//     DeleteIfEmpty removes an empty group with one rmdir per directory,
//     nothing listed: the kernel refuses a cgroup that is not empty.
//   - SelfOrigin and Origin.Return: where the calling process stands, so
//     the executor can visit an allocation's cgroup to fork the task in it
//     and come back. Tree.Origin is the same record, taken when the tree
//     was made (no second read of /proc/self). On v1 a group is also a
//     ThreadJoiner: AddThread takes the calling OS thread alone (the tasks
//     file) and Origin.ReturnThread brings it back, without the kernel's
//     threadgroup lock and its RCU wait (executor/direct.go).
//
// Files: cgroupfs.go (Group, ThreadJoiner, ErrNotFound, names),
// mode_linux.go (mode, /proc parsing), tree_linux.go (Tree, Open),
// v1_linux.go, v2_linux.go (the groups), kill_linux.go, files_linux.go
// (reading and writing control files), raw_linux.go (the same by plain
// system calls, without the netpoller), origin_linux.go; other.go is the non-Linux twin, whose
// calls fail. testdata/ holds control files as the kernel writes them.
//
// It imports only structs of nai (internal/archtest checks that, and that
// the executor's whole dependency graph stays this small).
package cgroupfs
