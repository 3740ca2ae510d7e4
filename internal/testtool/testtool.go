package testtool

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// aptMu serialises installs within one test binary; apt-get's own lock
// (waited for, not failed on) serialises test binaries run in parallel.
var aptMu sync.Mutex

// Need returns the path of program, installing the Debian package pkg
// when it is missing and the test runs as root. It skips the test when the
// program cannot be had.
func Need(t testing.TB, program, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(program); err == nil {
		return p
	}
	if testing.Short() {
		t.Skipf("%s is not installed, and -short installs nothing: apt-get install %s", program, pkg)
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is not installed and the test is not root, so it cannot install it: apt-get install %s", program, pkg)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skipf("%s is not installed and there is no apt-get to install Debian's %s with", program, pkg)
	}
	aptMu.Lock()
	defer aptMu.Unlock()
	if p, err := exec.LookPath(program); err == nil {
		return p
	}
	install := func() (string, error) {
		cmd := exec.Command("apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Logf("%s is missing: installing Debian's %s", program, pkg)
	out, err := install()
	if err != nil {
		// The package lists may be missing or old.
		upd := exec.Command("apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq")
		if uout, uerr := upd.CombinedOutput(); uerr != nil {
			t.Skipf("%s is missing and apt-get update failed (%v): %s", program, uerr, strings.TrimSpace(string(uout)))
		}
		out, err = install()
	}
	if err != nil {
		t.Skipf("%s is missing and apt-get install %s failed (%v): %s", program, pkg, err, strings.TrimSpace(out))
	}
	p, err := exec.LookPath(program)
	if err != nil {
		t.Skipf("apt-get installed %s but %s is still not on PATH", pkg, program)
	}
	return p
}

// Buffer is a bytes.Buffer that one goroutine may write while another
// reads it: a process's output or an agent's log that a test looks at
// while it runs.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
