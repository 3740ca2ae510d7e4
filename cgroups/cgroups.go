package cgroups

import "github.com/nai-project/nai/cgroups/cgroupfs"

// Limits are what one allocation may use.
type Limits struct {
	CPU         float64 // cores (CFS quota); 0: no limit
	MemoryBytes int64   // hard limit, swap off; 0: no limit
	Pids        int64   // max processes; 0: no limit
	// Devices, when non-nil, restricts device access: the job may open the
	// usual pseudo-devices (null, zero, random, tty, ...), the NVIDIA
	// control devices, and only the listed GPU device nodes.
	Devices *DeviceRules
}

// DeviceRules names the GPU character devices a job may open.
type DeviceRules struct {
	GPUs []Device // e.g. /dev/nvidia0 is major 195, minor 0
}

// Device is one character device by number.
type Device struct {
	Major int64
	Minor int64
}

// Manager creates allocation cgroups nested under one parent: by default
// the agent's own cgroup (read from /proc/self/cgroup), never elsewhere.
type Manager interface {
	// Version is 1 or 2.
	Version() int
	// Create makes the cgroup "name" under the parent with these limits.
	Create(name string, l Limits) (cgroupfs.Group, error)
	// Open finds an existing cgroup made by Create (after an agent
	// restart); cgroupfs.ErrNotFound when there is none.
	Open(name string) (cgroupfs.Group, error)
	// Release removes <parent>/nai where it holds no cgroup, when the
	// agent stops (cgroupfs.Tree.Release), and answers what it removed.
	Release() ([]string, error)
}

// PrimeMigrations readies the host for cgroup migrations about to come
// (an executor joining its allocation's cgroup) by a move that changes
// nothing: see cgroupfs.PrimeMigrations.
func PrimeMigrations() error { return cgroupfs.PrimeMigrations() }
