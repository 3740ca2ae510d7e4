package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// hookCluster is one server and two clients, each client with its own
// agent configuration (client { prolog, epilog, hook_timeout }).
func hookCluster(t *testing.T, clientConfigs ...string) (*clusterAgent, []*clusterAgent) {
	t.Helper()
	s := startClusterAgent(t, "s1", t.TempDir(), "-server", "-bootstrap-expect", "1", "-node-down-grace", clusterGrace)
	var clients []*clusterAgent
	for i, body := range clientConfigs {
		cfg := writeFile(t, t.TempDir(), "client.hcl", "client {\n"+body+"}\n")
		clients = append(clients, startClusterAgent(t, fmt.Sprintf("c%d", i+1), t.TempDir(),
			"-client", "-dev-gpus", "2", "-join", s.serf, "-config", cfg))
	}
	waitFor(t, 60*time.Second, "every client registers", func() bool {
		nodes, err := s.api().Nodes(context.Background())
		if err != nil || len(nodes) != len(clientConfigs) {
			return false
		}
		for _, n := range nodes {
			if n.Status != structs.NodeReady {
				return false
			}
		}
		return true
	})
	return s, clients
}

func executableScript(t *testing.T, name, body string) string {
	t.Helper()
	p := writeFile(t, t.TempDir(), name, "#!/bin/sh\n"+body+"\n")
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	searchable(t, filepath.Dir(p))
	return p
}

// A prolog that exits 1 on one of two clients: the job runs on the other,
// and the first is drained with the prolog's message. An epilog that
// sleeps past its timeout drains its node too, and the job that ran there
// stays complete.
func TestNodeHooksDrain(t *testing.T) {
	prolog := executableScript(t, "prolog", `echo "checking GPUs of job $NAI_JOB_ID ($NAI_JOB_USER, GPUs $NAI_GPUS)"
echo "GPU 0 fails its health check" >&2
exit 1`)
	epilog := executableScript(t, "epilog", "sleep 30")
	s, clients := hookCluster(t,
		fmt.Sprintf("  prolog = %q\n", prolog),
		fmt.Sprintf("  epilog = %q\n  hook_timeout = \"1s\"\n", epilog))
	c1, c2 := clients[0], clients[1]
	ctx := context.Background()
	cl := s.api()

	// c2 takes no work at first, so the job goes to c1, whose prolog fails.
	s.mustNai("node", "eligibility", "-disable", "c2")
	runs := filepath.Join(t.TempDir(), "runs")
	searchable(t, filepath.Dir(runs))
	resp, err := cl.Register(ctx, shellJob("hooked", runs, "true"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	const wantReason = "prolog failed: exit status 1: GPU 0 fails its health check"
	waitFor(t, 60*time.Second, "c1 is drained by its prolog and the job is back in the queue", func() bool {
		n, err := cl.Node(ctx, "c1")
		j, _, jerr := cl.Job(ctx, id)
		return err == nil && jerr == nil && !n.Eligible && n.DrainReason == wantReason &&
			j.Status == structs.JobPending && j.Attempt == 1
	})
	if got := readRuns(t, runs); len(got) != 0 {
		t.Errorf("the task ran on the node whose prolog failed: %v", got)
	}
	status := s.mustNai("node", "status", "c1")
	for _, want := range []string{"Drain reason   = " + wantReason, "Last hook failure", "prolog " + prolog, "| checking GPUs of job " + id, "| GPU 0 fails its health check"} {
		if !strings.Contains(status, want) {
			t.Errorf("nai node status c1 lacks %q:\n%s", want, status)
		}
	}
	if !strings.Contains(c1.logs.String(), "node hook failed") {
		t.Errorf("c1's log does not record the prolog failure")
	}
	allocs, err := cl.JobAllocations(ctx, id)
	if err != nil || len(allocs) != 1 || allocs[0].ClientStatus.ExitReason != structs.ExitPrologFailed {
		t.Fatalf("first allocation: %v, %v", allocs, err)
	}

	// c2 takes it; its epilog overruns and drains c2, the job is done.
	s.mustNai("node", "eligibility", "-enable", "c2")
	j := waitClusterJob(t, s, id)
	if j.Status != structs.JobComplete || j.NodeName != "c2" {
		t.Errorf("job %s ended %s on %s; want complete on c2", id, j.Status, j.NodeName)
	}
	waitFor(t, 30*time.Second, "c2 is drained by its epilog", func() bool {
		n, err := cl.Node(ctx, "c2")
		return err == nil && !n.Eligible && n.DrainReason == "epilog failed: timed out after 1s"
	})
	if got := readRuns(t, runs); got[id+" 2"] != 1 || len(got) != 1 {
		t.Errorf("runs %v: want one run, attempt 2", got)
	}
	if !strings.Contains(c2.logs.String(), "node hook failed") {
		t.Errorf("c2's log does not record the epilog failure")
	}
	// Once the drain is complete (nothing runs there), making the node
	// eligible again clears the reason.
	waitFor(t, 30*time.Second, "c1's drain completes", func() bool {
		n, err := cl.Node(ctx, "c1")
		return err == nil && !n.Drain && !n.Eligible
	})
	s.mustNai("node", "eligibility", "-enable", "c1")
	if n, err := cl.Node(ctx, "c1"); err != nil || !n.Eligible || n.DrainReason != "" {
		t.Errorf("c1 made eligible: %+v, %v", n, err)
	}
}

func waitClusterJob(t *testing.T, s *clusterAgent, id string) *structs.Job {
	t.Helper()
	var j *structs.Job
	waitFor(t, 90*time.Second, "job "+id+" ends", func() bool {
		var err error
		j, _, err = s.api().Job(context.Background(), id)
		return err == nil && j.Status.Terminal()
	})
	return j
}
