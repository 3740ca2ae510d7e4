package executor

import (
	"fmt"
	"sync/atomic"
)

// Datasets and models are unpacked once per node into a cache shared by
// every job (package client), read-only by their permissions, which a
// task running as root passes: one job's `rm` would change every later
// job's input. So a task with read-only inputs (Spec.ReadOnly) runs in a
// mount namespace of its own in which each of them is a read-only bind of
// itself: a write there fails with EROFS, even for root, and nothing
// outside changes (its work, output and checkpoint dirs stay writable).
// A root task that means to can still unmount the bind; this guards
// against mistakes, not against a task that is root on purpose.
//
// Without CAP_SYS_ADMIN (an agent not run as root, a container that
// forbids namespaces) the task runs as before, its inputs protected by
// their permissions alone: a task of another user cannot write them, a
// task of the agent's own user can only by changing them first.

// mountNSRefused is set once the kernel refused this process a mount
// namespace: later tasks do not ask again, and the fallback is logged
// once.
var mountNSRefused atomic.Bool

// wantsReadOnly says whether the task is to get its read-only mounts.
func (e *executor) wantsReadOnly() bool {
	return len(e.spec.ReadOnly) > 0 && !mountNSRefused.Load()
}

// enterReadOnlyInputs moves the calling thread, locked to its goroutine,
// into the task's mount namespace with its inputs read-only. tainted
// reports that the thread left the executor's namespace, so it must end
// with its goroutine; err is a failure after that, which fails the
// start. A refused namespace is neither: the task runs without it.
func (e *executor) enterReadOnlyInputs() (tainted bool, err error) {
	entered, err := enterMountNS()
	if !entered {
		if mountNSRefused.CompareAndSwap(false, true) {
			e.logger.Warn("cannot give tasks a mount namespace: their datasets and models are read-only by file permissions alone, which a task running as root passes", "error", err)
		}
		return false, nil
	}
	if err == nil {
		for _, d := range e.spec.ReadOnly {
			if err = bindReadOnly(d); err != nil {
				break
			}
		}
	}
	if err != nil {
		return true, fmt.Errorf("make the task's datasets and models read-only: %w", err)
	}
	return true, nil
}
