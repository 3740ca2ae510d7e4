package client

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nai-project/nai/client/executor"
)

// An older agent's dir keeps its logs in logs/; this agent's in the dir.
func TestAllocDirLogPath(t *testing.T) {
	d := allocDir(t.TempDir())
	if got, want := d.logPath("stdout"), d.path("stdout"); got != want {
		t.Errorf("logPath = %s, want %s", got, want)
	}
	if err := os.Mkdir(d.path("logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, want := d.logPath("stderr"), filepath.Join(string(d), "logs", "stderr"); got != want {
		t.Errorf("logPath with logs/ = %s, want %s", got, want)
	}
}

// The reported mark is exit.json's second name, dated when it was made;
// without exit.json it is a file of its own.
func TestMarkReported(t *testing.T) {
	d := allocDir(t.TempDir())
	if err := executor.WriteJSONAtomic(d.path(executor.ExitFile), executor.ExitStatus{Reason: "exited"}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := d.markReported(at); err != nil {
		t.Fatal(err)
	}
	mark, err := os.Stat(d.path(reportedFile))
	if err != nil {
		t.Fatal(err)
	}
	exit, err := os.Stat(d.path(executor.ExitFile))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(mark, exit) || !mark.ModTime().Equal(at) {
		t.Errorf("mark: same file as exit.json %v, mtime %v; want a link dated %v", os.SameFile(mark, exit), mark.ModTime(), at)
	}
	if err := d.markReported(time.Now()); err != nil {
		t.Errorf("marking twice: %v", err)
	}

	bare := allocDir(t.TempDir())
	if err := bare.markReported(time.Now()); err != nil || !exists(bare.path(reportedFile)) {
		t.Errorf("mark without exit.json: %v, exists %v", err, exists(bare.path(reportedFile)))
	}
}

// The executor runs Go code on one thread, whatever the agent's setting;
// the rest of the agent's environment passes as it is.
func TestExecutorEnv(t *testing.T) {
	got := executorEnv([]string{"PATH=/bin", "GOMAXPROCS=8", "HOME=/root"})
	want := []string{"PATH=/bin", "HOME=/root", "GOMAXPROCS=1"}
	if !slices.Equal(got, want) {
		t.Errorf("executorEnv = %q, want %q", got, want)
	}
}
