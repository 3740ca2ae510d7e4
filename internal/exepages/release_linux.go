package exepages

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Release pages out the read-only mappings of the running executable (see
// the package doc). It is safe to call at any time and from any
// goroutine: code and data paged out are read back on their next use.
func Release() (Result, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return Result{}, fmt.Errorf("release executable pages: %w", err)
	}
	maps, err := readMappings(exe)
	if err != nil {
		return Result{}, err
	}
	res := Result{Mappings: len(maps)}
	// The kernel pages out no dirty page on advice, and a binary just
	// built or copied has dirty pages until the flusher writes them (up
	// to half a minute): write them now. fsync needs no write access.
	if f, err := os.Open(exe); err == nil {
		_ = unix.Fdatasync(int(f.Fd()))
		f.Close()
	}
	for _, m := range maps {
		res.Before += m.Resident
		if m.Resident == 0 {
			continue
		}
		// Advice that a kernel without huge pages does not know
		// (EINVAL) changes nothing and is not an error.
		_ = madvise(m, unix.MADV_NOHUGEPAGE)
		if err := madvise(m, unix.MADV_RANDOM); err != nil {
			return res, err
		}
		if err := madvise(m, unix.MADV_PAGEOUT); err != nil {
			if errors.Is(err, unix.EINVAL) {
				return res, fmt.Errorf("release executable pages: this kernel has no MADV_PAGEOUT (Linux 5.4 and later): %w", err)
			}
			return res, err
		}
		// What another process of the same binary maps stays in memory
		// for it; this one stops mapping it (the mapping holds no private
		// page, so nothing is lost).
		if err := madvise(m, unix.MADV_DONTNEED); err != nil {
			return res, err
		}
	}
	after, err := readMappings(exe)
	if err != nil {
		return res, err
	}
	for _, m := range after {
		res.After += m.Resident
	}
	return res, nil
}

func readMappings(exe string) ([]Mapping, error) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil, fmt.Errorf("release executable pages: %w", err)
	}
	return ParseSmaps(smaps, exe)
}

// madvise gives advice on m. The addresses come from the kernel's own list
// of this process's mappings, so no Go pointer is made of them.
func madvise(m Mapping, advice int) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.Start, m.End-m.Start, uintptr(advice)); e != 0 {
		return fmt.Errorf("madvise %#x-%#x: %w", m.Start, m.End, e)
	}
	return nil
}
