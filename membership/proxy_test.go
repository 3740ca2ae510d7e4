package membership

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a server member whose HTTP API answers with its name, and
// blocks on /block until the request is cancelled.
// blocked receives a value each time a /block request arrives.
var blocked = make(chan struct{}, 8)

func fakeServer(t *testing.T, name, cluster string) (*Membership, *httptest.Server) {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			blocked <- struct{}{}
			<-r.Context().Done()
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(hs.Close)
	m := start(t, name, Tags{Server: true, HTTPAddr: strings.TrimPrefix(hs.URL, "http://"), RaftAddr: "127.0.0.1:1", ClusterID: cluster}, "")
	return m, hs
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestServerProxyFailsOver(t *testing.T) {
	client := start(t, "client", Tags{Client: true}, "")
	p := NewServerProxy(client, "dc1", testLogger(t), nil)
	if code, body := get(t, p, "/v1/jobs"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no alive server") {
		t.Fatalf("no servers: %d %s", code, body)
	}
	a, _ := fakeServer(t, "a", "c1")
	b, _ := fakeServer(t, "b", "c1")
	for _, m := range []*Membership{a, b} {
		if err := m.Join([]string{client.Addr()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the client sees both servers", func() bool { return len(p.servers()) == 2 })
	_, first := get(t, p, "/v1/jobs")
	for range 5 {
		if _, again := get(t, p, "/v1/jobs"); again != first {
			t.Fatalf("the proxy moved from %s to %s while %s was alive", first, again, first)
		}
	}
	used, other := a, b
	if first == "b" {
		used, other = b, a
	}
	// A long-poll in flight to the server that dies is cancelled.
	done := make(chan int, 1)
	go func() {
		code, _ := get(t, p, "/block")
		done <- code
	}()
	<-blocked
	used.Shutdown()
	select {
	case code := <-done:
		if code != http.StatusBadGateway && code != http.StatusServiceUnavailable {
			t.Errorf("cancelled long-poll answered %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long-poll to a failed server was not cancelled")
	}
	if _, now := get(t, p, "/v1/jobs"); now != other.cfg.NodeName {
		t.Errorf("after %s failed the proxy answered from %q, want %s", first, now, other.cfg.NodeName)
	}
}

func TestServerProxySkipsStrayCluster(t *testing.T) {
	client := start(t, "client", Tags{Client: true}, "")
	p := NewServerProxy(client, "dc1", testLogger(t), nil)
	for _, s := range []struct{ name, cluster string }{{"a", "main"}, {"b", "main"}, {"stray", "other"}} {
		m, _ := fakeServer(t, s.name, s.cluster)
		if err := m.Join([]string{client.Addr()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the client sees three servers", func() bool { return len(client.Members()) == 4 })
	for range 20 {
		if _, body := get(t, p, "/x"); body == "stray" {
			t.Fatal("the proxy used a server of another cluster")
		}
		p.drop(p.current)
	}
}

// A caller that goes away (an agent stopping ends its long-polls) is no
// fault of the server: the proxy keeps it and logs no warning.
func TestServerProxyCallerCancelKeepsServer(t *testing.T) {
	client := start(t, "client", Tags{Client: true}, "")
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	p := NewServerProxy(client, "dc1", logger, nil)
	a, _ := fakeServer(t, "a", "c1")
	if err := a.Join([]string{client.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the client sees the server", func() bool { return len(p.servers()) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/block", nil).WithContext(ctx))
	}()
	<-blocked
	cancel()
	<-done
	p.mu.Lock()
	current := p.current
	p.mu.Unlock()
	if current != "a" {
		t.Errorf("after the caller went away the proxy's server is %q, want a", current)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), "switching servers") {
		t.Errorf("logged:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
