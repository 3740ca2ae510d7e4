package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// transport carries an agent's gossip: UDP datagrams for probes, acks and
// broadcasts, TCP streams for state exchange (push-pull) and fallback
// probes, both on the one serf port.
//
// memberlist's own NetTransport does the same, but gives every datagram it
// reads a fresh 64 KiB buffer. Gossip datagrams are a few hundred bytes,
// several a second on every agent, so those buffers were two thirds of all
// an idle agent allocated, and the heap it grew between collections.
// This one reads into one buffer it keeps and hands each datagram on in a
// copy of its own length.
type transport struct {
	ip     net.IP
	port   int
	tcp    *net.TCPListener
	udp    *net.UDPConn
	logger *slog.Logger

	packets chan *memberlist.Packet
	streams chan net.Conn

	stopOnce sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

const (
	// maxDatagram is the largest UDP payload; memberlist never sends one
	// larger than its UDPBufferSize (1400 bytes by default).
	maxDatagram = 65536
	// udpReadBuffer is the socket's receive buffer asked of the kernel, so
	// that a burst of gossip waits in the kernel rather than being dropped
	// while the agent is busy; smaller sizes are tried down to 64 KiB.
	udpReadBuffer = 2 << 20
	// bindTries is how many ports are tried when the port is 0: the
	// kernel picks a free TCP port, and UDP may already hold it.
	bindTries = 10
)

// newTransport listens on ip:port, TCP and UDP; port 0 picks a port free
// for both.
func newTransport(ip net.IP, port int, logger *slog.Logger) (*transport, error) {
	t := &transport{
		ip:      ip,
		logger:  logger,
		packets: make(chan *memberlist.Packet),
		streams: make(chan net.Conn),
		done:    make(chan struct{}),
	}
	tries := 1
	if port == 0 {
		tries = bindTries
	}
	var err error
	for range tries {
		if err = t.bind(port); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	t.sizeReadBuffer()
	t.wg.Add(2)
	go t.readPackets()
	go t.acceptStreams()
	return t, nil
}

// bind listens on TCP first (port 0: the kernel picks one), then on UDP
// at the same port.
func (t *transport) bind(port int) error {
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: t.ip, Port: port})
	if err != nil {
		return fmt.Errorf("listen for gossip streams on %s: %w", net.JoinHostPort(t.ip.String(), fmt.Sprint(port)), err)
	}
	port = tcp.Addr().(*net.TCPAddr).Port
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: t.ip, Port: port})
	if err != nil {
		tcp.Close()
		return fmt.Errorf("listen for gossip packets on %s: %w", net.JoinHostPort(t.ip.String(), fmt.Sprint(port)), err)
	}
	t.tcp, t.udp, t.port = tcp, udp, port
	return nil
}

func (t *transport) sizeReadBuffer() {
	for size := udpReadBuffer; size >= 64<<10; size /= 2 {
		if t.udp.SetReadBuffer(size) == nil {
			return
		}
	}
	t.logger.Warn("gossip: could not enlarge the UDP receive buffer; packets may be dropped under load")
}

// readPackets hands each datagram to memberlist in a buffer of its own,
// time-stamped when read (the probe's round-trip time starts there).
func (t *transport) readPackets() {
	defer t.wg.Done()
	buf := make([]byte, maxDatagram)
	var backoff time.Duration
	for {
		n, from, err := t.udp.ReadFrom(buf)
		ts := time.Now()
		if err != nil {
			if !t.retryAfter(&backoff, "read a UDP packet", err) {
				return
			}
			continue
		}
		backoff = 0
		if n == 0 {
			// Anyone may send one: not worth a warning each.
			t.logger.Debug("gossip: empty UDP packet", "from", from.String())
			continue
		}
		p := &memberlist.Packet{Buf: append([]byte(nil), buf[:n]...), From: from, Timestamp: ts}
		select {
		case t.packets <- p:
		case <-t.done:
			return
		}
	}
}

// acceptStreams hands each TCP connection to memberlist.
func (t *transport) acceptStreams() {
	defer t.wg.Done()
	var backoff time.Duration
	for {
		conn, err := t.tcp.AcceptTCP()
		if err != nil {
			if !t.retryAfter(&backoff, "accept a TCP connection", err) {
				return
			}
			continue
		}
		backoff = 0
		select {
		case t.streams <- conn:
		case <-t.done:
			conn.Close()
			return
		}
	}
}

// nextBackoff doubles a listener's wait after a failure, from 5 ms to a
// second.
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, 5*time.Millisecond), time.Second)
}

// retryAfter handles a listener's error: false when the transport is
// shutting down (the error is the closed socket), else it logs the error
// and waits a growing backoff, so that a lasting failure (a full file
// table) neither spins nor floods the log.
func (t *transport) retryAfter(backoff *time.Duration, what string, err error) bool {
	if t.stopped() {
		return false
	}
	*backoff = nextBackoff(*backoff)
	t.logger.Warn("gossip: "+what, "err", err, "retry_in", *backoff)
	select {
	case <-time.After(*backoff):
		return true
	case <-t.done:
		return false
	}
}

func (t *transport) stopped() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// FinalAdvertiseAddr advertises the configured address, else the one
// bound (New refuses an unspecified bind address, so it is reachable).
func (t *transport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	adv := t.ip
	if ip != "" {
		if adv = net.ParseIP(ip); adv == nil {
			return nil, 0, fmt.Errorf("gossip: advertise address %q is not an IP address", ip)
		}
	}
	if v4 := adv.To4(); v4 != nil {
		adv = v4
	}
	if port == 0 {
		port = t.port
	}
	return adv, port, nil
}

// WriteTo sends one datagram; the time returned is when it left.
func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return time.Time{}, fmt.Errorf("gossip: address %q: %w", addr, err)
	}
	_, err = t.udp.WriteTo(b, ua)
	return time.Now(), err
}

func (t *transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, timeout)
}

func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

func (t *transport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown closes both listeners and waits for their loops; it may be
// called more than once.
func (t *transport) Shutdown() error {
	t.stopOnce.Do(func() {
		close(t.done)
		t.tcp.Close()
		t.udp.Close()
	})
	t.wg.Wait()
	return nil
}
