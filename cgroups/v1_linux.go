package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/nai-project/nai/structs"
)

// v1Required are the hierarchies every allocation joins; the freezer is
// optional (Kill then works without freezing).
var (
	v1Required = []cgroup1.Name{cgroup1.Memory, cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Pids, cgroup1.Devices}
	v1Optional = []cgroup1.Name{cgroup1.Freezer}
)

type v1Manager struct {
	logger *slog.Logger
	// base is <parent>/nai per controller, relative to the hierarchy's
	// mount; dirs is the same as an absolute directory.
	base       map[cgroup1.Name]string
	dirs       map[cgroup1.Name]string
	subsystems []cgroup1.Subsystem
	memsw      bool
}

func newV1(ms mounts, own map[string]string, parent string, logger *slog.Logger) (*v1Manager, error) {
	m := &v1Manager{logger: logger, base: map[cgroup1.Name]string{}, dirs: map[cgroup1.Name]string{}}
	var missing []string
	for _, name := range append(slices.Clone(v1Required), v1Optional...) {
		required := !slices.Contains(v1Optional, name)
		mnt, ok := ms.controller(string(name))
		if !ok {
			if required {
				missing = append(missing, string(name))
			} else {
				logger.Warn("cgroup v1 controller not mounted; Kill will not freeze before killing", "controller", name)
			}
			continue
		}
		cgPath := parent
		if cgPath == "" {
			if cgPath, ok = own[string(name)]; !ok {
				return nil, fmt.Errorf("own cgroup for controller %s not listed in /proc/self/cgroup", name)
			}
			cgPath = outsideNai(cgPath)
		}
		rel, err := mnt.relative(cgPath)
		if err != nil {
			return nil, err
		}
		parentDir := filepath.Join(mnt.Mountpoint, rel)
		if st, err := os.Stat(parentDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("cgroup parent %q does not exist in the %s hierarchy: %s is not a directory", cgPath, name, parentDir)
		}
		naiDir := filepath.Join(parentDir, "nai")
		if err := os.Mkdir(naiDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cgroup parent %q is not writable in the %s hierarchy: %w", cgPath, name, err)
		}
		s, err := v1Subsystem(name, mnt.Mountpoint)
		if err != nil {
			return nil, err
		}
		m.base[name] = filepath.Join(rel, "nai")
		m.dirs[name] = naiDir
		m.subsystems = append(m.subsystems, s)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cgroup v1 controllers not mounted: %s (allocations cannot be limited)", strings.Join(missing, ", "))
	}
	if _, err := os.Stat(filepath.Join(m.dirs[cgroup1.Memory], "memory.memsw.limit_in_bytes")); err == nil {
		m.memsw = true
	} else {
		logger.Warn("no swap accounting (memory.memsw.* missing, boot with swapaccount=1): jobs get swappiness 0 instead of a hard swap limit")
	}
	return m, nil
}

// v1Subsystem builds containerd's controller for a hierarchy mounted at
// mountpoint. containerd joins "<root>/<name>", so root is the mount's
// parent when it is named after the controller, or when a symlink by that
// name points at it (co-mounted "cpu,cpuacct").
func v1Subsystem(name cgroup1.Name, mountpoint string) (cgroup1.Subsystem, error) {
	root := filepath.Dir(mountpoint)
	if filepath.Base(mountpoint) != string(name) {
		a, errA := os.Stat(mountpoint)
		b, errB := os.Stat(filepath.Join(root, string(name)))
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			return nil, fmt.Errorf("cgroup v1 controller %s is mounted at %s and %s does not lead there", name, mountpoint, filepath.Join(root, string(name)))
		}
	}
	switch name {
	case cgroup1.Memory:
		return cgroup1.NewMemory(root, cgroup1.OptionalSwap()), nil
	case cgroup1.Cpu:
		return cgroup1.NewCpu(root), nil
	case cgroup1.Cpuacct:
		return cgroup1.NewCpuacct(root), nil
	case cgroup1.Pids:
		return cgroup1.NewPids(root), nil
	case cgroup1.Devices:
		return cgroup1.NewDevices(root), nil
	case cgroup1.Freezer:
		return cgroup1.NewFreezer(root), nil
	}
	return nil, fmt.Errorf("cgroup v1 controller %s is not used by nai", name)
}

func (m *v1Manager) Version() int { return 1 }

func (m *v1Manager) hierarchy() ([]cgroup1.Subsystem, error) { return m.subsystems, nil }

// path places the group at <parent>/nai/<name> in every hierarchy.
func (m *v1Manager) path(name string) cgroup1.Path {
	return func(n cgroup1.Name) (string, error) {
		b, ok := m.base[n]
		if !ok {
			return "", cgroup1.ErrControllerNotActive
		}
		return filepath.Join(b, name), nil
	}
}

func (m *v1Manager) groupDirs(name string) map[cgroup1.Name]string {
	out := map[cgroup1.Name]string{}
	for n, d := range m.dirs {
		out[n] = filepath.Join(d, name)
	}
	return out
}

func (m *v1Manager) Create(name string, l Limits) (Group, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	dirs := m.groupDirs(name)
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			return nil, fmt.Errorf("create cgroup %s: %w (%s)", name, ErrExists, d)
		}
	}
	uvm, err := nvidiaUVMMajor()
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", name, err)
	}
	cg, err := cgroup1.New(m.path(name), v1Resources(l, m.memsw, uvm), cgroup1.WithHierarchy(m.hierarchy))
	if err != nil {
		// Undo the directories made before the failing write.
		for _, d := range dirs {
			_ = os.Remove(d)
		}
		return nil, fmt.Errorf("create cgroup %s with limits %+v: %w", name, l, err)
	}
	m.logger.Debug("created cgroup", "name", name, "version", 1, "memory_dir", dirs[cgroup1.Memory])
	return &v1Group{name: name, cg: cg, dirs: dirs, logger: m.logger}, nil
}

func (m *v1Manager) Open(name string) (Group, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	cg, err := cgroup1.Load(m.path(name), cgroup1.WithHierarchy(m.hierarchy))
	if errors.Is(err, cgroup1.ErrCgroupDeleted) {
		return nil, fmt.Errorf("open cgroup %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", name, err)
	}
	dirs := m.groupDirs(name)
	for n, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			delete(dirs, n)
		}
	}
	return &v1Group{name: name, cg: cg, dirs: dirs, logger: m.logger}, nil
}

type v1Group struct {
	name   string
	cg     cgroup1.Cgroup
	dirs   map[cgroup1.Name]string // absolute directory per controller
	logger *slog.Logger
}

func (g *v1Group) Name() string { return g.name }

// AddProc writes pid to cgroup.procs in every hierarchy, so the process
// is limited by all controllers before it execs user code.
func (g *v1Group) AddProc(pid int) error {
	return addProc(g.name, pid, func(p uint64) error { return g.cg.AddProc(p) })
}

// Pids is the union over all hierarchies (a process moved out of only
// some of them is still ours to kill). It reads cgroup.procs directly
// (tree.go): containerd's walk stats every control file, which costs the
// executor milliseconds per task.
func (g *v1Group) Pids() ([]int, error) {
	var out []int
	for n, d := range g.dirs {
		pids, err := procsUnder(d)
		if err != nil {
			return nil, fmt.Errorf("list processes of cgroup %s (%s): %w", g.name, n, err)
		}
		out = append(out, pids...)
	}
	return sortedUnique(out), nil
}

// Usage reads the three files it reports (tree.go) rather than every
// statistic of every controller: the executor calls it once per task.
func (g *v1Group) Usage() (*structs.ResourceUsage, error) {
	u := &structs.ResourceUsage{}
	fail := func(err error) (*structs.ResourceUsage, error) {
		return nil, fmt.Errorf("read usage of cgroup %s: %w", g.name, err)
	}
	if d, ok := g.dirs[cgroup1.Cpuacct]; ok {
		ns, err := readUintFile(filepath.Join(d, "cpuacct.usage"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
		u.CPUSeconds = float64(ns) / 1e9
	}
	if d, ok := g.dirs[cgroup1.Memory]; ok {
		max, err := readUintFile(filepath.Join(d, "memory.max_usage_in_bytes"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
		u.MaxMemoryBytes = int64(max)
		kills, err := readKeyedUint(filepath.Join(d, "memory.oom_control"), "oom_kill")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
		u.OOMKills = int(kills)
	}
	return u, nil
}

func (g *v1Group) Signal(sig int) error { return signalGroup(g.name, g.Pids, sig) }

func (g *v1Group) Kill() error {
	k := killer{name: g.name, pids: g.Pids, logger: g.logger}
	if dir, ok := g.dirs[cgroup1.Freezer]; ok {
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

// Delete is idempotent: deleting a deleted group succeeds.
func (g *v1Group) Delete() error {
	for n, d := range g.dirs {
		if err := rmdirTree(d); err != nil {
			return fmt.Errorf("delete cgroup %s (%s): %w", g.name, n, err)
		}
	}
	return nil
}
