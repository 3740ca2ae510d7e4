package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nai-project/nai/structs"
)

// controllerDir is a v1 group's directory in one controller's hierarchy.
type controllerDir struct {
	controller string
	dir        string
}

// controllerDirs are a v1 group's directories, in V1Required order.
type controllerDirs []controllerDir

func (ds controllerDirs) dir(controller string) (string, bool) {
	for _, d := range ds {
		if d.controller == controller {
			return d.dir, true
		}
	}
	return "", false
}

type v1Group struct {
	name   string
	dirs   controllerDirs // those that existed at Open
	logger *slog.Logger
}

func (g *v1Group) Name() string { return g.name }

// AddProc writes pid to cgroup.procs in every hierarchy, so the process
// is limited by all controllers before it execs user code.
func (g *v1Group) AddProc(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("add process to cgroup %s: invalid pid %d", g.name, pid)
	}
	for _, d := range g.dirs {
		if err := writeProcs(filepath.Join(d.dir, "cgroup.procs"), pid); err != nil {
			return fmt.Errorf("add process %d to cgroup %s: %w", pid, g.name, err)
		}
	}
	return nil
}

// AddThread moves the calling OS thread alone, not its process, into
// the cgroup in every hierarchy: it writes "0" to each tasks file. The
// caller must hold the thread (runtime.LockOSThread) from before this call
// until it is back (Origin.ReturnThread). A process the thread forks
// meanwhile is born in the cgroup.
//
// Why not AddProc on the process: moving a whole thread group takes the
// kernel's cgroup_threadgroup_rwsem for writing, whose first taker after
// a quiet spell waits for an RCU grace period (7 ms on the 2-core VM, see
// PrimeMigrations), and the kernel migrates every thread of the process
// (a Go program has five or more). The calling thread moving itself needs
// neither: the kernel skips that lock for a single thread that is current
// (cgroup_procs_write_start, "If we migrate a single thread, we don't care
// about threadgroup stability"), since kernel 5.18 or so; on an older
// kernel it is just a migration of one thread.
func (g *v1Group) AddThread() error {
	for _, d := range g.dirs {
		if err := writeRetry(filepath.Join(d.dir, "tasks"), []byte("0")); err != nil {
			return fmt.Errorf("move thread into cgroup %s: %w", g.name, err)
		}
	}
	return nil
}

// Pids is the union over all hierarchies (a process moved out of only
// some of them is still ours to kill). It reads cgroup.procs directly,
// nested cgroups included (files_linux.go).
func (g *v1Group) Pids() ([]int, error) {
	var out []int
	for _, d := range g.dirs {
		pids, err := procsUnder(d.dir)
		if err != nil {
			return nil, fmt.Errorf("list processes of cgroup %s (%s): %w", g.name, d.controller, err)
		}
		out = append(out, pids...)
	}
	return sortedUnique(out), nil
}

// Usage reads the three files it reports rather than every statistic of
// every controller: the executor calls it once per task.
func (g *v1Group) Usage() (*structs.ResourceUsage, error) {
	u, err := v1Usage(g.dirs)
	if err != nil {
		return nil, fmt.Errorf("read usage of cgroup %s: %w", g.name, err)
	}
	return u, nil
}

// v1Usage reads cpuacct.usage (ns), memory.max_usage_in_bytes and
// memory.oom_control's oom_kill; a missing file counts 0.
func v1Usage(dirs controllerDirs) (*structs.ResourceUsage, error) {
	u := &structs.ResourceUsage{}
	if d, ok := dirs.dir("cpuacct"); ok {
		ns, err := readUintFile(filepath.Join(d, "cpuacct.usage"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		u.CPUSeconds = float64(ns) / 1e9
	}
	if d, ok := dirs.dir("memory"); ok {
		max, err := readUintFile(filepath.Join(d, "memory.max_usage_in_bytes"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		u.MaxMemoryBytes = int64(max)
		kills, err := readKeyedUint(filepath.Join(d, "memory.oom_control"), "oom_kill")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		u.OOMKills = int(kills)
	}
	return u, nil
}

func (g *v1Group) Signal(sig int) error { return signalGroup(g.name, g.Pids, sig) }

func (g *v1Group) Kill() error {
	k := killer{name: g.name, pids: g.Pids, logger: g.logger}
	if dir, ok := g.dirs.dir("freezer"); ok {
		state := filepath.Join(dir, "freezer.state")
		k.freeze = func() error { return setFreezerV1(state, "FROZEN") }
		k.thaw = func() error { return setFreezerV1(state, "THAWED") }
	}
	return k.run()
}

// setFreezerV1 sets freezer.state and waits, bounded, until the kernel
// reports it; a freeze that does not complete is undone.
func setFreezerV1(file, want string) error {
	err := waitState("set "+file+" to "+want, freezeTimeout,
		func() error { return os.WriteFile(file, []byte(want), 0) },
		func() (bool, error) {
			b, err := os.ReadFile(file)
			return strings.TrimSpace(string(b)) == want, err
		})
	if err != nil && want == "FROZEN" {
		_ = os.WriteFile(file, []byte("THAWED"), 0)
	}
	return err
}

// DeleteIfEmpty removes each hierarchy's directory with one rmdir, the
// freezer's last (see EmptyDeleter).
func (g *v1Group) DeleteIfEmpty() (bool, error) {
	var freezer []controllerDir
	for _, d := range g.dirs {
		if d.controller == "freezer" {
			freezer = append(freezer, d)
			continue
		}
		if gone, err := rmdirIfEmpty(g.name, d); !gone {
			return false, err
		}
	}
	for _, d := range freezer {
		if gone, err := rmdirIfEmpty(g.name, d); !gone {
			return false, err
		}
	}
	return true, nil
}

// rmdirIfEmpty removes d's directory: true when it is gone, false (and no
// error) when the kernel refuses because a process or a child group is
// in it.
func rmdirIfEmpty(name string, d controllerDir) (bool, error) {
	switch err := syscall.Rmdir(d.dir); {
	case err == nil || errors.Is(err, syscall.ENOENT):
		return true, nil
	case errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.ENOTEMPTY):
		return false, nil
	default:
		return false, fmt.Errorf("delete cgroup %s (%s): %w", name, d.controller, err)
	}
}

// Delete is idempotent: deleting a deleted group succeeds.
func (g *v1Group) Delete() error {
	for _, d := range g.dirs {
		if err := rmdirTree(d.dir); err != nil {
			return fmt.Errorf("delete cgroup %s (%s): %w", g.name, d.controller, err)
		}
	}
	return nil
}
