package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Raft's port takes log entries from whoever connects, so nobody but a
// server of the cluster may connect to it, nor be dialled as one: a job on
// a GPU host that could speak raft to it could append any entry (a
// management token of its own) or, added as a voter, read every entry.
//
//   - With TLS, raft runs inside mutual TLS that requires a server
//     certificate on both ends (server.<dc>.nai, ServerAuth usage): a
//     person's CLI certificate or a GPU host's client certificate, signed
//     by the same CA, is refused.
//   - Without TLS, each raft connection starts with a challenge-response
//     handshake keyed from a secret every server has (RaftKey: the gossip
//     encryption key, encrypt): both ends prove they hold it, over fresh
//     nonces and the address dialled, before raft reads a byte. It proves
//     who connected; it does not encrypt what follows (TLS does).
//   - With neither, raft is open: New refuses that with ACLs on, unless
//     this is a single dev server, which uses a key of its own.
//
// The leader dials a server through the same layer before it adds it to
// raft (cluster_leader.go), so a serf member that merely says it is a
// server is not added.

// raftHandshakeTimeout bounds one handshake, each way.
const raftHandshakeTimeout = 5 * time.Second

// raftAuthMagic opens the handshake; a server that does not know it (an
// older nai) reads it as an unknown raft message and hangs up.
const raftAuthMagic = "NAIRAFT1"

const raftNonceLen = 32

// raftDialer dials another server's raft port and proves both ends; the
// leader's check of a server it is about to add uses it too.
type raftDialer interface {
	Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error)
}

// raftTransport is raft's TCP transport inside TLS or behind the key's
// handshake (see above); plain only when neither is configured.
func (s *Server) raftTransport(addr *net.TCPAddr) (*raft.NetworkTransport, error) {
	logger := hclogFor(s.logger, "raft-net")
	if s.tls == nil && len(s.raftKey) == 0 {
		return raft.NewTCPTransportWithLogger(s.cfg.RaftAddr, nil, 3, 10*time.Second, logger)
	}
	ln, err := net.ListenTCP("tcp", addr)
	if err != nil {
		return nil, err
	}
	var layer raft.StreamLayer
	if s.tls != nil {
		layer = &tlsStreamLayer{
			Listener: tls.NewListener(ln, s.tls.ServerPeerListenerConfig()),
			addr:     ln.Addr(),
			dial:     s.tls.ServerPeerClientConfig(),
		}
	} else {
		layer = newAuthStreamLayer(ln, s.raftKey, s.logger.With("subsystem", "raft-auth"))
	}
	s.raftDial = layer
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: logger,
	}), nil
}

// verifyRaftPeer dials addr as raft would and proves the server there is
// one of this cluster's (its server certificate, or the key's
// handshake). Without TLS or a key nothing can be proven: it says so
// with ok false and no error.
func (s *Server) verifyRaftPeer(addr string) (ok bool, err error) {
	if s.raftDial == nil {
		return false, nil
	}
	conn, err := s.raftDial.Dial(raft.ServerAddress(addr), raftHandshakeTimeout)
	if err != nil {
		return false, err
	}
	// Dial has completed the TLS handshake (certificate checks included)
	// or the key's: the connection has served its purpose.
	_ = conn.Close()
	return true, nil
}

// tlsStreamLayer is raft's stream layer over TLS.
type tlsStreamLayer struct {
	net.Listener
	addr net.Addr
	dial *tls.Config
}

func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	conn, err := tls.DialWithDialer(d, "tcp", string(address), l.dial)
	if err != nil {
		var rec tls.RecordHeaderError
		if errors.As(err, &rec) {
			return nil, errors.New("the raft peer at " + string(address) + " does not speak TLS: every server needs the same tls block")
		}
		return nil, fmt.Errorf("raft peer %s: %w", address, err)
	}
	return conn, nil
}

// Addr is the address raft advertises.
func (l *tlsStreamLayer) Addr() net.Addr { return l.addr }

// authStreamLayer is raft's stream layer over TCP with the key's
// handshake on every connection. Accepted connections are proven in
// goroutines of their own, so one that never speaks holds up nobody.
type authStreamLayer struct {
	ln     net.Listener
	key    []byte
	logger *slog.Logger

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once

	// refusals rate-limits the warnings about refused connections.
	mu       sync.Mutex
	lastWarn time.Time
	refused  int
}

// raftAuthKey derives the handshake's key from a configured secret (the
// gossip key), so the same bytes are never used for two purposes.
func raftAuthKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("nai raft stream authentication v1"))
	return m.Sum(nil)
}

func newAuthStreamLayer(ln net.Listener, key []byte, logger *slog.Logger) *authStreamLayer {
	l := &authStreamLayer{ln: ln, key: key, logger: logger, conns: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *authStreamLayer) acceptLoop() {
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A temporary failure (too many open files): back off.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go l.admit(c)
	}
}

// admit proves an accepted connection and hands it to raft, or closes it.
func (l *authStreamLayer) admit(c net.Conn) {
	if err := raftRespond(c, l.key, l.ln.Addr().String()); err != nil {
		_ = c.Close()
		l.warnRefused(c.RemoteAddr(), err)
		return
	}
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// warnRefused logs a refused connection, at most once a minute with the
// count since: a flood of them must not flood the log.
func (l *authStreamLayer) warnRefused(from net.Addr, err error) {
	l.mu.Lock()
	l.refused++
	now := time.Now()
	if now.Sub(l.lastWarn) < time.Minute {
		l.mu.Unlock()
		return
	}
	n := l.refused
	l.refused, l.lastWarn = 0, now
	l.mu.Unlock()
	l.logger.Warn("refused a raft connection that did not prove it holds this cluster's key (every server needs the same encrypt setting)",
		"from", from.String(), "err", err, "refused_since_last_warning", n)
}

// Accept returns the next proven connection.
func (l *authStreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting.
func (l *authStreamLayer) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.ln.Close()
	})
	return err
}

// Addr is the address raft advertises.
func (l *authStreamLayer) Addr() net.Addr { return l.ln.Addr() }

// Dial connects to another server's raft port and runs the handshake.
func (l *authStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	if err := raftInitiate(c, l.key, string(address)); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("raft peer %s: %w", address, err)
	}
	return c, nil
}

// The handshake, for a connection from I (the dialler) to R (listening
// on address A, the address raft advertises for it):
//
//	I -> R  "NAIRAFT1", nonce_i (32 bytes), len(A) (1 byte), A
//	R -> I  nonce_r (32 bytes), HMAC(k, "responder" | T)
//	I -> R  HMAC(k, "initiator" | T)
//	R -> I  1 (accepted) or 0 (refused; R hangs up)
//
// where T = "NAIRAFT1" | A | nonce_i | nonce_r and k is raftAuthKey of
// the configured secret. R computes T with its own address, not the one
// sent, so a party that relays a handshake to another server cannot pass
// for it; the address sent only makes a mismatch a clear error.

func raftTranscript(addr string, ni, nr []byte) []byte {
	t := make([]byte, 0, len(raftAuthMagic)+len(addr)+len(ni)+len(nr))
	t = append(t, raftAuthMagic...)
	t = append(t, addr...)
	t = append(t, ni...)
	return append(t, nr...)
}

func raftMAC(key []byte, role string, transcript []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(role))
	m.Write([]byte{0})
	m.Write(transcript)
	return m.Sum(nil)
}

var errRaftKeyMismatch = errors.New("it does not hold this cluster's key: every server needs the same encrypt setting")

// raftInitiate runs the dialler's side of the handshake to the server
// advertising addr.
func raftInitiate(c net.Conn, key []byte, addr string) error {
	if len(addr) > 255 {
		return fmt.Errorf("raft address %q is too long", addr)
	}
	_ = c.SetDeadline(time.Now().Add(raftHandshakeTimeout))
	ni := make([]byte, raftNonceLen)
	if _, err := rand.Read(ni); err != nil {
		return err
	}
	hello := append([]byte(raftAuthMagic), ni...)
	hello = append(hello, byte(len(addr)))
	hello = append(hello, addr...)
	if _, err := c.Write(hello); err != nil {
		return fmt.Errorf("authentication handshake: %w", err)
	}
	reply := make([]byte, raftNonceLen+sha256.Size)
	if _, err := io.ReadFull(c, reply); err != nil {
		return fmt.Errorf("no answer to the raft authentication handshake (an older nai, or a server with another encrypt or tls setting?): %w", err)
	}
	nr, mac := reply[:raftNonceLen], reply[raftNonceLen:]
	t := raftTranscript(addr, ni, nr)
	if !hmac.Equal(mac, raftMAC(key, "responder", t)) {
		return fmt.Errorf("the server there failed the handshake: %w (or it advertises another address than %s)", errRaftKeyMismatch, addr)
	}
	if _, err := c.Write(raftMAC(key, "initiator", t)); err != nil {
		return fmt.Errorf("authentication handshake: %w", err)
	}
	ack := make([]byte, 1)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 1 {
		return fmt.Errorf("the server there refused this server's proof: %w", errRaftKeyMismatch)
	}
	_ = c.SetDeadline(time.Time{})
	return nil
}

// raftRespond runs the listener's side of the handshake; self is the
// address this server advertises.
func raftRespond(c net.Conn, key []byte, self string) error {
	_ = c.SetDeadline(time.Now().Add(raftHandshakeTimeout))
	head := make([]byte, len(raftAuthMagic)+raftNonceLen+1)
	if _, err := io.ReadFull(c, head); err != nil {
		return fmt.Errorf("no authentication handshake: %w", err)
	}
	if string(head[:len(raftAuthMagic)]) != raftAuthMagic {
		return errors.New("no authentication handshake: plain raft (an older nai, or not a server)")
	}
	ni := head[len(raftAuthMagic) : len(raftAuthMagic)+raftNonceLen]
	dialled := make([]byte, head[len(head)-1])
	if _, err := io.ReadFull(c, dialled); err != nil {
		return fmt.Errorf("authentication handshake: %w", err)
	}
	nr := make([]byte, raftNonceLen)
	if _, err := rand.Read(nr); err != nil {
		return err
	}
	t := raftTranscript(self, ni, nr)
	if _, err := c.Write(append(nr, raftMAC(key, "responder", t)...)); err != nil {
		return fmt.Errorf("authentication handshake: %w", err)
	}
	mac := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c, mac); err != nil {
		return fmt.Errorf("authentication handshake: %w", err)
	}
	if !hmac.Equal(mac, raftMAC(key, "initiator", t)) {
		_, _ = c.Write([]byte{0})
		if string(dialled) != self {
			return fmt.Errorf("the peer dialled %s, but this server advertises %s", dialled, self)
		}
		return errRaftKeyMismatch
	}
	if _, err := c.Write([]byte{1}); err != nil {
		return fmt.Errorf("authentication handshake: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return nil
}

// errRaftOpen refuses a server of a cluster with ACLs on and nothing to
// authenticate raft with.
var errRaftOpen = errors.New("acl is enabled, but raft would accept log entries from anyone who can reach its port " +
	"(a job on a GPU host could make itself a management token): set encrypt (a key from `nai operator keygen`, the same on every agent) " +
	"or a tls block with a server certificate (`nai tls cert create -server`) on every server")

// raftKeyFor is the key of raft's handshake for cfg: none with TLS (the
// certificates prove who connects), the configured one, or a random one
// for a single dev server. A server of a cluster with ACLs on and
// neither TLS nor a key is refused.
func raftKeyFor(cfg Config) ([]byte, error) {
	switch {
	case cfg.TLS != nil:
		if !cfg.Bootstrap {
			// Its peers would refuse it: say so now, not in raft's log.
			if err := cfg.TLS.CheckServerCert(); err != nil {
				return nil, fmt.Errorf("tls: %w", err)
			}
		}
		return nil, nil
	case len(cfg.RaftKey) > 0:
		return raftAuthKey(cfg.RaftKey), nil
	case cfg.Bootstrap:
		// A single server talks raft to nobody: a key nobody else knows
		// shuts its port to everyone.
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		return k, nil
	case cfg.ACL.Enabled:
		return nil, errRaftOpen
	}
	return nil, nil
}
