//go:build !linux

package executor

// becomeSubreaper is a no-op where the kernel has no child subreapers.
func becomeSubreaper() error { return nil }
