//go:build !nai_cli

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockDataDir(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, agentLockFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want the holder's pid %d", got, os.Getpid())
	}

	// A second holder (another open file: flock locks conflict between
	// open files, in one process too) is refused at once and told who
	// holds the dir.
	_, err = lockDataDir(dir)
	var inUse *dirInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second lock: %v, want a *dirInUseError", err)
	}
	if inUse.PID != os.Getpid() || inUse.Dir != dir {
		t.Errorf("error = %+v, want pid %d and dir %s", inUse, os.Getpid(), dir)
	}
	want := "data dir " + dir + " is in use by another nai agent (pid " + strconv.Itoa(os.Getpid()) + "); stop it or choose another -data-dir"
	if got := dataDirLockMessage(err, "-data-dir"); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}

	l.release()
	l2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
}

func TestDirInUseErrorWithoutPID(t *testing.T) {
	e := &dirInUseError{Dir: "/d"}
	if got, want := e.Error(), "data dir /d is in use by another nai agent"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
