package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A lost quorum, recovered as docs/operations.md ("Recovering from a lost
// quorum") tells an operator at 3 a.m.: two servers of three die for
// good; the survivor shows its raft configuration and its problem without
// a leader; stopped, given a peers.json naming itself and started again,
// it leads with every write it had, and takes new ones.
func TestClusterLostQuorumRecovery(t *testing.T) {
	c := startCluster(t, 3, 0)
	ctx := context.Background()
	var l *clusterAgent
	waitFor(t, 30*time.Second, "a leader", func() bool { l = c.leader(); return l != nil })
	resp, err := l.api().Register(ctx, shellJob("kept", filepath.Join(t.TempDir(), "runs"), "true"))
	if err != nil {
		t.Fatal(err)
	}
	kept := resp.JobIDs[0]
	c.waitConverged(c.servers, 30*time.Second)

	survivor := c.servers[2]
	self, err := survivor.self()
	if err != nil {
		t.Fatal(err)
	}
	raftAddr, serfAddr := self.RaftAddr, survivor.serf
	for _, s := range c.others(survivor) {
		s.kill()
	}
	waitFor(t, 30*time.Second, "the survivor has no leader", func() bool {
		self, err := survivor.self()
		return err == nil && self.LeaderAddr == "" && !self.Leader
	})

	// What the operator can still see.
	out, errOut, code := survivor.nai("operator", "raft", "list-peers", "-stale")
	if code != 0 || strings.Count(out, "true") != 3 || !strings.Contains(out, survivor.name) || !strings.Contains(out, raftAddr) {
		t.Fatalf("list-peers -stale without a leader: exit %d\n%s%s", code, out, errOut)
	}
	// Once serf sees the two gone and the grace has passed, agent-info
	// says quorum is lost and where to go next.
	waitFor(t, 60*time.Second, "agent-info says quorum is lost", func() bool {
		out, _, code := survivor.nai("agent-info")
		return code == 0 && strings.Contains(out, "quorum is lost") && strings.Contains(out, "peers.json")
	})

	// The recovery: stop the survivor (SIGTERM), write peers.json naming
	// it alone, start it on the same raft address.
	survivor.signal(syscall.SIGTERM)
	select {
	case <-survivor.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the survivor did not stop on SIGTERM")
	}
	peers := fmt.Sprintf(`[{"id": %q, "address": %q}]`, survivor.name, raftAddr)
	if err := os.WriteFile(filepath.Join(survivor.dataDir, "server", "raft", "peers.json"), []byte(peers), 0o600); err != nil {
		t.Fatal(err)
	}
	back := startClusterAgent(t, survivor.name, survivor.dataDir, "-server", "-bootstrap-expect", "3",
		"-node-down-grace", clusterGrace, "-serf-port", port(serfAddr), "-raft-port", port(raftAddr))
	waitFor(t, 60*time.Second, "the recovered server leads", func() bool {
		self, err := back.self()
		return err == nil && self.Leader
	})
	if !strings.Contains(back.logs.String(), "recovered the raft configuration from the peers file") {
		t.Errorf("the recovered server's log does not say it used the peers file")
	}
	if _, err := os.Stat(filepath.Join(survivor.dataDir, "server", "raft", "peers.json")); !os.IsNotExist(err) {
		t.Errorf("peers.json is still there after the recovery: %v", err)
	}
	j, _, err := back.api().Job(ctx, kept)
	if err != nil || j.Name != "kept" {
		t.Fatalf("job %s after the recovery: %+v, %v", kept, j, err)
	}
	if j.Status == "" || j.Status == structs.JobCancelled {
		t.Errorf("job %s after the recovery is %q", kept, j.Status)
	}
	if _, err := back.api().Register(ctx, shellJob("after", filepath.Join(t.TempDir(), "runs"), "true")); err != nil {
		t.Errorf("a write after the recovery: %v", err)
	}
	out = back.mustNai("operator", "raft", "list-peers")
	if strings.Count(out, "true") != 1 || !strings.Contains(out, "leader") {
		t.Errorf("list-peers after the recovery, want this server alone, leading:\n%s", out)
	}
}
