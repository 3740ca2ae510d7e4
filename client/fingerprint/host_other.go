//go:build !linux

package fingerprint

import (
	"errors"
	"runtime"
)

// On other platforms nai has no host runner; the fingerprint still builds so
// that `go test ./...` works on a laptop, and reports what it cannot read.

func memTotal() (int64, error) {
	return 0, errors.New("read memory size: not supported on " + runtime.GOOS)
}

func unameInfo() (osName, kernel string, err error) {
	return runtime.GOOS, "", nil
}
