//go:build !linux

package cgroupfs

import (
	"errors"
	"log/slog"
)

var errNeedLinux = errors.New("cgroups need Linux: this platform has no cgroup filesystem")

// Mode reports the host's cgroup version; cgroups exist only on Linux.
func Mode() (int, error) { return 0, errNeedLinux }

// Tree is where allocation cgroups live (Linux only).
type Tree struct{}

// NewTree fails: allocations can only be isolated on Linux.
func NewTree(parent string, logger *slog.Logger) (*Tree, error) { return nil, errNeedLinux }

// OpenTree fails: allocations can only be isolated on Linux.
func OpenTree(parent string, logger *slog.Logger) (*Tree, error) { return nil, errNeedLinux }

// Version is 0: there is no cgroup hierarchy.
func (t *Tree) Version() int { return 0 }

// Release has nothing to remove.
func (t *Tree) Release() ([]string, error) { return nil, nil }

// Open fails: there are no cgroups.
func (t *Tree) Open(name string) (Group, error) { return nil, errNeedLinux }

// Origin is where a process stands in the cgroup hierarchies (Linux only).
type Origin struct{}

// SelfOrigin fails: there are no cgroups to return to.
func SelfOrigin() (*Origin, error) { return nil, errNeedLinux }

// Origin fails: there are no cgroups to return to.
func (t *Tree) Origin() (*Origin, error) { return nil, errNeedLinux }

// Return fails: there are no cgroups to return to.
func (o *Origin) Return(pid int) error { return errNeedLinux }

// ReturnThread fails: there are no cgroups to return to.
func (o *Origin) ReturnThread() error { return errNeedLinux }

// PrimeMigrations fails: there are no cgroups.
func PrimeMigrations() error { return errNeedLinux }
