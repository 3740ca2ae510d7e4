package cgroupfs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Origin is where a process stands in the cgroup hierarchies now, so that
// it can go back after a visit to an allocation's cgroup. The executor uses
// it to start a task without an extra process: it joins the allocation's
// cgroup, forks the task (which is born inside it, so no user instruction
// runs outside the limits) and returns here.
type Origin struct {
	procs []string // the cgroup.procs file of each hierarchy
}

// SelfOrigin records the calling process's cgroups: on v1 those of the
// controllers an allocation joins, on v2 the unified one.
func SelfOrigin() (*Origin, error) {
	mode, err := Mode()
	if err != nil {
		return nil, err
	}
	ms, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	own, unified, err := readProcCgroup("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	return originOf(mode == 2, ms, own, unified)
}

// Origin is SelfOrigin for the hierarchies of t, from what the calling
// process's /proc/self files said when t was made: no second read of
// them (the executor's start, once per job).
func (t *Tree) Origin() (*Origin, error) {
	return t.origin, t.originErr
}

// originOf is SelfOrigin from the process's mounts and own cgroups: the
// unified hierarchy's cgroup when v2, else each mounted v1 controller's.
func originOf(v2 bool, ms mounts, own map[string]string, unified string) (*Origin, error) {
	o := &Origin{}
	add := func(m mount, cgPath string) error {
		rel, err := m.relative(cgPath)
		if err != nil {
			return err
		}
		p := filepath.Join(m.Mountpoint, rel, "cgroup.procs")
		if !slices.Contains(o.procs, p) {
			o.procs = append(o.procs, p)
		}
		return nil
	}
	if v2 {
		m, ok := ms.unified()
		if !ok {
			return nil, fmt.Errorf("cgroup v2 host without a cgroup2 mount in /proc/self/mountinfo")
		}
		if err := add(m, unified); err != nil {
			return nil, err
		}
		return o, nil
	}
	for _, name := range append(slices.Clone(V1Required), V1Optional...) {
		m, ok := ms.controller(name)
		if !ok {
			continue
		}
		p, ok := own[name]
		if !ok {
			return nil, fmt.Errorf("own cgroup for controller %s not listed in /proc/self/cgroup", name)
		}
		if err := add(m, p); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Return moves process pid (with all its threads) back into the recorded
// cgroups.
func (o *Origin) Return(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("return process to its cgroups: invalid pid %d", pid)
	}
	for _, p := range o.procs {
		if err := writeSmall(p, []byte(strconv.Itoa(pid))); err != nil {
			return fmt.Errorf("return process %d to its cgroup: %w", pid, err)
		}
	}
	return nil
}

// ReturnThread moves the calling OS thread back into the recorded cgroups
// after a visit with a ThreadJoiner's AddThread (cgroup v1 only: the tasks
// file beside each cgroup.procs). The caller must still hold the thread.
func (o *Origin) ReturnThread() error {
	for _, p := range o.procs {
		if err := writeSmall(filepath.Join(filepath.Dir(p), "tasks"), []byte("0")); err != nil {
			return fmt.Errorf("return thread to its cgroup: %w", err)
		}
	}
	return nil
}

// PrimeMigrations moves the calling process into the cgroup it is already
// in, which changes nothing but readies the host for the migrations that
// follow. Moving a process between cgroups takes a host-wide lock whose
// first taker after a quiet spell waits for an RCU grace period (7-8 ms on
// the 2-core VM this was measured on, 13 ms under strace; 0.05 ms for a
// move within some 20 ms of another). Every task start moves its executor
// into the allocation's cgroup, so a lone job paid that wait between the
// executor's start and the task's; an agent that primes when it takes an
// allocation has the wait done while it prepares the allocation's dir and
// the executor starts.
func PrimeMigrations() error {
	o, err := SelfOrigin()
	if err != nil {
		return err
	}
	if len(o.procs) == 0 {
		return nil
	}
	if err := os.WriteFile(o.procs[0], []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		return fmt.Errorf("prime cgroup migrations: %w", err)
	}
	return nil
}
