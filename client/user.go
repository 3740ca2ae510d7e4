package client

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// taskUser is the unix account a task runs as (task.user).
type taskUser struct {
	Name   string   `json:"name"`
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	Home   string   `json:"home,omitempty"`
}

// lookupTaskUser resolves task.user on this host. Only a root agent can
// run a task as another account.
func lookupTaskUser(name string) (*taskUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("task user %q does not exist on this node: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("task user %q has a non-numeric uid or gid (%s:%s)", name, u.Uid, u.Gid)
	}
	tu := &taskUser{Name: name, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				tu.Groups = append(tu.Groups, uint32(g))
			}
		}
	}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != tu.UID {
		return nil, fmt.Errorf("task user %q: the agent runs as uid %d, not root, so it can run tasks only as itself", name, euid)
	}
	return tu, nil
}

// shimArgs are the exec shim's flags that switch to the user.
func (u *taskUser) shimArgs() []string {
	gs := make([]string, len(u.Groups))
	for i, g := range u.Groups {
		gs[i] = strconv.FormatUint(uint64(g), 10)
	}
	return []string{"-uid", strconv.FormatUint(uint64(u.UID), 10), "-gid", strconv.FormatUint(uint64(u.GID), 10),
		"-groups", strings.Join(gs, ",")}
}

// chownTree gives the task user the dirs the task writes.
func (u *taskUser) chown(paths ...string) error {
	for _, p := range paths {
		if err := os.Lchown(p, int(u.UID), int(u.GID)); err != nil {
			return fmt.Errorf("give %s to task user %s: %w", p, u.Name, err)
		}
	}
	return nil
}

// reachable checks that the task user can walk down to dir: every
// directory above it must let the user search it. A data dir under a
// private parent (a 0700 home or temp dir) would otherwise fail the task
// with a bare "permission denied".
func (u *taskUser) reachable(dir string) error {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check the task user can reach %s: %w", dir, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			mode := fi.Mode().Perm()
			can := mode&0o001 != 0 ||
				(st.Uid == u.UID && mode&0o100 != 0) ||
				((st.Gid == u.GID || slices.Contains(u.Groups, st.Gid)) && mode&0o010 != 0)
			if !can {
				return fmt.Errorf("task user %s (uid %d) cannot reach %s: %s is mode %04o and not its own; make every directory above the client's data_dir searchable by others (chmod o+x %s)",
					u.Name, u.UID, dir, p, mode, p)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
