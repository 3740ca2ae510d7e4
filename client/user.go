package client

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/nai-project/nai/client/executor"
)

// lookupTaskUser resolves task.user on this host. Only a root agent can
// run a task as another account.
func lookupTaskUser(name string) (*executor.User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("task user %q does not exist on this node: %w", name, err)
	}
	return taskUser(u, name)
}

// taskUser is the account u, found by name, as the executor runs a task
// as it: ids, groups and home.
func taskUser(u *user.User, name string) (*executor.User, error) {
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("task user %q has a non-numeric uid or gid (%s:%s)", name, u.Uid, u.Gid)
	}
	tu := &executor.User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: existingDir(u.HomeDir)}
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

// chownToUser gives the task user u the dirs the task writes.
func chownToUser(u *executor.User, paths ...string) error {
	for _, p := range paths {
		if err := os.Lchown(p, int(u.UID), int(u.GID)); err != nil {
			return fmt.Errorf("give %s to task user %s: %w", p, u.Name, err)
		}
	}
	return nil
}

// userCanReach checks that the task user u can walk down to dir: every
// directory above it must let the user search it. A data dir under a
// private parent (a 0700 home or temp dir) would otherwise fail the task
// with a bare "permission denied".
func userCanReach(u *executor.User, dir string) error {
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

// existingDir is dir when it is a directory on this host, else "": a
// system account's home (/nonexistent, or one never made with useradd -M)
// is no HOME for its task, which then gets its work dir (taskEnv).
func existingDir(dir string) string {
	if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
		return ""
	}
	return dir
}
