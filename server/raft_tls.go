package server

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// raftTransport is raft's TCP transport, inside mutual TLS when TLS is on:
// only servers holding a certificate of the cluster's CA can join raft.
func (s *Server) raftTransport(addr *net.TCPAddr) (*raft.NetworkTransport, error) {
	logger := hclogFor(s.logger, "raft-net")
	if s.tls == nil {
		return raft.NewTCPTransportWithLogger(s.cfg.RaftAddr, nil, 3, 10*time.Second, logger)
	}
	ln, err := net.ListenTCP("tcp", addr)
	if err != nil {
		return nil, err
	}
	layer := &tlsStreamLayer{
		Listener: tls.NewListener(ln, s.tls.ServerConfig()),
		addr:     ln.Addr(),
		dial:     s.tls.ClientConfig(true),
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: logger,
	}), nil
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
		return nil, err
	}
	return conn, nil
}

// Addr is the address raft advertises.
func (l *tlsStreamLayer) Addr() net.Addr { return l.addr }
