//go:build !nai_cli

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nai-project/nai/cgroups"
)

// agentLeaf is the cgroup the client agent moves itself into on a cgroup
// v2 host under systemd, below the cgroup that systemd delegated to it.
const agentLeaf = "agent"

// delegatedCgroupParent returns the cgroup parent the client uses for its
// allocations. An explicit cgroup_parent is used as it is. Otherwise, on a
// cgroup v2 host when systemd runs the agent (nai-client.service,
// Delegate=yes), the agent first moves itself into a leaf below its
// service's cgroup and nests allocations beside it: cgroup v2 lets a
// cgroup hand controllers (memory, cpu, pids) to its children only while
// no process sits in it (the "no internal processes" rule), and the agent
// itself would otherwise. systemd 254+ can do the same with
// DelegateSubgroup=; Debian 12 has systemd 252.
//
// Anywhere else (cgroup v1, no systemd, tests) it returns "": the agent's
// own cgroup, as before.
func delegatedCgroupParent(configured string, logger *slog.Logger) string {
	if configured != "" || os.Getenv("INVOCATION_ID") == "" {
		return configured
	}
	parent, err := moveToLeaf("/sys/fs/cgroup", "/proc/self/cgroup", os.Getpid())
	if err != nil {
		logger.Warn("cannot move the agent into a leaf cgroup: allocation cgroups may fail to get controllers", "err", err)
		return ""
	}
	if parent != "" {
		logger.Info("moved the agent into a leaf cgroup; allocations nest beside it", "parent", parent, "leaf", path.Join(parent, agentLeaf))
	}
	return parent
}

// moveToLeaf moves pid from its cgroup v2 cgroup C (read from procCgroup)
// into C/agent under the cgroup2 mount at root, and returns C. It returns
// "" and does nothing on a v1 or hybrid host, or when the process is in
// the root cgroup.
func moveToLeaf(root, procCgroup string, pid int) (string, error) {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		return "", nil // not a unified (v2) hierarchy
	}
	b, err := os.ReadFile(procCgroup)
	if err != nil {
		return "", fmt.Errorf("read own cgroup: %w", err)
	}
	own := ""
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			own = p
		}
	}
	if own == "" {
		return "", fmt.Errorf("%s has no cgroup v2 line (0::PATH)", procCgroup)
	}
	own = path.Clean(own)
	if path.Base(own) == agentLeaf {
		own = path.Dir(own) // already moved (a second client start in one process)
	}
	if own == "/" {
		return "", nil // not delegated: nothing to move out of
	}
	leaf := filepath.Join(root, own, agentLeaf)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("make leaf cgroup %s (is Delegate=yes set on the unit?): %w", leaf, err)
	}
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return "", fmt.Errorf("move the agent into %s: %w", leaf, err)
	}
	return own, nil
}

// releaseCgroups removes, as the agent stops, the nai dirs it made in the
// cgroup hierarchies where no allocation is left in them (tasks that
// outlive the agent keep theirs, for the next agent to adopt).
func releaseCgroups(cg cgroups.Manager, logger *slog.Logger) {
	if cg == nil {
		return
	}
	removed, err := cg.Release()
	if err != nil {
		logger.Warn("cgroups left behind", "err", err)
	}
	if len(removed) > 0 {
		logger.Debug("removed the agent's cgroup dirs", "dirs", removed)
	}
}
