//go:build !linux

package cgroups

import (
	"errors"
	"log/slog"
)

var errNeedLinux = errors.New("cgroups need Linux: this platform has no cgroup filesystem")

// Mode reports the host's cgroup version; cgroups exist only on Linux.
func Mode() (int, error) { return 0, errNeedLinux }

// New fails: allocations can only be isolated on Linux.
func New(parent string, logger *slog.Logger) (Manager, error) { return nil, errNeedLinux }

// Origin is where a process stands in the cgroup hierarchies (Linux only).
type Origin struct{}

// SelfOrigin fails: there are no cgroups to return to.
func SelfOrigin() (*Origin, error) { return nil, errNeedLinux }

// Return fails: there are no cgroups to return to.
func (o *Origin) Return(pid int) error { return errNeedLinux }
