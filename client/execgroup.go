package client

import (
	"log/slog"

	"github.com/nai-project/nai/cgroups"
)

// On cgroup v2 a cgroup that holds processes cannot hand controllers to
// its children ("no internal processes"), so no executor may sit in the
// parent's nai/ dir, where the allocations' cgroups are. Each executor is
// therefore moved into a limit-free leaf of its own (the allocation's cgroup
// name plus "-exec") beside its allocation's cgroup. That also takes it out
// of the agent's cgroup, so a
// service manager that kills the agent's whole cgroup on restart
// (systemd's KillMode=control-group) does not kill running jobs with it.
// The leaf is removed with the allocation's cgroup once the executor is
// gone. On v1 the executor stays where the agent is: v1 has no such rule.
//
// Not tested on a v2 host here (the CI host runs v1); a failure to place
// the executor is logged and the executor runs on where it was started.

// execCgroupName is the executor's own cgroup below the manager's parent.
func (c *Client) execCgroupName(allocID string) string { return c.cgroupName(allocID) + "-exec" }

// placeExecutor moves a freshly started executor into its own leaf (v2).
func (c *Client) placeExecutor(allocID string, pid int, logger *slog.Logger) {
	if c.cfg.Cgroups == nil || c.cfg.Cgroups.Version() != 2 {
		return
	}
	g, err := c.cfg.Cgroups.Create(c.execCgroupName(allocID), cgroups.Limits{})
	if err != nil {
		logger.Warn("cannot make the executor's own cgroup; it stays in the agent's", "error", err)
		return
	}
	if err := g.AddProc(pid); err != nil {
		logger.Warn("cannot move the executor into its own cgroup; it stays in the agent's", "error", err)
		_ = g.Delete()
	}
}

// removeExecCgroup removes the executor's leaf once the executor is gone.
func (c *Client) removeExecCgroup(allocID string, logger *slog.Logger) {
	if c.cfg.Cgroups == nil || c.cfg.Cgroups.Version() != 2 {
		return
	}
	g, err := c.cfg.Cgroups.Open(c.execCgroupName(allocID))
	if err != nil {
		return // never made, or already removed
	}
	if err := g.Kill(); err != nil {
		logger.Warn("kill leftover executor cgroup", "error", err)
	}
	if err := g.Delete(); err != nil {
		logger.Warn("remove executor cgroup", "error", err)
	}
}
