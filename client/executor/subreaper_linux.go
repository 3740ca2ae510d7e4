package executor

import "golang.org/x/sys/unix"

// becomeSubreaper makes orphaned descendants reparent to this process, so
// the executor can find and kill a task's daemonised children and reap them.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
