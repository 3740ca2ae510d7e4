//go:build !nai_cli

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// agentLockFile is the file in an agent's data dir that its agent holds an
// exclusive flock on for its whole life, with its pid in it.
const agentLockFile = "agent.lock"

// dirLock is a held lock on a data dir. The kernel drops it when the
// holder exits, however it exits, so a crashed agent leaves nothing to
// clean up.
type dirLock struct {
	f *os.File
}

// dirInUseError says that another process holds a data dir's lock.
type dirInUseError struct {
	Dir string
	// PID is the holder's, 0 when its file does not say yet (it took the
	// lock a moment ago).
	PID int
}

func (e *dirInUseError) Error() string {
	who := "another nai agent"
	if e.PID > 0 {
		who += fmt.Sprintf(" (pid %d)", e.PID)
	}
	return fmt.Sprintf("data dir %s is in use by %s", e.Dir, who)
}

// lockDataDir takes the data dir for this agent without waiting: two
// agents on one data dir would share raft's log, the node's id and its
// allocations. When another process holds it, the error is a
// *dirInUseError naming that process. The lock file is made if missing
// and never removed (removing a lock file lets two processes each lock a
// different file of the same name).
//
// The file is opened close-on-exec, as Go opens every file: a job's
// executor, which the agent starts and which may outlive it, does not
// inherit the lock.
func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, agentLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: open its lock file: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &dirInUseError{Dir: dir, PID: readLockPID(path)}
		}
		return nil, fmt.Errorf("data dir %s: lock %s: %w", dir, path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s: write pid to %s: %w", dir, path, err)
	}
	return &dirLock{f: f}, nil
}

// release gives the lock up; the file stays.
func (l *dirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close() // the last descriptor closed drops the flock
		l.f = nil
	}
}

func readLockPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// dataDirLockMessage is what the agent says when it cannot take its data
// dir; setting names how the data dir was chosen (-data-dir, data_dir).
func dataDirLockMessage(err error, setting string) string {
	var inUse *dirInUseError
	if errors.As(err, &inUse) {
		return fmt.Sprintf("%v; stop it or choose another %s", err, setting)
	}
	return err.Error()
}
