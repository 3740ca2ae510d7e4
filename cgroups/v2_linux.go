package cgroups

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/nai-project/nai/cgroups/cgroupfs"
)

type v2Manager struct {
	tree   *cgroupfs.Tree
	h      cgroupfs.Hierarchy // the unified one: ParentDir <mount>/<parent>, Dir <ParentDir>/nai
	logger *slog.Logger
}

// newV2 is New on the cgroup2 hierarchy whatever the host's mode (the
// tests use a hybrid host's unified mount).
func newV2(parent string, logger *slog.Logger) (*v2Manager, error) {
	tree, err := cgroupfs.NewUnifiedTree(parent, logger)
	if err != nil {
		return nil, err
	}
	return newV2Manager(tree, logger), nil
}

func newV2Manager(tree *cgroupfs.Tree, logger *slog.Logger) *v2Manager {
	return &v2Manager{tree: tree, h: tree.Hierarchies()[0], logger: logger}
}

func (m *v2Manager) Version() int { return 2 }

// group is the containerd group path; containerd's "mountpoint" is our
// parent so that it only touches subtree_control of <parent> and
// <parent>/nai, never of cgroups above the parent.
func group(name string) string { return "/nai/" + name }

func (m *v2Manager) Create(name string, l Limits) (cgroupfs.Group, error) {
	if err := cgroupfs.ValidateName(name); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	dir := m.h.GroupDir(name)
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
	cg, err := cgroup2.NewManager(m.h.ParentDir, group(name), &base)
	if err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("create cgroup %s with limits %+v: %w (a cgroup v2 parent that holds processes cannot delegate controllers: run the agent in a leaf cgroup or configure a dedicated parent)", name, l, err)
	}
	fail := func(err error) (cgroupfs.Group, error) {
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
	g, err := m.tree.Open(name)
	if err != nil {
		return fail(err)
	}
	m.logger.Debug("created cgroup", "name", name, "version", 2, "dir", dir)
	return g, nil
}

// checkControllers says which needed controller the parent cannot hand
// down, instead of containerd's bare write error.
func (m *v2Manager) checkControllers(need []string) error {
	if len(need) == 0 {
		return nil
	}
	file := filepath.Join(m.h.ParentDir, "cgroup.controllers")
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
		return fmt.Errorf("cgroup v2 controllers %s are not available in %s (it offers %q): enable them in the subtree_control of its parent (systemd: Delegate=yes)", strings.Join(missing, ", "), m.h.ParentDir, strings.Join(avail, " "))
	}
	return nil
}

func (m *v2Manager) Open(name string) (cgroupfs.Group, error) { return m.tree.Open(name) }

// Release removes the tree's nai dirs that hold no cgroup.
func (m *v2Manager) Release() ([]string, error) { return m.tree.Release() }
