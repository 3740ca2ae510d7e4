package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A restarted server whose state has not replayed raft's log answers
// nothing from it: reads and token lookups wait, then 503 catching_up,
// rather than answer a half-replayed state (a token issued since is not
// "unknown", a revoked one does not work again); status routes and
// agent-info still answer, agent-info listing the lag as a problem. Once
// the state caught up, everything answers.
func TestCatchingUpAfterRestart(t *testing.T) {
	ctx := context.Background()
	mgmtSecret, nodeSecret := strings.Repeat("m", 40), strings.Repeat("n", 40)
	dir := t.TempDir()
	// The same raft address both times: a lone server restarted on a
	// new one rewrites its configuration, replaying its log into the
	// snapshot it then starts from (recoverSingleAddress).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()
	initial := func(c *Config) {
		c.RaftAddr = raftAddr
		c.ACL = ACLConfig{Enabled: true, InitialManagementToken: mgmtSecret, InitialNodeToken: nodeSecret}
	}
	s, anon := testServer(t, dir, initial)
	mgmt := anon.WithToken(mgmtSecret)
	var node *structs.Whoami
	waitUntil(t, "the initial tokens work", func() bool {
		var err error
		if _, err = mgmt.TokenSelf(ctx); err != nil {
			return false
		}
		node, err = anon.WithToken(nodeSecret).TokenSelf(ctx)
		return err == nil
	})
	// The state the restarted server is held at: both tokens, and
	// nothing of what follows.
	held := s.State().LatestIndex()
	fresh, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{Name: "fresh", Policies: []string{structs.PolicyManagement}})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgmt.RevokeToken(ctx, node.Token.AccessorID); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()

	defer func(w time.Duration) { catchUpWait = w }(catchUpWait)
	catchUpWait = 200 * time.Millisecond
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	hold := func(c *Config) {
		initial(c)
		c.applyHold = func(index uint64) {
			if index > held {
				<-release
			}
		}
	}
	cfg := Config{DataDir: dir, NodeName: "test", Bootstrap: true, Logger: s.logger, SchedulerInterval: time.Second}
	hold(&cfg)
	again, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := serveAPI(t, again)
	t.Cleanup(open) // before the server shuts down
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := again.WaitForLeader(wctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the state replays up to the hold", func() bool { return again.State().LatestIndex() >= held })

	get := func(path, secret string) (int, structs.ErrorBody) {
		t.Helper()
		req, _ := http.NewRequest("GET", c.Address()+path, nil)
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var eb structs.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		return resp.StatusCode, eb
	}
	for _, tc := range []struct{ what, path, secret string }{
		{"a read", "/v1/queue", mgmtSecret},
		{"a token issued after the state's index", "/v1/acl/token/self", fresh.SecretID},
		{"a token revoked after the state's index", "/v1/acl/token/self", nodeSecret},
		{"a token known to the state", "/v1/acl/token/self", mgmtSecret},
	} {
		status, eb := get(tc.path, tc.secret)
		if status != http.StatusServiceUnavailable || eb.Error == nil || eb.Error.Code != structs.CodeCatchingUp ||
			!strings.Contains(eb.Error.Message, "catching up") {
			t.Errorf("%s while the state is behind raft's log: %d %+v, want 503 catching_up", tc.what, status, eb.Error)
		}
	}
	if status, eb := get("/v1/status/leader", ""); status != http.StatusOK {
		t.Errorf("status/leader while catching up: %d %+v", status, eb.Error)
	}
	health := func() (int, structs.AgentHealth) {
		t.Helper()
		resp, err := http.Get(c.Address() + "/v1/agent/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h structs.AgentHealth
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, h
	}
	if status, h := health(); status != http.StatusServiceUnavailable || h.Status != "catching_up" || !strings.Contains(h.Message, "catching up") {
		t.Errorf("agent/health while catching up: %d %+v, want 503 catching_up", status, h)
	}
	self, err := c.WithToken(mgmtSecret).AgentSelf(ctx)
	if err != nil {
		t.Fatalf("agent-info while catching up: %v", err)
	}
	var problem string
	for _, p := range self.Problems {
		if p.Kind == "catching-up" {
			problem = p.Message
		}
	}
	if !strings.Contains(problem, "catching up") {
		t.Errorf("agent-info's problems while catching up: %+v", self.Problems)
	}

	// What describes the server rather than the state answers too: the
	// raft configuration an operator looks at after a lost quorum.
	if peers, err := c.WithToken(mgmtSecret).RaftConfigurationStale(ctx); err != nil || len(peers) != 1 {
		t.Errorf("list-peers -stale while catching up: %+v, %v", peers, err)
	}
	if _, err := c.WithToken(mgmtSecret).Members(ctx); err != nil {
		t.Errorf("agent members while catching up: %v", err)
	}

	// A read that arrives while the state catches up waits for it.
	catchUpWait = 10 * time.Second
	done := make(chan error, 1)
	go func() {
		_, err := c.WithToken(fresh.SecretID).TokenSelf(ctx)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it wait; it passes either way once released
	open()
	if err := <-done; err != nil {
		t.Errorf("a read waiting for the state to catch up: %v", err)
	}
	if _, err := c.WithToken(nodeSecret).TokenSelf(ctx); structs.CodeOf(err) != structs.CodeUnauthorized {
		t.Errorf("the revoked token once caught up: %v, want unauthorized", err)
	}
	if status, h := health(); status != http.StatusOK || h.Status != "ok" || h.Leader == "" {
		t.Errorf("agent/health once caught up: %d %+v, want 200 ok", status, h)
	}
	self, err = c.WithToken(mgmtSecret).AgentSelf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range self.Problems {
		if p.Kind == "catching-up" {
			t.Errorf("agent-info lists catching up once caught up: %s", p.Message)
		}
	}
}

// A follower that was away learns from the leader how far the log is
// committed, and answers nothing (not even "unknown token" for a token
// made while it was away) until its state has applied that far.
func TestFollowerCatchesUpAfterBeingAway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	ctx := context.Background()
	acls := func(c *Config) { c.ACL.Enabled = true }
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cRaft := l.Addr().String()
	l.Close()
	cDir := t.TempDir()
	cSame := func(c *Config) { c.DataDir, c.RaftAddr = cDir, cRaft }
	a := startMember(t, "a", 3, livenessGrace, "", acls)
	b := startMember(t, "b", 3, livenessGrace, a.m.Addr(), acls)
	c := startMember(t, "c", 3, livenessGrace, a.m.Addr(), acls, cSame)
	all := []*member{a, b, c}
	waitLong(t, "three servers in raft under a leader", func() bool {
		servers, ok := leaderRaft(all)
		return ok && len(servers) == 3
	})
	leader := leaderOf(all)
	if leader == c {
		t.Skip("c leads; this test needs it to follow") // rare: c joined last
	}
	mgmt, err := leader.api.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitLong(t, "c applies the bootstrap", func() bool {
		return c.srv.State().LatestIndex() >= leader.srv.State().LatestIndex()
	})
	held := c.srv.State().LatestIndex()
	c.stop()

	fresh, err := leader.api.WithToken(mgmt.SecretID).CreateToken(ctx, &structs.TokenCreateSpec{Name: "fresh", Policies: []string{structs.PolicyManagement}})
	if err != nil {
		t.Fatal(err)
	}
	defer func(w time.Duration) { catchUpWait = w }(catchUpWait)
	catchUpWait = 200 * time.Millisecond
	release := make(chan struct{})
	hold := func(cfg *Config) {
		cfg.applyHold = func(index uint64) {
			if index > held {
				<-release
			}
		}
	}
	c = startMember(t, "c", 3, livenessGrace, leader.m.Addr(), acls, cSame, hold)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	waitLong(t, "c hears from the leader", c.srv.inTouchWithLeader)

	self := func() error {
		_, err := c.api.WithToken(fresh.SecretID).TokenSelf(ctx) // forwarded to the leader: fine
		if err != nil {
			return err
		}
		req, _ := http.NewRequest("GET", c.api.Address()+"/v1/acl/token/self?stale", nil)
		req.Header.Set("Authorization", "Bearer "+fresh.SecretID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var eb structs.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		if eb.Error != nil {
			return eb.Error
		}
		return nil
	}
	if err := self(); structs.CodeOf(err) != structs.CodeCatchingUp {
		t.Errorf("c answering for a token made while it was away, its state held behind: %v, want catching_up", err)
	}
	once.Do(func() { close(release) })
	waitLong(t, "c catches up and knows the token", func() bool { return self() == nil })
}
