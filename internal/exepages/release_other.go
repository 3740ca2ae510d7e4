//go:build !linux

package exepages

import (
	"errors"
	"fmt"
	"runtime"
)

// Release does nothing outside Linux.
func Release() (Result, error) {
	return Result{}, fmt.Errorf("release executable pages on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
