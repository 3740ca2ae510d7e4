package cgroupfs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nai-project/nai/structs"
)

// ErrNotFound: Open found no cgroup by that name under the parent.
var ErrNotFound = errors.New("cgroup not found")

// Group is one allocation's cgroup.
type Group interface {
	Name() string
	// AddProc moves a process (with all its threads) into the cgroup. The
	// exec shim calls it on itself before it execs user code.
	AddProc(pid int) error
	// Pids lists every process in the cgroup.
	Pids() ([]int, error)
	// Usage reads CPU time, peak memory and OOM kills.
	Usage() (*structs.ResourceUsage, error)
	// Signal sends sig to every process in the cgroup.
	Signal(sig int) error
	// Kill SIGKILLs every process until the cgroup is empty (freezing
	// first where the controller allows, so forks cannot escape).
	Kill() error
	// Delete removes the cgroup (and its per-controller dirs); it must be empty.
	Delete() error
}

// EmptyDeleter is a Group that can remove itself at once when it holds no
// process and no child group, without listing either: one rmdir per
// directory, which the kernel refuses for a cgroup that is not empty.
// DeleteIfEmpty reports false, with no error, when something is left; a
// v1 group may then have lost some of its directories already (never the
// freezer's, which Kill uses), and Pids, Kill and Delete do the rest as
// ever.
type EmptyDeleter interface {
	DeleteIfEmpty() (bool, error)
}

// ThreadJoiner is a Group that can take the calling OS thread alone
// (cgroup v1, whose hierarchies allow a process's threads in different
// cgroups): the executor forks a task into the group from a thread that
// visits it, and returns the thread with Origin.ReturnThread.
type ThreadJoiner interface {
	AddThread() error
}

// ValidateName accepts one path element: the allocation's cgroup must sit
// directly under <parent>/nai, never elsewhere.
func ValidateName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00\n") || len(name) > 200 {
		return fmt.Errorf("invalid cgroup name %q: expected one non-empty path element without '/' (at most 200 bytes)", name)
	}
	return nil
}
