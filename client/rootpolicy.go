package client

import (
	"fmt"
	"os"
	"os/user"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// Values of Config.RootTasks.
const (
	// RootTasksAllow lets tasks run as root. The dev agent uses it, so that
	// a one-machine cluster run by root just works.
	RootTasksAllow = "allow"
	// RootTasksRefuse fails, with a clear reason, every task that would
	// run as root: task.user "root", a submitter mapped to root, or a task
	// with no account to run as on a root agent. It is the default.
	RootTasksRefuse = "refuse"
)

// taskUserFor decides which account a task runs as:
//
//   - task.user when set (it must exist on this node; only a root agent can
//     switch to another account);
//   - else, when the agent is root, the submitter's account (job.User) if
//     it exists on this node;
//   - else the agent's own account.
//
// nil means "as the agent, no switch". A task that would end up as root is
// refused unless the operator allowed root tasks.
func (c *Client) taskUserFor(job *structs.Job) (*executor.User, error) {
	euid := os.Geteuid()
	var u *executor.User
	switch {
	case job.Task.User != "":
		tu, err := lookupTaskUser(job.Task.User)
		if err != nil {
			return nil, err
		}
		u = tu
	case euid == 0 && job.User != "":
		// The submitter's account when this node has one (looked up
		// once: the start path of every job passes here).
		if pu, err := user.Lookup(job.User); err == nil {
			tu, err := taskUser(pu, job.User)
			if err != nil {
				return nil, err
			}
			if tu.UID != 0 {
				u = tu
			}
		}
	}
	runsAsRoot := (u == nil && euid == 0) || (u != nil && u.UID == 0)
	if runsAsRoot && c.cfg.RootTasks != RootTasksAllow {
		who := "the agent's own account, root"
		switch {
		case job.Task.User != "":
			who = fmt.Sprintf("task.user %q", job.Task.User)
		case job.User != "":
			who = fmt.Sprintf("the agent's account, root: the submitter %q has no unprivileged account on this node", job.User)
		}
		return nil, fmt.Errorf("refusing to run the task as root (it would run as %s): this node does not allow root tasks (client { allow_root_tasks = true } allows them); set task.user to an unprivileged account that exists on the node", who)
	}
	return u, nil
}
