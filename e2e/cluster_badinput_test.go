package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/gossipkey"
)

// Each bad cluster setup is reported in the log and by `nai agent-info`,
// and none corrupts state.
func TestClusterBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	keyA, err := gossipkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := gossipkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	seed := startClusterAgent(t, "seed", t.TempDir(), "-server", "-bootstrap-expect", "1", "-encrypt", keyA)
	waitFor(t, 30*time.Second, "the seed leads", func() bool { s, err := seed.self(); return err == nil && s.Leader })

	t.Run("wrong join address", func(t *testing.T) {
		a := startClusterAgent(t, "lonely", t.TempDir(), "-client", "-join", "127.0.0.1:1")
		waitFor(t, 30*time.Second, "agent-info shows the failed join", func() bool {
			return a.problem("join", "127.0.0.1:1") != ""
		})
		if out := a.mustNai("agent-info"); !strings.Contains(out, "[join] cannot join the cluster through [127.0.0.1:1]") {
			t.Errorf("agent-info:\n%s", out)
		}
		if !strings.Contains(a.logs.String(), "join failed; retrying") {
			t.Error("the log does not say the join failed")
		}
	})

	t.Run("mismatched gossip key", func(t *testing.T) {
		a := startClusterAgent(t, "wrongkey", t.TempDir(), "-client", "-join", seed.serf, "-encrypt", keyB)
		waitFor(t, 30*time.Second, "agent-info shows the key mismatch", func() bool {
			return a.problem("encrypt", "same `encrypt` key") != ""
		})
		if members, err := seed.api().Members(context.Background()); err != nil || len(members) != 1 {
			t.Errorf("the seed's members after a bad-key join: %d, %v; want only itself", len(members), err)
		}
	})

	t.Run("duplicate node names", func(t *testing.T) {
		startClusterAgent(t, "twin", t.TempDir(), "-client", "-join", seed.serf, "-encrypt", keyA)
		b := startClusterAgent(t, "twin", t.TempDir(), "-client", "-join", seed.serf, "-encrypt", keyA)
		waitFor(t, 30*time.Second, "agent-info shows the name conflict", func() bool {
			return seed.problem("name-conflict", "twin") != "" || b.problem("name-conflict", "") != "" || b.problem("serf-stopped", "") != ""
		})
	})

	t.Run("a data dir from another cluster", func(t *testing.T) {
		// A server bootstraps its own one-server cluster, then stops.
		dir := t.TempDir()
		other := startClusterAgent(t, "stray", dir, "-server", "-bootstrap-expect", "1")
		waitFor(t, 30*time.Second, "the stray cluster has an id", func() bool { s, err := other.self(); return err == nil && s.ClusterID != "" })
		other.stop()
		// Started again, joining the seed's cluster with that data dir.
		stray := startClusterAgent(t, "stray", dir, "-server", "-join", seed.serf, "-encrypt", keyA)
		waitFor(t, 30*time.Second, "both sides report the foreign data dir", func() bool {
			return stray.problem("cluster", "belongs to cluster") != "" && seed.problem("cluster", "stray") != ""
		})
		peers, err := seed.api().Peers(context.Background())
		if err != nil || len(peers) != 1 {
			t.Errorf("the seed's raft peers: %v, %v; want only itself", peers, err)
		}
	})
}

// Servers that disagree on bootstrap_expect do not bootstrap and say why.
func TestClusterBootstrapExpectDisagreement(t *testing.T) {
	a := startClusterAgent(t, "s1", t.TempDir(), "-server", "-bootstrap-expect", "2")
	b := startClusterAgent(t, "s2", t.TempDir(), "-server", "-bootstrap-expect", "3", "-join", a.serf)
	waitFor(t, 30*time.Second, "both report the disagreement", func() bool {
		return a.problem("bootstrap", "s2 expects 3") != "" && b.problem("bootstrap", "s1 expects 2") != ""
	})
	for _, s := range []*clusterAgent{a, b} {
		self, err := s.self()
		if err != nil || self.RaftLastIndex != 0 {
			t.Errorf("%s: raft index %v, %v: a blocked server must not bootstrap", s.name, self, err)
		}
	}
	if !strings.Contains(a.logs.String(), "bootstrap blocked") {
		t.Error("the log does not say bootstrap is blocked")
	}
}
