package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procsUnder lists the processes in the cgroup at dir and in any cgroup a
// task nested below it. A cgroup that is gone has none.
func procsUnder(dir string) ([]int, error) {
	file := filepath.Join(dir, "cgroup.procs")
	b, err := readSmall(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		pid, err := strconv.Atoi(line)
		if err != nil {
			return nil, fmt.Errorf("bad pid %q in %s", line, file)
		}
		out = append(out, pid)
	}
	subs, err := subdirs(dir)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		pids, err := procsUnder(sub)
		if err != nil {
			return nil, err
		}
		out = append(out, pids...)
	}
	return out, nil
}

// subdirs are the child cgroups of dir; ReadDir's types need no stat.
func subdirs(dir string) ([]string, error) {
	// cgroupfs (kernfs) counts a dir's subdirs in its link count, 2 for
	// none: one stat instead of listing the dir's dozens of control files
	// (the executor asks twice per hierarchy for every job).
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); errors.Is(err, syscall.ENOENT) {
		return nil, nil
	} else if err == nil && st.Nlink == 2 {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// rmdirTree removes the cgroup at dir and those nested below it, deepest
// first. The kernel refuses (EBUSY) while a process is inside or for a
// moment after the last one exited, so that is retried briefly; a cgroup
// already gone is fine.
func rmdirTree(dir string) error {
	subs, err := subdirs(dir)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if err := rmdirTree(sub); err != nil {
			return err
		}
	}
	delay := 10 * time.Millisecond
	for i := 0; ; i++ {
		err := syscall.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, syscall.ENOENT):
			return nil
		case errors.Is(err, syscall.EBUSY) && i < 4:
			time.Sleep(delay)
			delay *= 2
		case errors.Is(err, syscall.EBUSY):
			return fmt.Errorf("remove %s: it still contains processes: %w", dir, err)
		default:
			return fmt.Errorf("remove %s: %w", dir, err)
		}
	}
}

// readUintFile reads a control file holding one unsigned number.
func readUintFile(path string) (uint64, error) {
	b, err := readSmall(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// readKeyedUint reads the value of key from a "key value" per line control
// file (memory.oom_control, memory.stat); a missing key is 0.
func readKeyedUint(path, key string) (uint64, error) {
	b, err := readSmall(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s in %s: %w", key, path, err)
			}
			return n, nil
		}
	}
	return 0, nil
}

// writeProcs moves pid into the cgroup whose cgroup.procs file is file.
// The kernel refuses (EINVAL) a task that is still being forked
// (TASK_NEW), so that is retried briefly, as runc and containerd do.
func writeProcs(file string, pid int) error {
	return writeRetry(file, []byte(strconv.Itoa(pid)))
}

// writeRetry writes data to the control file in one write, retrying
// EINVAL briefly (writeProcs).
func writeRetry(file string, data []byte) error {
	fd, err := openRetry(file, syscall.O_WRONLY|syscall.O_CLOEXEC)
	if err != nil {
		return &fs.PathError{Op: "open", Path: file, Err: err}
	}
	defer syscall.Close(fd)
	for i := 0; ; i++ {
		err = writeFD(fd, data)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EINVAL) || i == 4 {
			return &fs.PathError{Op: "write", Path: file, Err: err}
		}
		time.Sleep(30 * time.Millisecond)
	}
}
