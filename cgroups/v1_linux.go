package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/nai-project/nai/cgroups/cgroupfs"
)

type v1Manager struct {
	tree       *cgroupfs.Tree
	logger     *slog.Logger
	hs         []cgroupfs.Hierarchy
	subsystems []cgroup1.Subsystem
	memsw      bool
}

// newV1 builds containerd's controllers for the hierarchies of tree and
// checks for swap accounting.
func newV1(tree *cgroupfs.Tree, logger *slog.Logger) (*v1Manager, error) {
	m := &v1Manager{tree: tree, logger: logger, hs: tree.Hierarchies()}
	memDir := ""
	for _, h := range m.hs {
		s, err := v1Subsystem(cgroup1.Name(h.Controller), h.Mountpoint)
		if err != nil {
			return nil, err
		}
		m.subsystems = append(m.subsystems, s)
		if h.Controller == "memory" {
			memDir = h.Dir
		}
	}
	if _, err := os.Stat(filepath.Join(memDir, "memory.memsw.limit_in_bytes")); err == nil {
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

// used are the hierarchies, with containerd's controllers, a group with
// limits l is made in: all but devices when l restricts no device. Outside
// a devices cgroup of its own a task has the agent's device access, which
// is what a child with no rules of its own inherits: the same, for one
// mkdir, one cgroup.procs write, a return and one rmdir less per job.
func (m *v1Manager) used(l Limits) ([]cgroupfs.Hierarchy, []cgroup1.Subsystem) {
	if l.Devices != nil {
		return m.hs, m.subsystems
	}
	var hs []cgroupfs.Hierarchy
	var ss []cgroup1.Subsystem
	for i, h := range m.hs {
		if h.Controller != string(cgroup1.Devices) {
			hs, ss = append(hs, h), append(ss, m.subsystems[i])
		}
	}
	return hs, ss
}

// path places the group at <parent>/nai/<name> in every hierarchy.
func (m *v1Manager) path(name string) cgroup1.Path {
	return func(n cgroup1.Name) (string, error) {
		for _, h := range m.hs {
			if h.Controller == string(n) {
				return filepath.Join(h.Path, name), nil
			}
		}
		return "", cgroup1.ErrControllerNotActive
	}
}

func (m *v1Manager) Create(name string, l Limits) (cgroupfs.Group, error) {
	if err := cgroupfs.ValidateName(name); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	uvm := int64(-1)
	if l.Devices != nil {
		var err error
		if uvm, err = nvidiaUVMMajor(); err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", name, err)
		}
	}
	hs, subsystems := m.used(l)
	// A leftover of this name in any hierarchy, the devices one included,
	// is refused: it could hold processes or rules of another run. The
	// used ones are made here with mkdir, whose EEXIST is that check
	// (containerd's MkdirAll then finds them made: one stat, not a walk
	// up to the parent).
	made, err := makeGroupDirs(hs, name)
	if err != nil {
		return nil, err
	}
	undo := func() {
		for _, d := range made {
			_ = os.Remove(d)
		}
	}
	if l.Devices == nil {
		for _, h := range m.hs {
			if h.Controller == string(cgroup1.Devices) && exists(h.GroupDir(name)) {
				undo()
				return nil, fmt.Errorf("create cgroup %s: %w (%s)", name, ErrExists, h.GroupDir(name))
			}
		}
	}
	hierarchy := func() ([]cgroup1.Subsystem, error) { return subsystems, nil }
	if _, err := cgroup1.New(m.path(name), v1Resources(l, m.memsw, uvm), cgroup1.WithHierarchy(hierarchy)); err != nil {
		undo() // the directories made before the failing write
		return nil, fmt.Errorf("create cgroup %s with limits %+v: %w", name, l, err)
	}
	g, err := m.tree.Open(name)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", name, err)
	}
	m.logger.Debug("created cgroup", "name", name, "version", 1)
	return g, nil
}

// makeGroupDirs makes the group's directory in each of hs, once for
// controllers mounted together ("cpu,cpuacct"). A directory that exists
// already is refused with ErrExists; on any error the ones made are
// removed again. A hierarchy's nai dir that went away since the tree was
// opened (an operator's cleanup, or a test's of another package that
// shares this process's cgroup) is made again.
func makeGroupDirs(hs []cgroupfs.Hierarchy, name string) ([]string, error) {
	var made []string
	for _, h := range hs {
		d := h.GroupDir(name)
		if slices.Contains(made, d) {
			continue
		}
		err := os.Mkdir(d, 0o755)
		if errors.Is(err, fs.ErrNotExist) {
			// As the tree makes it: one level, in the parent it found.
			if err = os.Mkdir(h.Dir, 0o755); err == nil || errors.Is(err, fs.ErrExist) {
				if h.Controller == "pids" {
					cgroupfs.CapTreePids(h.Dir, slog.New(slog.DiscardHandler))
				}
				err = os.Mkdir(d, 0o755)
			}
		}
		if err != nil {
			for _, m := range made {
				_ = os.Remove(m)
			}
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("create cgroup %s: %w (%s)", name, ErrExists, d)
			}
			return nil, fmt.Errorf("create cgroup %s: %w", name, err)
		}
		made = append(made, d)
	}
	return made, nil
}

func (m *v1Manager) Open(name string) (cgroupfs.Group, error) { return m.tree.Open(name) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Release removes the tree's nai dirs that hold no cgroup.
func (m *v1Manager) Release() ([]string, error) { return m.tree.Release() }
