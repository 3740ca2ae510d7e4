package membership

import (
	"bytes"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newTestTransport(t *testing.T, port int) *transport {
	t.Helper()
	tr, err := newTransport(net.ParseIP("127.0.0.1"), port, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown() })
	return tr
}

// Each datagram arrives in a buffer of its own length that a later one
// does not overwrite (the listener reuses its read buffer), with the
// sender's address and a time stamp.
func TestTransportPacketsOwnTheirBuffers(t *testing.T) {
	a, b := newTestTransport(t, 0), newTestTransport(t, 0)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))
	first, second := bytes.Repeat([]byte{'x'}, 300), []byte("a second, shorter one")
	for _, p := range [][]byte{first, second} {
		if _, err := a.WriteTo(p, addr); err != nil {
			t.Fatal(err)
		}
	}
	got := make([][]byte, 0, 2)
	for range 2 {
		select {
		case p := <-b.PacketCh():
			if p.From.String() != net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port)) {
				t.Errorf("packet from %s, want a's %d", p.From, a.port)
			}
			if p.Timestamp.IsZero() || time.Since(p.Timestamp) > time.Minute {
				t.Errorf("packet time stamp %v", p.Timestamp)
			}
			got = append(got, p.Buf)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 2 packets arrived", len(got))
		}
	}
	if !bytes.Equal(got[0], first) || !bytes.Equal(got[1], second) {
		t.Fatalf("packets %q and %q, want %q and %q", got[0], got[1], first, second)
	}
	if cap(got[0]) > 2*len(first) {
		t.Errorf("a %d-byte packet came in a %d-byte buffer", len(first), cap(got[0]))
	}
}

// Streams go through TCP on the same port; port 0 gets one port for both.
func TestTransportStreamsAndAddress(t *testing.T) {
	a, b := newTestTransport(t, 0), newTestTransport(t, 0)
	if b.port == 0 || b.tcp.Addr().(*net.TCPAddr).Port != b.udp.LocalAddr().(*net.UDPAddr).Port {
		t.Fatalf("port %d: TCP on %s, UDP on %s", b.port, b.tcp.Addr(), b.udp.LocalAddr())
	}
	conn, err := a.DialTimeout(net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("push-pull")); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-b.StreamCh():
		defer in.Close()
		buf := make([]byte, 9)
		in.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := in.Read(buf); err != nil || string(buf) != "push-pull" {
			t.Fatalf("read %q, %v", buf, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no stream arrived")
	}

	for _, c := range []struct {
		ip      string
		port    int
		want    string
		wantErr string
	}{
		{"", 0, "127.0.0.1:" + strconv.Itoa(b.port), ""},
		{"10.1.2.3", 7946, "10.1.2.3:7946", ""},
		{"not-an-ip", 0, "", `advertise address "not-an-ip" is not an IP address`},
	} {
		ip, port, err := b.FinalAdvertiseAddr(c.ip, c.port)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("FinalAdvertiseAddr(%q, %d): error %v, want %q", c.ip, c.port, err, c.wantErr)
			}
			continue
		}
		if err != nil || net.JoinHostPort(ip.String(), strconv.Itoa(port)) != c.want {
			t.Errorf("FinalAdvertiseAddr(%q, %d) = %s %d, %v; want %s", c.ip, c.port, ip, port, err, c.want)
		}
	}
}

func TestNextBackoff(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{0, 5 * time.Millisecond},
		{5 * time.Millisecond, 10 * time.Millisecond},
		{600 * time.Millisecond, time.Second},
		{time.Second, time.Second},
	} {
		if got := nextBackoff(c.in); got != c.want {
			t.Errorf("nextBackoff(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// A taken port is an error that names it, and shutting down returns even
// with a packet waiting that nobody reads.
func TestTransportPortTakenAndShutdown(t *testing.T) {
	a := newTestTransport(t, 0)
	if _, err := newTransport(net.ParseIP("127.0.0.1"), a.port, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(a.port)) {
		t.Fatalf("second transport on port %d: %v", a.port, err)
	}
	b := newTestTransport(t, 0)
	if _, err := b.WriteTo([]byte("unread"), net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the packet is read and waits on the channel
	done := make(chan struct{})
	go func() {
		a.Shutdown()
		a.Shutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if _, err := b.WriteTo([]byte("x"), "no-port"); err == nil {
		t.Error("WriteTo an address without a port: no error")
	}
}
