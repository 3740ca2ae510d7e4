package e2e

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/testtool"
	"github.com/nai-project/nai/structs"
)

// TestLogsFollowAcrossAgentRestart: `nai job logs -f` follows a job whose
// node's agent stops and starts again (the job runs on, re-attached) to
// the job's end, every line once, and exits 0. It used to end, silently
// and with 0, when the stream from the stopped agent ended.
func TestLogsFollowAcrossAgentRestart(t *testing.T) {
	srv := startClusterAgent(t, "s1", t.TempDir(), "-server", "-bootstrap-expect", "1")
	clData := t.TempDir()
	cl := startClusterAgent(t, "c1", clData, "-client", "-dev-gpus", "1", "-join", srv.serf)
	c := srv.api()
	ctx := context.Background()
	waitFor(t, 60*time.Second, "the client registers", func() bool {
		nodes, err := c.Nodes(ctx)
		return err == nil && len(nodes) == 1 && nodes[0].Status == structs.NodeReady
	})
	id := strings.TrimSpace(srv.mustNai("job", "run", "-detach", "-cpu", "0.1", "-mem", "64M", "--",
		"sh", "-c", "for i in $(seq 1 14); do echo tick $i; sleep 1; done"))
	waitFor(t, 60*time.Second, "the job prints", func() bool {
		out, _, _ := srv.nai("job", "logs", id)
		return strings.Contains(out, "tick 2\n")
	})
	follow := naiCmd(srv.addr, "job", "logs", "-f", id)
	var out, errOut testtool.Buffer
	follow.Stdout, follow.Stderr = &out, &errOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	done := make(chan struct{}) // closed when the follower has exited
	go func() { waitErr = follow.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = follow.Process.Kill()
		<-done
	})
	waitFor(t, 30*time.Second, "the follower prints", func() bool { return strings.Contains(out.String(), "tick 3\n") })

	// The node's agent stops (SIGTERM: the job runs on) and comes back.
	cl.signal(syscall.SIGTERM)
	<-cl.done
	select {
	case <-done:
		t.Fatalf("the follower ended with the node's agent (%v); it printed:\n%s\nstderr:\n%s", waitErr, out.String(), errOut.String())
	case <-time.After(2 * time.Second):
	}
	startClusterAgent(t, "c1", clData, "-client", "-dev-gpus", "1", "-join", srv.serf)

	select {
	case <-done:
		err := waitErr
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("the follower exited %v; stderr:\n%s", err, errOut.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the follower did not end with the job; it printed:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	got := out.String()
	for i := 1; i <= 14; i++ {
		line := "tick " + strconv.Itoa(i) + "\n"
		if n := strings.Count(got, line); n != 1 {
			t.Errorf("%q printed %d times; the follower printed:\n%s\nstderr:\n%s", line, n, got, errOut.String())
			break
		}
	}
	if j := srv.job(id); j.Status != structs.JobComplete {
		t.Errorf("job %s ended %s", id, j.Status)
	}
}
