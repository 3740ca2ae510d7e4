package executor

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// checkTaskDir is what a root executor checks of the task's dir (the work
// dir, or task.workdir) before it starts a task as another account u. It
// looks as root, so it must not tell that account more than it could find
// out itself: whether /root/.ssh exists is none of its business. So every
// way of failing (missing, not a directory, a directory above it that u
// may not search, a symlink into such) gives the one message, and only a
// dir that u can walk down to by the permission bits of every directory
// on its real path passes. A dir that only a POSIX ACL opens to u fails
// here too; task.workdir should be a plain directory the user can reach.
func checkTaskDir(u *User, dir string) error {
	if !otherUser(u) {
		return nil
	}
	if !userReaches(u, dir) {
		return fmt.Errorf("start task in %s: no such directory, or task user %s (uid %d) cannot enter it", dir, u.Name, u.UID)
	}
	return nil
}

// otherUser: the executor is root and runs the task as another account.
func otherUser(u *User) bool { return u != nil && os.Geteuid() == 0 && u.UID != 0 }

// userReaches reports whether u can walk down to the directory dir, by
// the permission bits of every directory on its real path.
func userReaches(u *User, dir string) bool {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		// As the kernel decides: the owner's bits for the owner, else
		// the group's for a member, else the others'.
		mode, bit := fi.Mode().Perm(), fs.FileMode(0o001)
		switch {
		case st.Uid == u.UID:
			bit = 0o100
		case st.Gid == u.GID || slices.Contains(u.Groups, st.Gid):
			bit = 0o010
		}
		if mode&bit == 0 {
			return false
		}
		if p == filepath.Dir(p) {
			return true
		}
	}
}
