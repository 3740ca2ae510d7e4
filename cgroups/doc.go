// Package cgroups creates each allocation's cgroup and enforces its
// limits: memory (hard, swap off), CPU quota, pids, and which device nodes
// it may open (its GPUs, the NVIDIA control devices and the usual
// pseudo-devices). The client agent uses it; nothing that runs per job
// should (see below).
//
// It wraps github.com/containerd/cgroups/v3 for creating, on both
// hierarchies:
//
//   - cgroup v1 (and hybrid hosts, where the controllers live on v1): one
//     directory per controller (memory, cpu, cpuacct, pids, devices,
//     freezer), the limits written to each; no devices directory for a
//     group without device rules (it would only inherit the parent's).
//   - cgroup v2: one directory; devices are restricted by an eBPF program
//     attached to it. If the program cannot be attached, Create fails
//     with ErrDevicesNotEnforced rather than run the job unrestricted.
//
// Everything done to a cgroup once it exists (Open, AddProc, Pids, Usage,
// Signal, Kill, Delete) and where the tree is (mode detection, the
// parent, <parent>/nai) is package cgroups/cgroupfs, which reads and
// writes the cgroup files itself: the Groups that Create and Open return
// are its cgroupfs.Group. The per-job executor and exec shim
// (client/executor) import only cgroupfs, so that containerd, protobuf,
// cilium/ebpf, runtime-spec, godbus and logrus stay out of the small nai
// binary that runs them (internal/archtest checks it).
//
// Layout: every allocation is <parent>/nai/<name>. The parent defaults to
// the agent's own cgroup, per controller on v1, read from
// /proc/self/cgroup. Nothing is created elsewhere, and a parent that is
// missing or not writable is an error from New naming it, so the agent
// can refuse to start. When the agent stops it removes <parent>/nai where
// no cgroup is left in it (Release): tasks that outlive their agent keep
// theirs for the next one to adopt, and Create makes the dir again. The
// pids hierarchy's nai dir caps all jobs' processes together
// (cgroupfs.CapTreePids), so that a fork bomb in each job cannot take
// every process id of the host.
//
// On v2 a cgroup that holds processes cannot hand controllers down to its
// children, so the agent (and any supervisor) must not run in <parent>
// itself when limits are wanted; Create says so when the kernel refuses.
//
// Files: cgroups.go (the interface), limits.go (validation, device list),
// manager_linux.go (New), v1_linux.go, v2_linux.go (Create per version),
// resources_linux.go (Limits to containerd's types); cgroups_other.go is
// the non-Linux twin whose New fails.
//
// This package imports only cgroups/cgroupfs of nai; it must not import
// client, server or anything above it.
package cgroups
