package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/nai-project/nai/internal/testtool"
)

// A second agent on a data dir that a running agent holds stops at once
// with an error naming the holder, where it hung for ever, printing
// nothing, holding raft.db open and deaf to SIGTERM.
func TestSecondAgentOnDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := startAgent(t, dir, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, naiBin, "agent", "-dev", "-http-addr", "127.0.0.1:0", "-data-dir", dir,
		"-dev-gpus", "1", "-node-name", "e2e-node")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the second agent still runs after %s:\n%s", time.Since(start), out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("second agent: %v, want exit 1:\n%s", err, out)
	}
	want := fmt.Sprintf("data dir %s is in use by another nai agent (pid %d); stop it or choose another -data-dir", dir, first.cmd.Process.Pid)
	if !strings.Contains(string(out), want) {
		t.Errorf("second agent said:\n%s\nwant it to say %q", out, want)
	}
	// The first agent is unharmed.
	if _, err := first.api().Nodes(context.Background()); err != nil {
		t.Errorf("first agent after the second's attempt: %v", err)
	}
}

// SIGTERM stops an agent that is still starting: here one that waits for
// the lock of a raft log another process holds.
func TestSigtermWhileStarting(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "data")
	raftDir := filepath.Join(dir, "server", "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// bolt's flock on raft.db: the agent waits for it as it would for a
	// raft log some other process had open.
	db, err := bbolt.Open(filepath.Join(raftDir, "raft.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	logs := &testtool.Buffer{}
	cmd := exec.Command(naiBin, "agent", "-dev", "-http-addr", "127.0.0.1:0", "-data-dir", dir,
		"-dev-gpus", "1", "-node-name", "e2e-node")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	defer func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	}()
	// It logs its garbage collector's setting just before it opens its
	// server's stores.
	waitFor(t, 30*time.Second, "the agent starts its server", func() bool {
		return strings.Contains(logs.String(), "garbage collector")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the agent still runs 15s after SIGTERM:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "stopped (SIGTERM) before it was ready") {
		t.Errorf("the agent said:\n%s\nwant it to say it stopped (SIGTERM) before it was ready", logs)
	}
}
