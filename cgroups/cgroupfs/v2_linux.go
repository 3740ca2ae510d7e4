package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/nai-project/nai/structs"
)

type v2Group struct {
	name   string
	dir    string
	logger *slog.Logger
}

func (g *v2Group) Name() string { return g.name }

func (g *v2Group) AddProc(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("add process to cgroup %s: invalid pid %d", g.name, pid)
	}
	if err := writeProcs(filepath.Join(g.dir, "cgroup.procs"), pid); err != nil {
		return fmt.Errorf("add process %d to cgroup %s: %w", pid, g.name, err)
	}
	return nil
}

// Pids lists the processes of the cgroup and of those nested in it.
func (g *v2Group) Pids() ([]int, error) {
	pids, err := procsUnder(g.dir)
	if err != nil {
		return nil, fmt.Errorf("list processes of cgroup %s: %w", g.name, err)
	}
	return sortedUnique(pids), nil
}

func (g *v2Group) Usage() (*structs.ResourceUsage, error) {
	u, err := v2Usage(g.dir)
	if err != nil {
		return nil, fmt.Errorf("read usage of cgroup %s: %w", g.name, err)
	}
	return u, nil
}

// v2Usage reads cpu.stat's usage_usec (always present), memory.peak
// (kernel 5.19+, else 0) and memory.events' oom_kill (when the memory
// controller is on); a missing file counts 0.
func v2Usage(dir string) (*structs.ResourceUsage, error) {
	u := &structs.ResourceUsage{}
	usec, err := readKeyedUint(filepath.Join(dir, "cpu.stat"), "usage_usec")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	u.CPUSeconds = float64(usec) / 1e6
	peak, err := readUintFile(filepath.Join(dir, "memory.peak"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	u.MaxMemoryBytes = int64(peak)
	kills, err := readKeyedUint(filepath.Join(dir, "memory.events"), "oom_kill")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	u.OOMKills = int(kills)
	return u, nil
}

func (g *v2Group) Signal(sig int) error { return signalGroup(g.name, g.Pids, sig) }

func (g *v2Group) Kill() error { return g.killer(true).run() }

// killer uses cgroup.kill (kernel 5.14+) when useKillFile and present,
// else freeze, SIGKILL, thaw.
func (g *v2Group) killer(useKillFile bool) killer {
	k := killer{name: g.name, pids: g.Pids, logger: g.logger}
	if f := filepath.Join(g.dir, "cgroup.kill"); useKillFile {
		if _, err := os.Stat(f); err == nil {
			k.killFile = f
		}
	}
	if _, err := os.Stat(filepath.Join(g.dir, "cgroup.freeze")); err == nil {
		k.freeze = func() error { return g.setFrozen(true) }
		k.thaw = func() error { return g.setFrozen(false) }
	}
	return k
}

// setFrozen writes cgroup.freeze and waits, bounded, for cgroup.events
// to report the state; a freeze that does not complete is undone.
func (g *v2Group) setFrozen(frozen bool) error {
	want := "0"
	if frozen {
		want = "1"
	}
	freezeFile, events := filepath.Join(g.dir, "cgroup.freeze"), filepath.Join(g.dir, "cgroup.events")
	err := waitState("set "+freezeFile+" to "+want, freezeTimeout,
		func() error { return os.WriteFile(freezeFile, []byte(want), 0) },
		func() (bool, error) {
			b, err := os.ReadFile(events)
			if err != nil {
				return false, err
			}
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, " "); ok && k == "frozen" {
					return v == want, nil
				}
			}
			return false, fmt.Errorf("no frozen line in %s", events)
		})
	if err != nil && frozen {
		_ = os.WriteFile(freezeFile, []byte("0"), 0)
	}
	return err
}

// Delete is idempotent: deleting a deleted group succeeds. It refuses
// while any process is inside, then removes the cgroup and those nested
// in it, deepest first.
// DeleteIfEmpty removes the group's directory with one rmdir (see
// EmptyDeleter).
func (g *v2Group) DeleteIfEmpty() (bool, error) {
	return rmdirIfEmpty(g.name, controllerDir{controller: "unified", dir: g.dir})
}

func (g *v2Group) Delete() error {
	if _, err := os.Stat(g.dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	pids, err := procsUnder(g.dir)
	if err != nil {
		return fmt.Errorf("delete cgroup %s: %w", g.name, err)
	}
	if len(pids) > 0 {
		return fmt.Errorf("delete cgroup %s: %s still contains running processes %v", g.name, g.dir, sortedUnique(pids))
	}
	if err := rmdirTree(g.dir); err != nil {
		return fmt.Errorf("delete cgroup %s: %w", g.name, err)
	}
	return nil
}
