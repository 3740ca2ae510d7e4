package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// notifySocket stands in for systemd's $NOTIFY_SOCKET: it records every
// state the agent sends (READY=1, RELOADING=1, ...).
type notifySocket struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "nai-notify-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &notifySocket{path: filepath.Join(dir, "notify")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			for _, line := range strings.Split(string(buf[:k]), "\n") {
				if line != "" && !strings.HasPrefix(line, "MONOTONIC_USEC=") {
					n.msgs = append(n.msgs, line)
				}
			}
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifySocket) states() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// waitStates waits until the states received end with want.
func (n *notifySocket) waitStates(t *testing.T, want ...string) {
	t.Helper()
	waitFor(t, 30*time.Second, "the agent to notify "+strings.Join(want, ", "), func() bool {
		got := n.states()
		return len(got) >= len(want) && strings.Join(got[len(got)-len(want):], " ") == strings.Join(want, " ")
	})
}

const reloadConfig = `log_level = "info"
client {
  reserved {
    cpu    = 0.25
    memory = "128MiB"
  }
}
`

// TestAgentReload: the agent tells systemd it is ready; SIGHUP applies a
// new log level and reservation (the node re-registers with the new totals)
// while a job runs on, untouched; a broken configuration is logged and the
// old one stays.
func TestAgentReload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	sock := newNotifySocket(t)
	t.Setenv("NOTIFY_SOCKET", sock.path)
	cfgFile := writeFile(t, t.TempDir(), "agent.hcl", reloadConfig)
	a := startClusterAgent(t, "r1", t.TempDir(), "-server", "-client", "-bootstrap-expect", "1", "-dev-gpus", "2", "-config", cfgFile)
	t.Cleanup(a.cancelLiveJobs)
	sock.waitStates(t, "READY=1")

	ctx := context.Background()
	var before *structs.Node
	waitFor(t, 60*time.Second, "the node to register", func() bool {
		nodes, err := a.api().Nodes(ctx)
		if err != nil || len(nodes) != 1 {
			return false
		}
		before = nodes[0]
		return true
	})

	runs := filepath.Join(t.TempDir(), "runs")
	resp, err := a.api().Register(ctx, shellJob("sleeper", runs, "sleep 300"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	var running *structs.Job
	waitFor(t, 60*time.Second, "the job to run", func() bool {
		j, _, err := a.api().Job(ctx, id)
		running = j
		return err == nil && j.Status == structs.JobRunning
	})
	// Running is when the process started; its first line follows (slowly
	// under a 0.1-core quota with a race-built executor).
	waitFor(t, 60*time.Second, "the job to record its start", func() bool { return len(readRuns(t, runs)) > 0 })

	// A new reservation and log level.
	if err := os.WriteFile(cfgFile, []byte(strings.NewReplacer(`"info"`, `"debug"`, "0.25", "0.75", "128MiB", "384MiB").Replace(reloadConfig)), 0o644); err != nil {
		t.Fatal(err)
	}
	a.signal(syscall.SIGHUP)
	sock.waitStates(t, "RELOADING=1", "READY=1")
	waitFor(t, 30*time.Second, "the node to register with the new reservation", func() bool {
		n, err := a.api().Node(ctx, before.ID)
		return err == nil && n.CPU == before.CPU-0.5 && n.MemoryBytes == before.MemoryBytes-256<<20
	})
	if logs := a.logs.String(); !strings.Contains(logs, "configuration reloaded") || !strings.Contains(logs, "log_level info -> debug") {
		t.Errorf("the agent did not log what the reload applied:\n%s", logs)
	}
	checkStillRunning(t, a, running)

	// A broken configuration: logged, nothing changes, the agent serves on.
	if err := os.WriteFile(cfgFile, []byte("client {\n  reserved {\n    cpu = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.signal(syscall.SIGHUP)
	waitFor(t, 30*time.Second, "the agent to log the broken configuration", func() bool {
		return strings.Contains(a.logs.String(), "reload failed: keeping the configuration in force")
	})
	sock.waitStates(t, "RELOADING=1", "READY=1")
	if logs := a.logs.String(); !strings.Contains(logs, filepath.Base(cfgFile)+":3:") {
		t.Errorf("the reload error does not point at the file and line:\n%s", logs)
	}
	n, err := a.api().Node(ctx, before.ID)
	if err != nil {
		t.Fatalf("the agent stopped answering after a broken reload: %v", err)
	}
	if n.CPU != before.CPU-0.5 || n.Status != structs.NodeReady {
		t.Errorf("after a broken reload the node offers %v cores (%s); want %v, ready", n.CPU, n.Status, before.CPU-0.5)
	}
	checkStillRunning(t, a, running)
	if got := readRuns(t, runs); len(got) != 1 {
		t.Errorf("the job started %d times, want once: %v", len(got), got)
	}
}

// checkStillRunning fails unless job runs on in the same allocation.
func checkStillRunning(t *testing.T, a *clusterAgent, was *structs.Job) {
	t.Helper()
	j, _, err := a.api().Job(context.Background(), was.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != structs.JobRunning || j.AllocID != was.AllocID || j.Attempt != was.Attempt {
		t.Errorf("job %s is %s in alloc %s attempt %d; want it still running in alloc %s attempt %d",
			j.ID, j.Status, j.AllocID, j.Attempt, was.AllocID, was.Attempt)
	}
}
