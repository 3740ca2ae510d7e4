package executor

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// enterMountNS moves the calling thread, which must be locked to its
// goroutine, into a mount namespace of its own, whose mounts are slaves of
// the host's: mounts made on the host still reach the task, nothing the
// task's side mounts or unmounts reaches the host, and the namespace goes
// with the last process in it, so no mount is left behind. entered is
// false when the thread is unchanged (no CAP_SYS_ADMIN: err says why);
// once it is true the thread's mounts are no longer the executor's and the
// thread must end with its goroutine (never UnlockOSThread).
func enterMountNS() (entered bool, err error) {
	// CLONE_NEWNS implies CLONE_FS: the thread gets its own cwd and root
	// as well, which a multithreaded process may do per thread.
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return false, fmt.Errorf("make a mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return true, fmt.Errorf("make / a slave mount: %w", err)
	}
	return true, nil
}

// bindReadOnly makes dir, and every mount below it, read-only in the
// calling thread's mount namespace: it binds dir onto itself and sets the
// bind read-only, keeping the mount's other flags (nosuid, noexec, ...).
func bindReadOnly(dir string) error {
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s onto itself: %w", dir, err)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	err := unix.MountSetattr(unix.AT_FDCWD, dir, unix.AT_RECURSIVE, attr)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("make %s read-only: %w", dir, err)
	}
	// Before Linux 5.12 (or where a seccomp filter refuses
	// mount_setattr): a remount of the bind alone, which replaces the
	// mount's flags, so those it has are passed again. statfs's ST_*
	// flags have the values of the MS_* ones.
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("make %s read-only: %w", dir, err)
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", dir, err)
	}
	return nil
}
