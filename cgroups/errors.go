package cgroups

import "errors"

var (
	// ErrExists: Create was asked for a name that already has a cgroup;
	// after an agent restart the caller must Open it instead.
	ErrExists = errors.New("cgroup already exists")
	// ErrDevicesNotEnforced: the host cannot restrict device access for
	// this cgroup (no v1 devices controller, or the v2 eBPF device filter
	// could not be attached). Create fails rather than run unrestricted.
	ErrDevicesNotEnforced = errors.New("device restrictions cannot be enforced on this host")
)
