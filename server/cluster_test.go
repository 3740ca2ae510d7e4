package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/membership"
	"github.com/nai-project/nai/structs"
)

// member is one in-process cluster server: raft, serf and HTTP.
type member struct {
	name string
	srv  *Server
	m    *membership.Membership
	api  *api.Client
	hs   *http.Server
}

func clusterLogger(t *testing.T, name string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("agent", name)
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startMember starts a cluster server that expects expect servers and
// joins through join (when not empty).
// livenessGrace is the node-down grace of the liveness test.
const livenessGrace = 2 * time.Second

func startMember(t *testing.T, name string, expect int, grace time.Duration, join string, opts ...func(*Config)) *member {
	t.Helper()
	logger := clusterLogger(t, name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: t.TempDir(), NodeName: name, RaftAddr: "127.0.0.1:0", Logger: logger,
		Datacenter: "dc1", BootstrapExpect: expect, NodeDownGrace: grace, SchedulerInterval: time.Second,
		RaftKey: testRaftKey}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := membership.New(membership.Config{NodeName: name, BindAddr: "127.0.0.1", Logger: logger,
		Tags: membership.Tags{Server: true, Version: membership.TagsVersion, Datacenter: "dc1",
			HTTPAddr: ln.Addr().String(), RaftAddr: srv.RaftAddr(), BootstrapExpect: expect}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartCluster(m); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	c, err := api.NewClient(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	mb := &member{name: name, srv: srv, m: m, api: c, hs: hs}
	t.Cleanup(mb.stop)
	if join != "" {
		if err := m.Join([]string{join}); err != nil {
			t.Fatal(err)
		}
	}
	return mb
}

func (mb *member) stop() {
	mb.hs.Close()
	_ = mb.m.Shutdown()
	_ = mb.srv.Shutdown()
}

func leaderOf(ms []*member) *member {
	for _, m := range ms {
		if m.srv.IsLeader() {
			return m
		}
	}
	return nil
}

// leaderRaft is the raft configuration of the leader among ms; ok is
// false while none leads or the configuration cannot be read.
func leaderRaft(ms []*member) (servers []raft.Server, ok bool) {
	l := leaderOf(ms)
	if l == nil {
		return nil, false
	}
	servers, err := l.srv.raftServers()
	return servers, err == nil
}

// inRaft reports whether the server named name is in servers.
func inRaft(servers []raft.Server, name string) bool {
	return slices.ContainsFunc(servers, func(s raft.Server) bool { return s.ID == raft.ServerID(name) })
}

// waitLong waits for a cluster: elections and serf take seconds.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 30*time.Second, 20*time.Millisecond, what, cond)
}

func TestClusterBootstrapForwardAndLiveness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	// A grace of 2 s: serf on a loaded 2-core machine may suspect a live
	// member for a moment, and a shorter grace turns that into "down".
	a := startMember(t, "a", 3, livenessGrace, "")
	b := startMember(t, "b", 3, livenessGrace, a.m.Addr())
	c := startMember(t, "c", 3, livenessGrace, a.m.Addr())
	all := []*member{a, b, c}
	waitLong(t, "a leader is elected", func() bool { return leaderOf(all) != nil })
	ctx := context.Background()

	t.Run("every server sees three peers and one cluster id", func(t *testing.T) {
		waitLong(t, "cluster ids agree", func() bool {
			for _, m := range all {
				self, err := m.api.AgentSelf(ctx)
				if err != nil || self.ClusterID == "" || self.ClusterID != a.srv.cluster.id() {
					return false
				}
				peers, err := m.api.Peers(ctx)
				if err != nil || len(peers) != 3 {
					return false
				}
			}
			return true
		})
		// Every server bootstraps with the same three peers, so b may
		// list them before it has heard from the leader: wait for that.
		var members []structs.AgentMember
		leaders := func() int {
			n := 0
			for _, mem := range members {
				if mem.Leader {
					n++
				}
			}
			return n
		}
		waitLong(t, "b's members show one leader", func() bool {
			var err error
			members, err = b.api.Members(ctx)
			return err == nil && leaders() == 1
		})
		if len(members) != 3 || leaders() != 1 {
			t.Errorf("members = %+v, want 3 with one leader", members)
		}
	})

	var follower *member
	for _, m := range all {
		if !m.srv.IsLeader() {
			follower = m
		}
	}
	t.Run("a write to a follower is forwarded to the leader", func(t *testing.T) {
		if err := follower.api.RegisterNode(ctx, testNode("n1", 2), ""); err != nil {
			t.Fatalf("register through follower %s: %v", follower.name, err)
		}
		resp, err := follower.api.Register(ctx, gpuJob("fwd", 1))
		if err != nil {
			t.Fatalf("submit through follower: %v", err)
		}
		leader := leaderOf(all)
		j, err := leader.srv.State().Snapshot().JobByID(nil, resp.JobIDs[0])
		if err != nil || j == nil {
			t.Fatalf("leader does not have job %s: %v", resp.JobIDs[0], err)
		}
		// A default read on a follower is the leader's answer.
		got, _, err := follower.api.Job(ctx, resp.JobIDs[0])
		if err != nil || got.ID != j.ID {
			t.Fatalf("read through follower: %v", err)
		}
	})

	t.Run("stale reads and forwarded requests are answered locally", func(t *testing.T) {
		resp, err := http.Get(follower.api.Address() + "/v1/jobs?stale")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("stale read on a follower: %s", resp.Status)
		}
		// A request already forwarded once is not forwarded again: a
		// follower answers it itself, and a write there fails.
		body, _ := json.Marshal(map[string]any{"jobs": []*structs.Job{gpuJob("once", 0)}})
		req, _ := http.NewRequest(http.MethodPut, follower.api.Address()+"/v1/jobs", bytes.NewReader(body))
		req.Header.Set(ForwardedHeader, "elsewhere")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "not_leader") {
			t.Errorf("a write forwarded to a follower: %s %s; want 503 not_leader", resp.Status, b)
		}
	})

	t.Run("a node's long-poll is answered by the follower it asks", func(t *testing.T) {
		poll, _ := http.NewRequest(http.MethodGet, "/v1/client/nodes/n1/allocations?index=0&wait=1s&stale", nil)
		if follower.srv.mustForward(poll) {
			t.Error("a follower in touch with the leader forwards a node's stale long-poll")
		}
		plain, _ := http.NewRequest(http.MethodGet, "/v1/client/nodes/n1/allocations?index=0", nil)
		if !follower.srv.mustForward(plain) {
			t.Error("a follower answers a node's long-poll without ?stale itself")
		}
		// The follower's own state has the allocation the leader placed.
		waitLong(t, "the follower lists n1's allocation", func() bool {
			allocs, idx, err := follower.api.NodeAllocations(ctx, "n1", 0, time.Second)
			return err == nil && idx > 0 && len(allocs) == 1 && allocs[0].NodeID == "n1"
		})
	})

	t.Run("a client that fails in serf is marked down after the grace", func(t *testing.T) {
		cm, err := membership.New(membership.Config{NodeName: "node-n2", BindAddr: "127.0.0.1", Logger: clusterLogger(t, "n2"),
			Tags: membership.Tags{Client: true, Version: membership.TagsVersion, Datacenter: "dc1", HTTPAddr: "127.0.0.1:1", NodeID: "n2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer cm.Shutdown()
		if err := cm.Join([]string{b.m.Addr()}); err != nil {
			t.Fatal(err)
		}
		// The join reaches the leader by gossip: register once the
		// leader sees the client alive, or its grace may start from a
		// node it does not see yet (a loaded machine, make test).
		waitLong(t, "the leader's serf shows n2 alive", func() bool {
			l := leaderOf(all)
			if l == nil {
				return false
			}
			for _, mem := range l.m.Members() {
				if mem.Name == "node-n2" && mem.Alive() {
					return true
				}
			}
			return false
		})
		if err := a.api.RegisterNode(ctx, testNode("n2", 1), ""); err != nil {
			t.Fatal(err)
		}
		node := func() *structs.Node {
			n, err := leaderOf(all).srv.State().Snapshot().NodeByID(nil, "n2")
			if err != nil || n == nil {
				return &structs.Node{}
			}
			return n
		}
		nodeStatus := func() structs.NodeStatus { return node().Status }
		// Alive in serf: stays ready past the grace (a fixed wait: the
		// property is that nothing happens).
		time.Sleep(livenessGrace + livenessGrace/4)
		if n := node(); n.Status != structs.NodeReady || !n.Schedulable() {
			t.Fatalf("alive client is %q (schedulable %v), want ready", n.Status, n.Schedulable())
		}
		cm.Shutdown()
		// Through the grace it keeps its status but takes no new work.
		waitLong(t, "the failed client is unreachable", func() bool {
			n := node()
			return n.Status == structs.NodeReady && !n.UnreachableSince.IsZero() && !n.Schedulable()
		})
		waitLong(t, "the failed client is down", func() bool { return nodeStatus() == structs.NodeDown })
		if n := node(); !n.UnreachableSince.IsZero() {
			t.Errorf("a down node is still marked unreachable since %v", n.UnreachableSince)
		}
		// A node never seen in serf (n1) is down after the grace too.
		n1, _ := leaderOf(all).srv.State().Snapshot().NodeByID(nil, "n1")
		if n1.Status != structs.NodeDown {
			t.Errorf("node absent from serf is %q, want down", n1.Status)
		}
	})

	t.Run("a server that leaves gracefully is removed from raft", func(t *testing.T) {
		var leaving *member
		for _, m := range all {
			if !m.srv.IsLeader() {
				leaving = m
				break
			}
		}
		if err := leaving.m.Leave(); err != nil {
			t.Fatal(err)
		}
		waitLong(t, "raft has two peers", func() bool {
			servers, ok := leaderRaft(all)
			return ok && len(servers) == 2
		})
		all = slices.DeleteFunc(all, func(m *member) bool { return m == leaving })
	})

	t.Run("a leader that leaves hands over leadership and is removed", func(t *testing.T) {
		old := leaderOf(all)
		if err := old.srv.Leave(); err != nil {
			t.Fatal(err)
		}
		// Leave returns once the server is out of raft (or after
		// leaveWait): a voter that stops while still counted would take
		// the quorum of a two-server raft with it.
		if servers, err := old.srv.raftServers(); err != nil || inRaft(servers, old.name) {
			t.Errorf("Leave returned while the server still sees itself in raft: %v (%v)", servers, err)
		}
		rest := slices.DeleteFunc(slices.Clone(all), func(m *member) bool { return m == old })
		waitLongSaying(t, "the other server leads a one-server raft", func() (bool, string) {
			// What the servers see, for the failure message: this
			// wait timed out twice under make test's load.
			var seen []string
			for _, m := range append(slices.Clone(rest), old) {
				servers, err := m.srv.raftServers()
				status := map[string]string{}
				for _, mem := range m.m.Members() {
					status[mem.Name] = mem.Status
				}
				seen = append(seen, fmt.Sprintf("%s: leader %v, raft %v (%v), serf %v", m.name, m.srv.IsLeader(), servers, err, status))
			}
			servers, ok := leaderRaft(rest)
			return ok && len(servers) == 1, strings.Join(seen, "; ")
		})
	})
}

// waitLongSaying is waitLong whose failure says what cond last saw.
func waitLongSaying(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		last = saw
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; last seen: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A leader that leaves but cannot hand over its leadership (every
// transfer fails, as one can time out on a loaded machine) takes itself
// out of raft, so that the others elect a leader without it; it used to
// stay leader of a raft whose other servers could never elect another.
func TestLeavingLeaderThatCannotHandOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	tries := 0
	defer func(f func(*raft.Raft) error) { transferLeadership = f }(transferLeadership)
	transferLeadership = func(*raft.Raft) error {
		tries++
		return errors.New("transfer refused by the test")
	}
	all := startThreeInRaft(t)
	old := leaderOf(all)
	if err := old.srv.Leave(); err != nil {
		t.Fatal(err)
	}
	if tries != handOverTries {
		t.Errorf("%d transfers tried, want %d", tries, handOverTries)
	}
	rest := slices.DeleteFunc(slices.Clone(all), func(m *member) bool { return m == old })
	waitLong(t, "another server leads a raft without the one that left", func() bool {
		servers, ok := leaderRaft(rest)
		return ok && len(servers) == 2 && !inRaft(servers, old.name)
	})
	if old.srv.IsLeader() {
		t.Error("the server that left is still a leader")
	}
}

func TestBootstrapExpectDisagreement(t *testing.T) {
	if testing.Short() {
		t.Skip("starts raft servers")
	}
	a := startMember(t, "a", 2, time.Second, "")
	b := startMember(t, "b", 3, time.Second, a.m.Addr())
	problem := func(m *member) string {
		for _, p := range m.m.Problems().List() {
			if p.Kind == membership.ProblemBootstrap && strings.Contains(p.Message, "disagree") {
				return p.Message
			}
		}
		return ""
	}
	waitLong(t, "both servers report the disagreement", func() bool { return problem(a) != "" && problem(b) != "" })
	if !strings.Contains(problem(a), "b expects 3") {
		t.Errorf("a's problem %q does not name b's expectation", problem(a))
	}
	self, err := a.api.AgentSelf(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if self.RaftLastIndex != 0 || len(self.Problems) == 0 {
		t.Errorf("agent-info of a blocked server: last index %d, problems %+v; want 0 and the disagreement", self.RaftLastIndex, self.Problems)
	}
}

// After a lost quorum, a peers file naming the remaining servers lets them
// elect a leader again with their data.
func TestPeersFileRecovery(t *testing.T) {
	dir := t.TempDir()
	logger := clusterLogger(t, "r")
	s := startLeader(t, Config{DataDir: dir, NodeName: "r", Bootstrap: true, Logger: logger})
	j := gpuJob("kept", 0)
	j.User = "alice"
	j.Canonicalize()
	if _, _, err := s.apply(fsm.JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{j}, Now: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()

	cases := []struct {
		name, peers, want string
	}{
		{"not json", "{", "expected [{"},
		{"not a list", `{"id": "r", "address": "127.0.0.1:1"}`, "not a JSON list"},
		{"empty", `[]`, "names no server"},
		{"unknown field", `[{"id": "r", "adress": "127.0.0.1:1"}]`, `unknown field "adress"`},
		{"without this server", `[{"id": "other", "address": "127.0.0.1:1"}]`, "does not name this server"},
		{"not an address", `[{"id": "r", "address": "notanaddr"}]`, `entry 1 (r): address "notanaddr" is not HOST:RAFT_PORT`},
		{"bad port", `[{"id": "r", "address": "127.0.0.1:99999"}]`, "not a number from 1 to 65535"},
		{"no host", `[{"id": "r", "address": ":4647"}]`, "no usable host"},
		{"no id", `[{"id": "", "address": "127.0.0.1:1"}]`, "entry 1: no id"},
		{"duplicate id", `[{"id": "r", "address": "127.0.0.1:1"}, {"id": "r", "address": "127.0.0.1:2"}]`, `entry 2: id "r" is also entry 1's`},
		{"duplicate address", `[{"id": "r", "address": "127.0.0.1:1"}, {"id": "s", "address": "127.0.0.1:1"}]`, "address 127.0.0.1:1 is also entry 1's"},
		{"every problem at once", `[{"id": "r", "address": "x"}, {"id": "", "address": "y"}]`, `address "x" is not HOST:RAFT_PORT; entry 2: no id (the server's node_name); entry 2: address "y" is not`},
		{"no voter", `[{"id": "r", "address": "127.0.0.1:1", "non_voter": true}]`, "no entry is a voter"},
		{"another address for this server", `[{"id": "r", "address": "127.0.0.1:1"}]`, "gives this server (r) the address 127.0.0.1:1, but its raft address is"},
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "raft", PeersFile)
			os.WriteFile(file, []byte(tc.peers), 0o600)
			_, err := New(Config{DataDir: dir, NodeName: "r", RaftAddr: addr, Logger: logger})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New with a bad peers file: %v, want %q", err, tc.want)
			}
			if got, _ := os.ReadFile(file); string(got) != tc.peers {
				t.Errorf("the refused peers file was changed or removed: %q", got)
			}
		})
	}

	os.WriteFile(filepath.Join(dir, "raft", PeersFile), []byte(`[{"id": "r", "address": "`+addr+`"}]`), 0o600)
	s = startLeader(t, Config{DataDir: dir, NodeName: "r", RaftAddr: addr, Logger: logger})
	defer s.Shutdown()
	if _, err := os.Stat(filepath.Join(dir, "raft", PeersFile)); !os.IsNotExist(err) {
		t.Errorf("peers file not deleted after recovery: %v", err)
	}
	jobs, err := s.State().Snapshot().Jobs(nil)
	if err != nil || len(jobs) != 1 || jobs[0].Name != "kept" {
		t.Errorf("jobs after recovery: %v, %v", jobs, err)
	}
}

// startThreeInRaft starts servers a, b and c and waits until all three are
// in raft under a leader.
func startThreeInRaft(t *testing.T) []*member {
	t.Helper()
	a := startMember(t, "a", 3, livenessGrace, "")
	b := startMember(t, "b", 3, livenessGrace, a.m.Addr())
	c := startMember(t, "c", 3, livenessGrace, a.m.Addr())
	all := []*member{a, b, c}
	waitLong(t, "three servers in raft under a leader", func() bool {
		servers, ok := leaderRaft(all)
		return ok && len(servers) == 3
	})
	return all
}

// A server that leaves when no other server of its raft is alive does
// not wait out leaveWait for a removal nobody can make.
func TestLeaveWithNoOtherServerAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	all := startThreeInRaft(t)
	a, b, c := all[0], all[1], all[2]
	servers, err := a.srv.raftServers()
	if err != nil || !a.srv.otherServerAlive(servers) {
		t.Fatalf("with b and c up, a sees no other live server of raft %v (%v)", servers, err)
	}
	b.stop()
	c.stop()
	// The early exit this test is about, not the one after a leaderless
	// spell, which would also end Leave before leaveWait.
	waitLong(t, "a sees no other server of raft alive", func() bool {
		return !a.srv.otherServerAlive(servers)
	})
	start := time.Now()
	if err := a.srv.Leave(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= leaveWait {
		t.Errorf("Leave took %v: it waited for a removal no live server could make", took)
	}
}

// A leaving server that finds itself leader again after its hand-over (it
// won an election meanwhile) hands over again, and returns once the new
// leader has removed it. The test makes that state directly: a leader
// that left serf without handing over.
func TestLeaverElectedAgainHandsOverAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	all := startThreeInRaft(t)
	old := leaderOf(all)
	if old == nil {
		t.Fatal("no leader")
	}
	if err := old.m.Leave(); err != nil {
		t.Fatal(err)
	}
	old.srv.awaitRemoval(leaveWait)
	if servers, err := old.srv.raftServers(); err != nil || inRaft(servers, old.name) {
		t.Errorf("awaitRemoval returned while the server still sees itself in raft: %v (%v)", servers, err)
	}
	if old.srv.IsLeader() {
		t.Error("the server that left is still a leader")
	}
	rest := slices.DeleteFunc(slices.Clone(all), func(m *member) bool { return m == old })
	waitLong(t, "another server leads a raft without the one that left", func() bool {
		servers, ok := leaderRaft(rest)
		return ok && len(servers) == 2 && !inRaft(servers, old.name)
	})
}

// remove-peer refuses a server serf shows alive (the leader would add it
// back at once) and takes one that failed; force-leave refuses the live
// one too. The audit log names the server of each.
func TestRemovePeerRefusesLiveServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	all := startThreeInRaft(t)
	l := leaderOf(all)
	var victim *member
	for _, m := range all {
		if m != l {
			victim = m
		}
	}
	ctx := context.Background()
	err := l.api.RemoveRaftPeer(ctx, victim.name)
	if err == nil || !strings.Contains(err.Error(), "server "+victim.name+" is alive") || !strings.Contains(err.Error(), "stop its agent") {
		t.Fatalf("remove-peer of a live server: %v, want a refusal naming it", err)
	}
	if err := l.api.ForceLeave(ctx, victim.name); err == nil || !strings.Contains(err.Error(), "is alive") {
		t.Fatalf("force-leave of a live server: %v, want a refusal", err)
	}
	if servers, ok := leaderRaft(all); !ok || !inRaft(servers, victim.name) {
		t.Fatalf("the refused removal changed raft: %v", servers)
	}

	victim.stop()
	waitLong(t, "serf sees the stopped server failed", func() bool {
		for _, mem := range l.m.Members() {
			if mem.Name == victim.name {
				return !mem.Alive()
			}
		}
		return false
	})
	if err := l.api.RemoveRaftPeer(ctx, victim.name); err != nil {
		t.Fatalf("remove-peer of a failed server: %v", err)
	}
	if servers, ok := leaderRaft(all); !ok || inRaft(servers, victim.name) {
		t.Fatalf("raft after removing %s: %v", victim.name, servers)
	}
	want := map[string]int{"server " + victim.name: 2, "agent " + victim.name: 1}
	waitLong(t, "the audit log names the removed server", func() bool {
		events, err := l.api.Audit(ctx, api.AuditFilter{})
		if err != nil {
			return false
		}
		got := map[string]int{}
		for _, e := range events {
			got[e.Object]++
		}
		for k, n := range want {
			if got[k] != n {
				return false
			}
		}
		return true
	})
}

// A reset file on a follower is not read (only the leader's is): the
// follower says so instead of forwarding to a leader that answers "already
// bootstrapped".
func TestBootstrapResetFileOnFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two raft servers")
	}
	l, f := startACLPair(t, livenessGrace)
	ctx := context.Background()
	first, err := l.api.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.srv.cfg.ACL.BootstrapResetFile, []byte(fmt.Sprint(first.CreateIndex)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = f.api.ACLBootstrap(ctx)
	if err == nil || !strings.Contains(err.Error(), "this server ("+f.name+") holds the ACL bootstrap reset file") || !strings.Contains(err.Error(), "it is "+l.name) {
		t.Fatalf("bootstrap through a follower with the reset file: %v", err)
	}
	if err := os.Rename(f.srv.cfg.ACL.BootstrapResetFile, l.srv.cfg.ACL.BootstrapResetFile); err != nil {
		t.Fatal(err)
	}
	if _, err := f.api.ACLBootstrap(ctx); err != nil {
		t.Fatalf("bootstrap with the file on the leader, through the follower: %v", err)
	}
}

// startACLPair starts two servers with ACLs on, under one leader, and
// returns the leader and the follower.
func startACLPair(t *testing.T, grace time.Duration) (leader, follower *member) {
	t.Helper()
	acls := func(c *Config) { c.ACL.Enabled = true }
	a := startMember(t, "a", 2, grace, "", acls)
	b := startMember(t, "b", 2, grace, a.m.Addr(), acls)
	all := []*member{a, b}
	waitLong(t, "two servers in raft under a leader", func() bool {
		servers, ok := leaderRaft(all)
		return ok && len(servers) == 2
	})
	l := leaderOf(all)
	if l == a {
		return a, b
	}
	return b, a
}

// A follower hands the leader a node's stale long-poll whose secret it
// does not know yet (the node registered a moment ago, and the follower
// has not applied it), rather than refuse it as an unknown token; once it
// knows the secret it answers the poll itself.
func TestFollowerForwardsPollOfUnknownNodeSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two raft servers")
	}
	l, f := startACLPair(t, time.Hour)
	waitLong(t, "the follower hears from the leader", f.srv.inTouchWithLeader)
	ctx := context.Background()
	mgmt, err := l.api.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "0123456789abcdef0123456789abcdef-node"
	poll := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/v1/client/nodes/n1/allocations?index=0&stale", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		return r
	}
	if !f.srv.mustForward(poll()) {
		t.Fatal("a follower answers a poll with a node secret it does not know")
	}
	node := &structs.Node{ID: "n1", Name: "n1", Status: structs.NodeReady}
	if err := l.api.WithToken(mgmt.SecretID).RegisterNode(ctx, node, secret); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "the follower knows the node's secret and answers its poll", func() bool { return !f.srv.mustForward(poll()) })
}
