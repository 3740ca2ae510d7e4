//go:build !linux

package cgroups

import (
	"errors"
	"log/slog"
)

// New fails: allocations can only be isolated on Linux.
func New(parent string, logger *slog.Logger) (Manager, error) {
	return nil, errors.New("cgroups need Linux: this platform has no cgroup filesystem")
}
