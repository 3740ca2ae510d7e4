package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckTaskDir (red team L2): a task's dir that its user cannot reach
// gets the same answer whether it exists or not, so a root executor does
// not tell whether a path in a root-only dir exists.
func TestCheckTaskDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the check is a root executor's")
	}
	base := t.TempDir()
	for d := base; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	priv := filepath.Join(base, "root-only")
	open := filepath.Join(base, "open")
	for _, d := range []string{priv, filepath.Join(priv, "exists"), open} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(priv, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(open, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(priv, "exists"), filepath.Join(open, "link")); err != nil {
		t.Fatal(err)
	}
	u := &User{Name: "nobody", UID: 65534, GID: 65534}
	if err := checkTaskDir(u, open); err != nil {
		t.Errorf("a dir the user can reach: %v", err)
	}
	msg := func(dir string) string {
		err := checkTaskDir(u, dir)
		if err == nil {
			t.Errorf("%s: no error", dir)
			return ""
		}
		return strings.ReplaceAll(err.Error(), dir, "DIR")
	}
	want := msg(filepath.Join(priv, "missing"))
	if !strings.Contains(want, "no such directory, or task user nobody (uid 65534) cannot enter it") {
		t.Errorf("message %q", want)
	}
	for _, d := range []string{filepath.Join(priv, "exists"), priv, filepath.Join(open, "file"), filepath.Join(open, "link"), filepath.Join(open, "missing")} {
		if got := msg(d); got != want {
			t.Errorf("%s: %q, want the same answer as for a missing dir, %q", d, got, want)
		}
	}
	if err := checkTaskDir(nil, filepath.Join(priv, "exists")); err != nil {
		t.Errorf("a task running as the executor's own user: %v", err)
	}
}

// The command's lookup, as root, says no more than the task's user could
// find out: a command in a dir it cannot reach is "not found, or ..."
// whether it exists or not.
func TestUserReachesCommandDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	base := t.TempDir()
	for d := base; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	priv := filepath.Join(base, "priv")
	if err := os.Mkdir(priv, 0o700); err != nil {
		t.Fatal(err)
	}
	u := &User{Name: "nobody", UID: 65534, GID: 65534}
	if userReaches(u, priv) || userReaches(u, filepath.Join(priv, "x")) {
		t.Error("a 0700 root dir is reachable")
	}
	if !userReaches(u, base) || !userReaches(u, "/bin") {
		t.Error("a 0711 dir or /bin is not reachable")
	}
}
