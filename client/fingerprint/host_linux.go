//go:build linux

package fingerprint

import (
	"fmt"
	"os"
	"syscall"
)

// memTotal reads MemTotal from /proc/meminfo (in kB there) and returns bytes.
func memTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	defer f.Close()
	return parseMemTotal(f)
}

// unameInfo returns the kernel's name ("Linux") and release ("6.1.0-18-amd64").
func unameInfo() (osName, kernel string, err error) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "", "", fmt.Errorf("uname: %w", err)
	}
	return utsString(u.Sysname[:]), utsString(u.Release[:]), nil
}

// utsString turns a NUL-terminated utsname field (int8 or uint8 depending on
// the architecture) into a string.
func utsString[T int8 | uint8](field []T) string {
	b := make([]byte, 0, len(field))
	for _, c := range field {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
