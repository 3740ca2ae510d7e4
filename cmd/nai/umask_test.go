package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/nai-project/nai/internal/archive"
)

// withUmask runs the rest of a test under umask m (no test of this
// package runs in parallel).
func withUmask(t *testing.T, m int) {
	old := syscall.Umask(m)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestUserUmask(t *testing.T) {
	for _, m := range []int{0o022, 0o002, 0o077, 0o027} {
		withUmask(t, m)
		if got := userUmask(); got != fs.FileMode(m) {
			t.Errorf("userUmask() = %03o under umask %03o", got, m)
		}
	}
}

// TestJobOutputsTakeTheUserUmask: outputs written by a task (umask 077,
// so 0600 files) are unpacked with the modes of the user's own new
// files, as tar does for a user other than root: 0666&^umask, exec bits
// kept as 0777&^umask, directories 0777&^umask.
func TestJobOutputsTakeTheUserUmask(t *testing.T) {
	src := t.TempDir()
	for _, f := range []struct {
		name string
		mode fs.FileMode
	}{{"weights.bin", 0o600}, {"ckpt/step-10.pt", 0o600}, {"ckpt/run.sh", 0o700}} {
		p := filepath.Join(src, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.name), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "ckpt"), 0o700); err != nil {
		t.Fatal(err)
	}
	var packed bytes.Buffer
	if _, err := archive.Pack(&packed, src, 0); err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{t: t, outputs: packed.Bytes()}
	f.start()
	withUmask(t, 0o002)
	dir := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runCLI(t, "job", "outputs", "7", "-o", dir); code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	for name, want := range map[string]fs.FileMode{".": 0o775, "weights.bin": 0o664, "ckpt": 0o775, "ckpt/step-10.pt": 0o664, "ckpt/run.sh": 0o775} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %03o, want %03o (umask 002)", name, got, want)
		}
	}
}
