package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

func TestDeadServers(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const threshold = 10 * time.Minute
	voter := func(id string) raft.Server { return raft.Server{ID: raft.ServerID(id), Suffrage: raft.Voter} }
	nonvoter := func(id string) raft.Server { return raft.Server{ID: raft.ServerID(id), Suffrage: raft.Nonvoter} }
	ids := func(ss []raft.Server) []string {
		var out []string
		for _, s := range ss {
			out = append(out, string(s.ID))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		servers []raft.Server
		down    map[string]time.Duration // not alive, for this long
		want    []string
		blocked string
	}{
		{name: "all alive", servers: []raft.Server{voter("a"), voter("b"), voter("c")}},
		{name: "one dead, not long enough", servers: []raft.Server{voter("a"), voter("b"), voter("c")},
			down: map[string]time.Duration{"c": threshold - time.Second}},
		{name: "one dead past the threshold", servers: []raft.Server{voter("a"), voter("b"), voter("c")},
			down: map[string]time.Duration{"c": threshold}, want: []string{"c"}},
		{name: "two of five dead: three alive are a majority", servers: []raft.Server{voter("a"), voter("b"), voter("c"), voter("d"), voter("e")},
			down: map[string]time.Duration{"d": time.Hour, "e": threshold}, want: []string{"d", "e"}},
		{name: "one due, one recent: the recent one counts against the majority", servers: []raft.Server{voter("a"), voter("b"), voter("c"), voter("d")},
			down: map[string]time.Duration{"c": time.Hour, "d": time.Minute}, blocked: "only 2 of 4 voters are alive"},
		{name: "a minority never prunes the majority", servers: []raft.Server{voter("a"), voter("b"), voter("c")},
			down: map[string]time.Duration{"b": time.Hour, "c": time.Hour}, blocked: "only 1 of 3 voters are alive"},
		{name: "a dead nonvoter goes, and does not count for quorum", servers: []raft.Server{voter("a"), voter("b"), voter("c"), nonvoter("d")},
			down: map[string]time.Duration{"d": time.Hour}, want: []string{"d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			since := map[raft.ServerID]time.Time{}
			for id, d := range tc.down {
				since[raft.ServerID(id)] = now.Add(-d)
			}
			alive := func(id raft.ServerID) bool { _, down := tc.down[string(id)]; return !down }
			remove, blocked := deadServers(tc.servers, alive, since, now, threshold)
			if d := cmp.Diff(tc.want, ids(remove)); d != "" {
				t.Errorf("removed (-want +got):\n%s", d)
			}
			if (tc.blocked == "") != (blocked == "") || (tc.blocked != "" && !strings.Contains(blocked, tc.blocked)) {
				t.Errorf("blocked = %q, want %q", blocked, tc.blocked)
			}
		})
	}
}

// Three servers with dead server cleanup: list-peers shows every server
// healthy; a server that dies shows failing, then is removed once gone
// longer than the threshold, and the two left keep working.
func TestAutopilotHealthAndCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	cleanup := func(c *Config) { c.CleanupDeadServers, c.DeadServerThreshold = true, time.Second }
	a := startMember(t, "a", 3, livenessGrace, "", cleanup)
	b := startMember(t, "b", 3, livenessGrace, a.m.Addr(), cleanup)
	c := startMember(t, "c", 3, livenessGrace, a.m.Addr(), cleanup)
	all := []*member{a, b, c}
	waitLong(t, "a leader is elected", func() bool { return leaderOf(all) != nil })
	ctx := context.Background()

	var peers []structs.RaftPeer
	waitLong(t, "list-peers shows three healthy servers", func() bool {
		var err error
		peers, err = b.api.RaftConfiguration(ctx)
		if err != nil || len(peers) != 3 {
			return false
		}
		for _, p := range peers {
			if !p.Healthy || p.SerfStatus != "alive" || p.LogFormat != int(fsm.LogFormat) || p.Version == "" || p.LastIndex == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("peers: %+v", peers)

	victim := c
	if leaderOf(all) == c {
		victim = b
	}
	// A crash: no leave, serf declares it failed.
	victim.hs.Close()
	_ = victim.m.Shutdown()
	_ = victim.srv.Shutdown()
	rest := []*member{}
	for _, m := range all {
		if m != victim {
			rest = append(rest, m)
		}
	}
	waitLong(t, "the dead server is removed from raft", func() bool {
		servers, ok := leaderRaft(rest)
		return ok && len(servers) == 2 && !inRaft(servers, victim.name)
	})
	// The two left still take writes.
	if _, err := rest[0].api.Register(ctx, gpuJob("after", 0)); err != nil {
		t.Fatalf("write after the cleanup: %v", err)
	}
}

// While a server of the cluster advertises an older log format, the
// leader writes plans at the version that format reads; once it
// advertises the newest, plans are written at the newest version.
func TestLeaderWritesClusterLogFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	// Node n1 below is registered through raft only and never joins
	// serf: with the usual grace it would be marked down (and its jobs
	// taken back) before a loaded machine got to the last check.
	const grace = time.Hour
	a := startMember(t, "a", 3, grace, "")
	b := startMember(t, "b", 3, grace, a.m.Addr())
	c := startMember(t, "c", 3, grace, a.m.Addr())
	all := []*member{a, b, c}
	waitLong(t, "a leader is elected", func() bool { return leaderOf(all) != nil })
	ctx := context.Background()
	old := c
	if leaderOf(all) == c {
		old = b
	}
	// It "is" a server of before formats: it advertises none. (Once it
	// has its cluster id: adopting that rewrites its tags.)
	waitLong(t, "every server has the cluster id", func() bool {
		for _, m := range all {
			if m.m.Tags().ClusterID == "" {
				return false
			}
		}
		return true
	})
	tags := old.m.Tags()
	tags.LogFormat = 0
	if err := old.m.SetTags(tags); err != nil {
		t.Fatal(err)
	}
	leader := leaderOf(all)
	waitLong(t, "the leader sees the old server's format", func() bool {
		leader = leaderOf(all)
		if leader == nil {
			return false
		}
		f, held := leader.srv.clusterLogFormat()
		return f == fsm.Format1 && held == old.name
	})
	if _, _, err := leader.srv.apply(fsm.NodeRegister, &structs.NodeRegisterRequest{Node: testNode("n1", 2), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	planVersion := func(after uint64) (uint64, byte) {
		l := leaderOf(all)
		if l == nil {
			return 0, 0
		}
		last, _ := l.srv.store.LastIndex()
		for i := last; i > after; i-- {
			var lg raft.Log
			if err := l.srv.store.GetLog(i, &lg); err != nil || lg.Type != raft.LogCommand || len(lg.Data) < 2 {
				continue
			}
			if fsm.MessageType(lg.Data[0]).Base() == fsm.PlanApply {
				return i, lg.Data[1]
			}
		}
		return 0, 0
	}
	if _, err := leader.api.Register(ctx, gpuJob("one", 1)); err != nil {
		t.Fatal(err)
	}
	var idx uint64
	var v byte
	waitLong(t, "a plan is written", func() bool { idx, v = planVersion(0); return idx > 0 })
	if v != 1 {
		t.Fatalf("with a format-1 server in the cluster the plan was written at version %d, want 1", v)
	}
	// Upgraded: it advertises the newest format again.
	tags.LogFormat = int(fsm.LogFormat)
	if err := old.m.SetTags(tags); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "the leader writes the newest format", func() bool {
		l := leaderOf(all)
		return l != nil && l.srv.logFormat() == fsm.LogFormat
	})
	if _, err := leader.api.Register(ctx, gpuJob("two", 1)); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "another plan is written", func() bool {
		i, w := planVersion(idx)
		v = w
		return i > 0
	})
	if v != 2 {
		t.Fatalf("with every server on the newest format the plan was written at version %d, want 2", v)
	}
	// Every server applied both plans: the jobs run everywhere.
	for _, m := range all {
		waitLong(t, m.name+" applies the plans", func() bool {
			jobs, err := m.srv.State().Snapshot().Jobs(nil)
			running := 0
			for _, j := range jobs {
				if j.Status == structs.JobRunning {
					running++
				}
			}
			return err == nil && running == 2
		})
	}
}

// With two of three servers gone, the survivor still answers a stale
// list-peers at once, from its own raft configuration, and agent-info
// names the lost leader as a problem.
func TestStaleListPeersWithoutQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	a := startMember(t, "a", 3, time.Hour, "")
	b := startMember(t, "b", 3, time.Hour, a.m.Addr())
	c := startMember(t, "c", 3, time.Hour, a.m.Addr())
	all := []*member{a, b, c}
	waitLong(t, "a leader is elected", func() bool { return leaderOf(all) != nil })
	ctx := context.Background()
	// The listing is the leader's (the request goes there): it marks
	// itself as the server that answered.
	waitLong(t, "list-peers shows each server's raft state", func() bool {
		peers, err := a.api.RaftConfiguration(ctx)
		if err != nil || len(peers) != 3 {
			return false
		}
		for _, p := range peers {
			if (p.Leader && p.State != "leader") || (!p.Leader && p.State != "follower") || p.Self != p.Leader {
				return false
			}
		}
		return true
	})
	self, err := a.api.AgentSelf(ctx)
	if err != nil || len(self.Problems) != 0 {
		t.Fatalf("agent-info with a leader: %+v, %v", self, err)
	}

	// A crash of two: no leave, serf declares them failed.
	for _, m := range []*member{b, c} {
		m.hs.Close()
		_ = m.m.Shutdown()
		_ = m.srv.Shutdown()
	}
	waitLongSaying(t, "the survivor's stale list-peers shows it alone, without a leader", func() (bool, string) {
		start := time.Now()
		peers, err := a.api.RaftConfigurationStale(ctx)
		if err != nil {
			return false, err.Error()
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("a stale listing took %s", took)
		}
		if len(peers) != 3 {
			return false, fmt.Sprintf("%+v", peers)
		}
		for _, p := range peers {
			ok := !p.Leader
			if p.ID == "a" {
				ok = ok && p.Self && (p.State == "candidate" || p.State == "follower") && !p.Healthy && p.LastIndex > 0
			} else {
				ok = ok && p.State == "unreachable" && p.SerfStatus != "alive"
			}
			if !ok {
				return false, fmt.Sprintf("%+v", p)
			}
		}
		return true, ""
	})
	waitLongSaying(t, "agent-info names the lost leader", func() (bool, string) {
		self, err := a.api.AgentSelf(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range self.Problems {
			if p.Kind == "no-leader" && strings.Contains(p.Message, "1 of 3 voters seen alive") && strings.Contains(p.Message, "quorum is lost") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", self.Problems)
	})
}
