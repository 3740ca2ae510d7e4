package membership

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/gossipkey"
)

// testLogger routes serf's logs to t.Log until the test ends. memberlist's
// goroutines may still log after Shutdown returns; those lines are dropped,
// since t.Log after the test has completed panics.
func testLogger(t *testing.T) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func start(t *testing.T, name string, tags Tags, key string) *Membership {
	t.Helper()
	if tags.Datacenter == "" {
		tags.Datacenter = "dc1"
	}
	tags.Version = TagsVersion
	m, err := New(Config{NodeName: name, BindAddr: "127.0.0.1", Tags: tags, EncryptKey: key, Logger: testLogger(t).With("agent", name)})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// A tags update whose broadcast serf did not see sent in time is still
// this agent's tags, and gossip carries it to the others: a busy machine
// (the broadcast waited 6 s in one CI run) must not leave a server
// advertising its old tags forever.
func TestSetTagsBroadcastTimeout(t *testing.T) {
	a := start(t, "a", server(1), "")
	b, err := New(Config{NodeName: "b", BindAddr: "127.0.0.1", Tags: Tags{Server: true, Version: TagsVersion, Datacenter: "dc1"},
		Logger: testLogger(t).With("agent", "b"), broadcastTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown() })
	if err := b.Join([]string{a.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a sees b", func() bool { return statusOf(a, "b") == "alive" })
	tags := b.Tags()
	tags.ClusterID = "cafe"
	if err := b.SetTags(tags); err != nil {
		t.Fatalf("set tags with a broadcast that times out: %v", err)
	}
	if got := b.Tags().ClusterID; got != "cafe" {
		t.Fatalf("b's own tags after the update: cluster id %q, want cafe", got)
	}
	waitFor(t, 10*time.Second, "a sees b's new tags", func() bool {
		for _, x := range a.Members() {
			if x.Name == "b" {
				return x.Tags.ClusterID == "cafe"
			}
		}
		return false
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func statusOf(m *Membership, name string) string {
	for _, mem := range m.Members() {
		if mem.Name == name {
			return mem.Status
		}
	}
	return ""
}

func server(n int) Tags {
	return Tags{Server: true, HTTPAddr: "127.0.0.1:1" + strings.Repeat("0", 3) + string(rune('0'+n)), RaftAddr: "127.0.0.1:2000" + string(rune('0'+n)), BootstrapExpect: 3}
}

func TestThreeMembers(t *testing.T) {
	a := start(t, "a", server(1), "")
	b := start(t, "b", server(2), "")
	c := start(t, "c", Tags{Client: true, HTTPAddr: "127.0.0.1:30001", NodeID: "node-c"}, "")
	sub := a.Subscribe()
	for _, m := range []*Membership{b, c} {
		if err := m.Join([]string{a.Addr()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "every member sees three alive", func() bool {
		for _, m := range []*Membership{a, b, c} {
			ms := m.Members()
			if len(ms) != 3 {
				return false
			}
			for _, x := range ms {
				if !x.Alive() {
					return false
				}
			}
		}
		return true
	})
	select {
	case <-sub:
	default:
		t.Error("subscriber was not signalled of the joins")
	}
	ms := a.Members()
	if ms[2].Name != "c" || !ms[2].Tags.Client || ms[2].Tags.NodeID != "node-c" || ms[2].TagsError != "" {
		t.Errorf("client member as seen by a: %+v", ms[2])
	}
	if !ms[1].Tags.Server || ms[1].Tags.RaftAddr != "127.0.0.1:20002" || ms[1].Tags.BootstrapExpect != 3 {
		t.Errorf("server member as seen by a: %+v", ms[1])
	}

	t.Run("tags update", func(t *testing.T) {
		tags := b.Tags()
		tags.ClusterID = "cafe"
		if err := b.SetTags(tags); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a sees b's new tags", func() bool {
			for _, x := range a.Members() {
				if x.Name == "b" {
					return x.Tags.ClusterID == "cafe"
				}
			}
			return false
		})
	})
	t.Run("graceful leave", func(t *testing.T) {
		if err := b.Leave(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a sees b left", func() bool { return statusOf(a, "b") == "left" })
	})
	t.Run("failure", func(t *testing.T) {
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "a sees c failed", func() bool { return statusOf(a, "c") == "failed" })
	})
}

func TestJoinProblems(t *testing.T) {
	key1, _ := gossipkey.Generate()
	key2, _ := gossipkey.Generate()
	cases := []struct {
		name     string
		seedKey  string
		joinKey  string
		badAddr  bool
		wantKind string
	}{
		{name: "wrong address", badAddr: true, wantKind: ProblemJoin},
		{name: "mismatched key", seedKey: key1, joinKey: key2, wantKind: ProblemEncrypt},
		{name: "key on one side only", seedKey: key1, wantKind: ProblemEncrypt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := start(t, "seed", server(1), tc.seedKey)
			j := start(t, "joiner", Tags{Client: true}, tc.joinKey)
			addr := seed.Addr()
			if tc.badAddr {
				addr = "127.0.0.1:1"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var joinErr = make(chan error, 1)
			j.JoinRetry(ctx, []string{addr}, RetryPolicy{Initial: 50 * time.Millisecond, Max: 100 * time.Millisecond}, func(err error) { joinErr <- err })
			waitFor(t, 15*time.Second, "a "+tc.wantKind+" problem is reported", func() bool {
				for _, p := range j.Problems().List() {
					if p.Kind == tc.wantKind {
						return true
					}
				}
				for _, p := range seed.Problems().List() {
					if p.Kind == tc.wantKind {
						return true
					}
				}
				return false
			})
			if n := len(seed.Members()); n != 1 {
				t.Errorf("seed has %d members after a bad join, want 1", n)
			}
			cancel()
			if err := <-joinErr; err == nil {
				t.Error("JoinRetry reported success")
			}
		})
	}
}

func TestJoinRetrySucceedsLater(t *testing.T) {
	j := start(t, "early", Tags{Client: true}, "")
	// Reserve a port for the seed that starts later.
	probe := start(t, "probe", server(1), "")
	addr := probe.Addr()
	port := probe.Local().Addr[strings.LastIndex(probe.Local().Addr, ":")+1:]
	_ = probe.Shutdown()
	done := make(chan error, 1)
	j.JoinRetry(context.Background(), []string{addr}, RetryPolicy{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}, func(err error) { done <- err })
	waitFor(t, 10*time.Second, "the failed join is reported", func() bool { return len(j.Problems().List()) > 0 })
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	seed, err := New(Config{NodeName: "seed", BindAddr: "127.0.0.1", BindPort: p, Tags: Tags{Server: true, Version: 1, Datacenter: "dc1", HTTPAddr: "h:1", RaftAddr: "h:2"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("start seed on the reserved port: %v", err)
	}
	t.Cleanup(func() { _ = seed.Shutdown() })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("join never succeeded")
	}
	if ps := j.Problems().List(); len(ps) != 0 {
		t.Errorf("join problem not resolved after success: %+v", ps)
	}
}

func TestDuplicateName(t *testing.T) {
	a := start(t, "a", server(1), "")
	b := start(t, "b", server(2), "")
	if err := b.Join([]string{a.Addr()}); err != nil {
		t.Fatal(err)
	}
	dup := start(t, "a", Tags{Client: true}, "")
	_ = dup.Join([]string{b.Addr()})
	waitFor(t, 15*time.Second, "the name conflict is reported", func() bool {
		for _, m := range []*Membership{a, b, dup} {
			for _, p := range m.Problems().List() {
				if p.Kind == ProblemNameConflict || p.Kind == ProblemStopped {
					return true
				}
			}
		}
		return false
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{BindAddr: "127.0.0.1"}, "node name"},
		{"hostname bind", Config{NodeName: "x", BindAddr: "localhost"}, "not an IP"},
		{"unspecified bind", Config{NodeName: "x", BindAddr: "0.0.0.0"}, "cannot be advertised"},
		{"bad key", Config{NodeName: "x", BindAddr: "127.0.0.1", EncryptKey: "zz"}, "gossip key"},
		{"bad profile", Config{NodeName: "x", BindAddr: "127.0.0.1", Profile: "wan"}, "profile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.cfg)
			if err == nil {
				m.Shutdown()
				t.Fatal("New accepted a bad config")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// Agents gossip without compression now; an agent of an earlier version,
// which compresses, must still join one, see it, and be seen, with tags
// updates carried both ways (a rolling upgrade mixes the two).
func TestCompressedAndPlainGossipMix(t *testing.T) {
	plain := start(t, "plain", server(1), "")
	old, err := New(Config{NodeName: "old", BindAddr: "127.0.0.1", Tags: Tags{Server: true, Version: TagsVersion, Datacenter: "dc1"},
		Logger: testLogger(t).With("agent", "old"), compress: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = old.Shutdown() })
	if err := old.Join([]string{plain.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "each sees the other alive", func() bool {
		return statusOf(plain, "old") == "alive" && statusOf(old, "plain") == "alive"
	})
	for _, c := range []struct {
		from, to *Membership
		name     string
	}{{old, plain, "old"}, {plain, old, "plain"}} {
		tags := c.from.Tags()
		tags.ClusterID = "id-from-" + c.name
		if err := c.from.SetTags(tags); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the other sees "+c.name+"'s new tags", func() bool {
			for _, m := range c.to.Members() {
				if m.Name == c.name && m.Tags.ClusterID == "id-from-"+c.name {
					return true
				}
			}
			return false
		})
	}
}
