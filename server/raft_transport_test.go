package server

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/internal/tlsutil"
	"github.com/nai-project/nai/membership"
	"github.com/nai-project/nai/structs"
)

// testRaftKey is the gossip key of the in-process clusters' servers.
var testRaftKey = []byte("0123456789abcdef0123456789abcdef")

// raftAttack is what the red team's job did to a server's raft port: an
// empty AppendEntries with a huge PrevLogEntry answers the term and the
// last index; then an AppendEntries of a higher term whose one entry
// makes the secret a management token. It returns the error of the step
// that failed, nil when raft accepted the entry.
func raftAttack(trans *raft.NetworkTransport, target, secret string) error {
	hdr := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("evil"), Addr: trans.EncodePeer("evil", trans.LocalAddr())}
	var resp raft.AppendEntriesResponse
	probe := raft.AppendEntriesRequest{RPCHeader: hdr, PrevLogEntry: 1 << 60, PrevLogTerm: 1}
	if err := trans.AppendEntries("target", raft.ServerAddress(target), &probe, &resp); err != nil {
		return err
	}
	term, last := resp.Term, resp.LastLog
	sum := sha256.Sum256([]byte(secret))
	data, err := fsm.Encode(fsm.TokenCreate, &structs.TokenCreateRequest{
		Token: &structs.Token{AccessorID: "00000000-0000-0000-0000-00000000e711", SecretHash: hex.EncodeToString(sum[:]), Policies: []string{"management"}},
		Now:   time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	req := raft.AppendEntriesRequest{RPCHeader: hdr, Term: term + 10, PrevLogEntry: last, PrevLogTerm: term,
		Entries:           []*raft.Log{{Index: last + 1, Term: term + 10, Type: raft.LogCommand, Data: data}},
		LeaderCommitIndex: last + 1}
	resp = raft.AppendEntriesResponse{}
	if err := trans.AppendEntries("target", raft.ServerAddress(target), &req, &resp); err != nil {
		return err
	}
	if !resp.Success {
		return errors.New("raft answered, but refused the entry")
	}
	return nil
}

// hasToken says whether the state holds a token of secret.
func hasToken(t *testing.T, s *Server, secret string) bool {
	t.Helper()
	sum := sha256.Sum256([]byte(secret))
	tok, err := s.State().Snapshot().TokenBySecretHash(hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	return tok != nil
}

// attackerTransport is raft's transport over layer, or plain TCP.
func attackerTransport(t *testing.T, layer raft.StreamLayer) *raft.NetworkTransport {
	t.Helper()
	var trans *raft.NetworkTransport
	if layer == nil {
		var err error
		if trans, err = raft.NewTCPTransport("127.0.0.1:0", nil, 1, 2*time.Second, io.Discard); err != nil {
			t.Fatal(err)
		}
	} else {
		trans = raft.NewNetworkTransport(layer, 1, 2*time.Second, io.Discard)
	}
	t.Cleanup(func() { _ = trans.Close() })
	return trans
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// A job that speaks raft to a server's raft port cannot append an entry:
// without the key it does not get past the handshake (a dev server has a
// key of its own; a cluster's servers the gossip key).
func TestRaftRefusesAppendWithoutKey(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	dev, _ := testServer(t, t.TempDir(), func(c *Config) { c.ACL.Enabled = true })
	clustered := startMember(t, "a", 1, time.Minute, "", func(c *Config) { c.ACL.Enabled = true })
	waitLong(t, "the one-server cluster has a leader", func() bool { return clustered.srv.IsLeader() })
	for _, tc := range []struct {
		name   string
		target *Server
		layer  func() raft.StreamLayer
	}{
		{"dev server, plain raft", dev, func() raft.StreamLayer { return nil }},
		{"cluster server, plain raft", clustered.srv, func() raft.StreamLayer { return nil }},
		{"cluster server, another key", clustered.srv, func() raft.StreamLayer {
			return newAuthStreamLayer(loopbackListener(t), raftAuthKey([]byte("not the cluster's key")), discard)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := "attacker-secret-" + strings.ReplaceAll(tc.name, " ", "-")
			err := raftAttack(attackerTransport(t, tc.layer()), tc.target.RaftAddr(), secret)
			if err == nil {
				t.Fatal("raft accepted the attacker's entry")
			}
			if hasToken(t, tc.target, secret) {
				t.Fatal("the attacker's secret became a token")
			}
			if !tc.target.IsLeader() {
				t.Fatal("the server lost its leadership to the attacker")
			}
		})
	}
	// The same transport with the cluster's key is let in (the harness
	// works: the refusals above are the key's doing).
	good := attackerTransport(t, newAuthStreamLayer(loopbackListener(t), raftAuthKey(testRaftKey), discard))
	var resp raft.AppendEntriesResponse
	probe := raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax}, PrevLogEntry: 1 << 60}
	if err := good.AppendEntries("a", raft.ServerAddress(clustered.srv.RaftAddr()), &probe, &resp); err != nil {
		t.Fatalf("a holder of the key is refused: %v", err)
	}
	if resp.Term == 0 || resp.Success {
		t.Fatalf("unexpected answer to the probe: %+v", resp)
	}
}

// tlsFixture is a CA and a certificate of each role, in files.
type tlsFixture struct {
	dir   string
	agent map[string]*tlsutil.Agent // by role
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caPEM, caKey, err := tlsutil.CreateCA("nai", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", caPEM)
	f := &tlsFixture{dir: dir, agent: map[string]*tlsutil.Agent{}}
	for _, role := range []string{tlsutil.RoleServer, tlsutil.RoleClient, tlsutil.RoleCLI} {
		c, k, err := tlsutil.CreateCert(tlsutil.CertSpec{Role: role, Datacenter: "dc1", Validity: time.Hour}, caPEM, caKey, now)
		if err != nil {
			t.Fatal(err)
		}
		a, err := tlsutil.Load(tlsutil.Config{CAFile: ca, CertFile: write(role+".pem", c), KeyFile: write(role+"-key.pem", k), Datacenter: "dc1"})
		if err != nil {
			t.Fatal(err)
		}
		f.agent[role] = a
	}
	return f
}

// tlsAttacker is raft's transport over TLS with the given agent's
// certificate, verifying nothing of the server: what a person with a CLI
// certificate can write in 40 lines.
func tlsAttacker(t *testing.T, a *tlsutil.Agent) *raft.NetworkTransport {
	ln := loopbackListener(t)
	dial := a.ClientConfig(false)
	return attackerTransport(t, &tlsStreamLayer{Listener: tls.NewListener(ln, a.ServerConfig()), addr: ln.Addr(), dial: dial})
}

// With TLS, raft takes only servers' certificates: a person's CLI
// certificate or a GPU host's client certificate, signed by the same CA,
// is refused, and its entry never applied.
func TestRaftTLSRefusesNonServerCertificates(t *testing.T) {
	f := newTLSFixture(t)
	srv := startMember(t, "a", 1, time.Minute, "", func(c *Config) {
		c.ACL.Enabled = true
		c.TLS = f.agent[tlsutil.RoleServer]
		c.RaftKey = nil
	})
	waitLong(t, "the one-server cluster has a leader", func() bool { return srv.srv.IsLeader() })
	for _, role := range []string{tlsutil.RoleCLI, tlsutil.RoleClient} {
		t.Run(role, func(t *testing.T) {
			secret := "attacker-secret-" + role
			if err := raftAttack(tlsAttacker(t, f.agent[role]), srv.srv.RaftAddr(), secret); err == nil {
				t.Fatalf("raft accepted an entry from a %s certificate", role)
			}
			if hasToken(t, srv.srv, secret) {
				t.Fatalf("a %s certificate's secret became a token", role)
			}
		})
	}
	// A server's certificate is let in: the refusals are the role's doing.
	var resp raft.AppendEntriesResponse
	probe := raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax}, PrevLogEntry: 1 << 60}
	if err := tlsAttacker(t, f.agent[tlsutil.RoleServer]).AppendEntries("a", raft.ServerAddress(srv.srv.RaftAddr()), &probe, &resp); err != nil {
		t.Fatalf("a server certificate is refused: %v", err)
	}
}

// A server dialling raft checks that the other end is a server too: a
// listener with a client's or a CLI certificate is not one.
func TestRaftTLSDialerRequiresServerCertificate(t *testing.T) {
	f := newTLSFixture(t)
	layer := &tlsStreamLayer{dial: f.agent[tlsutil.RoleServer].ServerPeerClientConfig()}
	for _, role := range []string{tlsutil.RoleServer, tlsutil.RoleClient, tlsutil.RoleCLI} {
		ln := tls.NewListener(loopbackListener(t), f.agent[role].ServerConfig())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}
		}()
		_, err := layer.Dial(raft.ServerAddress(ln.Addr().String()), 2*time.Second)
		if role == tlsutil.RoleServer && err != nil {
			t.Errorf("dial a server: %v", err)
		}
		if role != tlsutil.RoleServer && err == nil {
			t.Errorf("dialled a listener with a %s certificate as a raft server", role)
		}
		ln.Close()
	}
}

// A server of a cluster with ACLs on refuses to start with raft open to
// anyone; with a key, TLS, or ACLs off it starts. A TLS server needs a
// server certificate.
func TestServerRefusesOpenRaftWithACLs(t *testing.T) {
	f := newTLSFixture(t)
	base := func() Config {
		return Config{DataDir: t.TempDir(), NodeName: "a", Datacenter: "dc1", BootstrapExpect: 1,
			Logger: slog.New(slog.DiscardHandler), ACL: ACLConfig{Enabled: true}}
	}
	_, err := New(base())
	if !errors.Is(err, errRaftOpen) {
		t.Fatalf("New with ACLs and neither encrypt nor tls: %v, want the refusal", err)
	}
	for _, want := range []string{"encrypt", "nai operator keygen", "tls"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	cfg := base()
	cfg.TLS = f.agent[tlsutil.RoleClient]
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "nai tls cert create -server") {
		t.Fatalf("New with a client certificate: %v, want a refusal naming the server certificate", err)
	}
	for name, mod := range map[string]func(*Config){
		"key":        func(c *Config) { c.RaftKey = testRaftKey },
		"tls":        func(c *Config) { c.TLS = f.agent[tlsutil.RoleServer] },
		"no acl":     func(c *Config) { c.ACL.Enabled = false },
		"dev server": func(c *Config) { c.Bootstrap, c.BootstrapExpect = true, 0 },
	} {
		cfg := base()
		mod(&cfg)
		s, err := New(cfg)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		_ = s.Shutdown()
	}
}

// countingLayer is plain TCP that counts the connections it accepted.
type countingLayer struct {
	net.Listener
	accepted atomic.Int32
}

func (l *countingLayer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func (l *countingLayer) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(a), timeout)
}

func (l *countingLayer) Addr() net.Addr { return l.Listener.Addr() }

// A program that joins serf tagged as a server is not added to raft: it
// cannot prove it is one (without TLS it speaks plain raft, without the
// key; with TLS it holds a GPU host's client certificate), the leader
// warns once and checks it again only after a backoff, and the one-server
// cluster keeps its quorum and sends it nothing.
func TestLeaderRefusesUnprovenServer(t *testing.T) {
	f := newTLSFixture(t)
	for _, tc := range []struct {
		name   string
		opts   []func(*Config)
		listen func(net.Listener) net.Listener
	}{
		{"key", nil, func(ln net.Listener) net.Listener { return ln }},
		{"tls", []func(*Config){func(c *Config) { c.TLS, c.RaftKey = f.agent[tlsutil.RoleServer], nil }},
			func(ln net.Listener) net.Listener {
				return tls.NewListener(ln, f.agent[tlsutil.RoleClient].ServerConfig())
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testLeaderRefusesUnprovenServer(t, tc.opts, tc.listen)
		})
	}
}

func testLeaderRefusesUnprovenServer(t *testing.T, opts []func(*Config), listen func(net.Listener) net.Listener) {
	a := startMember(t, "a", 1, 2*time.Second, "", opts...)
	waitLong(t, "the one-server cluster has a leader", func() bool { return a.srv.IsLeader() })
	layer := &countingLayer{Listener: listen(loopbackListener(t))}
	rogue := attackerTransport(t, layer)
	m, err := membership.New(membership.Config{NodeName: "evil", BindAddr: "127.0.0.1", Logger: slog.New(slog.DiscardHandler),
		Tags: membership.Tags{Server: true, Version: membership.TagsVersion, Datacenter: "dc1",
			HTTPAddr: "127.0.0.1:1", RaftAddr: string(rogue.LocalAddr())}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	if err := m.Join([]string{a.m.Addr()}); err != nil {
		t.Fatal(err)
	}
	problem := func() bool {
		for _, p := range a.m.Problems().List() {
			if p.Kind == membership.ProblemUnproven+"/evil" {
				return true
			}
		}
		return false
	}
	waitLong(t, "the leader reports the impostor (or adds it)", func() bool {
		servers, _ := a.srv.raftServers()
		return problem() || inRaft(servers, "evil")
	})
	// Several reconciliations later (a tick is half a second here, and
	// serf events wake it too), it was checked once, never added, and
	// sent no raft message.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		servers, err := a.srv.raftServers()
		if err != nil {
			t.Fatal(err)
		}
		if inRaft(servers, "evil") {
			t.Fatal("the impostor was added to raft")
		}
		select {
		case rpc := <-rogue.Consumer():
			t.Fatalf("the leader sent the impostor %T", rpc.Command)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if n := layer.accepted.Load(); n != 1 {
		t.Errorf("the leader dialled the impostor %d times, want once (then a backoff)", n)
	}
	if !a.srv.IsLeader() {
		t.Error("the one-server cluster lost its leader")
	}
}
