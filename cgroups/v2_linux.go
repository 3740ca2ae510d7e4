package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/nai-project/nai/structs"
)

type v2Manager struct {
	logger    *slog.Logger
	parentDir string // <mount>/<parent>
	naiDir    string // <parentDir>/nai
}

// newV2 validates parent (a cgroup path relative to the cgroup2 mount at
// mountpoint) and makes <parent>/nai.
func newV2(mountpoint, parent string, logger *slog.Logger) (*v2Manager, error) {
	parentDir := filepath.Join(mountpoint, parent)
	if st, err := os.Stat(parentDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("cgroup parent %q does not exist on the cgroup2 mount %s: %s is not a directory", parent, mountpoint, parentDir)
	}
	if _, err := os.Stat(filepath.Join(parentDir, "cgroup.controllers")); err != nil {
		return nil, fmt.Errorf("cgroup parent %s is not a cgroup2 directory (no cgroup.controllers)", parentDir)
	}
	naiDir := filepath.Join(parentDir, "nai")
	if err := os.Mkdir(naiDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("cgroup parent %s is not writable: %w", parentDir, err)
	}
	return &v2Manager{logger: logger, parentDir: parentDir, naiDir: naiDir}, nil
}

func (m *v2Manager) Version() int { return 2 }

// group is the containerd group path; containerd's "mountpoint" is our
// parent so that it only touches subtree_control of <parent> and
// <parent>/nai, never of cgroups above the parent.
func group(name string) string { return "/nai/" + name }

func (m *v2Manager) Create(name string, l Limits) (Group, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	dir := filepath.Join(m.naiDir, name)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("create cgroup %s: %w (%s)", name, ErrExists, dir)
	}
	uvm, err := nvidiaUVMMajor()
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", name, err)
	}
	full := v2Resources(l, uvm)
	if err := m.checkControllers(full.EnabledControllers()); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", name, err)
	}
	// Swap and devices go on in separate steps below: each can fail for
	// host reasons that deserve their own message.
	base := *full
	base.Devices = nil
	if full.Memory != nil {
		mem := *full.Memory
		mem.Swap = nil
		base.Memory = &mem
	}
	cg, err := cgroup2.NewManager(m.parentDir, group(name), &base)
	if err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("create cgroup %s with limits %+v: %w (a cgroup v2 parent that holds processes cannot delegate controllers: run the agent in a leaf cgroup or configure a dedicated parent)", name, l, err)
	}
	fail := func(err error) (Group, error) {
		_ = cg.Delete()
		return nil, fmt.Errorf("create cgroup %s: %w", name, err)
	}
	if full.Memory != nil {
		if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
			if err := cg.Update(&cgroup2.Resources{Memory: &cgroup2.Memory{Swap: full.Memory.Swap}}); err != nil {
				return fail(fmt.Errorf("turn swap off: %w", err))
			}
		} else {
			m.logger.Warn("no swap accounting (memory.swap.max missing): the job's swap is not limited", "cgroup", name)
		}
	}
	if len(full.Devices) > 0 {
		if err := cg.Update(&cgroup2.Resources{Devices: full.Devices}); err != nil {
			return fail(fmt.Errorf("%w: attach the eBPF device filter: %v", ErrDevicesNotEnforced, err))
		}
	}
	m.logger.Debug("created cgroup", "name", name, "version", 2, "dir", dir)
	return &v2Group{name: name, dir: dir, cg: cg, logger: m.logger}, nil
}

// checkControllers says which needed controller the parent cannot hand
// down, instead of containerd's bare write error.
func (m *v2Manager) checkControllers(need []string) error {
	if len(need) == 0 {
		return nil
	}
	file := filepath.Join(m.parentDir, "cgroup.controllers")
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read available controllers: %w", err)
	}
	avail := strings.Fields(string(b))
	var missing []string
	for _, c := range need {
		found := false
		for _, a := range avail {
			found = found || a == c
		}
		if !found {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("cgroup v2 controllers %s are not available in %s (it offers %q): enable them in the subtree_control of its parent (systemd: Delegate=yes)", strings.Join(missing, ", "), m.parentDir, strings.Join(avail, " "))
	}
	return nil
}

func (m *v2Manager) Open(name string) (Group, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(m.naiDir, name)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open cgroup %s: %w", name, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", name, err)
	}
	cg, err := cgroup2.Load(group(name), cgroup2.WithMountpoint(m.parentDir))
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", name, err)
	}
	return &v2Group{name: name, dir: dir, cg: cg, logger: m.logger}, nil
}

type v2Group struct {
	name   string
	dir    string
	cg     *cgroup2.Manager
	logger *slog.Logger
}

func (g *v2Group) Name() string { return g.name }

func (g *v2Group) AddProc(pid int) error { return addProc(g.name, pid, g.cg.AddProc) }

func (g *v2Group) Pids() ([]int, error) {
	procs, err := g.cg.Procs(true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // deleted: nothing runs in it
	}
	if err != nil {
		return nil, fmt.Errorf("list processes of cgroup %s: %w", g.name, err)
	}
	out := make([]int, 0, len(procs))
	for _, p := range procs {
		out = append(out, int(p))
	}
	return sortedUnique(out), nil
}

// Usage reads cpu.stat (always present), memory.peak (kernel 5.19+, else
// 0) and memory.events' oom_kill (when the memory controller is on).
func (g *v2Group) Usage() (*structs.ResourceUsage, error) {
	st, err := g.cg.StatFiltered(cgroup2.StatCPU | cgroup2.StatMemory | cgroup2.StatMemoryEvents)
	if err != nil {
		return nil, fmt.Errorf("read usage of cgroup %s: %w", g.name, err)
	}
	u := &structs.ResourceUsage{}
	if st.CPU != nil {
		u.CPUSeconds = float64(st.CPU.UsageUsec) / 1e6
	}
	if st.Memory != nil {
		u.MaxMemoryBytes = int64(st.Memory.MaxUsage)
	}
	if st.MemoryEvents != nil {
		u.OOMKills = int(st.MemoryEvents.OomKill)
	}
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

// Delete is idempotent: deleting a deleted group succeeds.
func (g *v2Group) Delete() error {
	if _, err := os.Stat(g.dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := g.cg.Delete(); err != nil {
		return fmt.Errorf("delete cgroup %s: %w", g.name, err)
	}
	if _, err := os.Stat(g.dir); err == nil {
		return fmt.Errorf("delete cgroup %s: %s still exists", g.name, g.dir)
	}
	return nil
}
