package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// front serves g for one service named "svc" at /s/<rest>.
func front(t testing.TB, g *Gateway) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := g.Lookup("svc")
		if s == nil {
			http.NotFound(w, r)
			return
		}
		g.Forward(w, r, s, strings.TrimPrefix(r.URL.EscapedPath(), "/s"))
	}))
	t.Cleanup(hs.Close)
	return hs
}

// replica starts a backend that answers with its name.
func replica(t testing.TB, name string, h http.HandlerFunc) (*httptest.Server, *Replica) {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs, &Replica{AllocID: name, Address: strings.TrimPrefix(hs.URL, "http://")}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(t *testing.T, url string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestForwardSpreadsOverReplicas(t *testing.T) {
	g := New(Config{})
	_, a := replica(t, "a", nil)
	_, b := replica(t, "b", nil)
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{a, b}, Known: 2}})
	fs := front(t, g)
	seen := map[string]int{}
	for range 10 {
		code, body, hdr := get(t, fs.URL+"/s/predict", nil)
		if code != 200 || hdr.Get(ReplicaHeader) != body {
			t.Fatalf("status %d body %q replica header %q", code, body, hdr.Get(ReplicaHeader))
		}
		seen[body]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("answers %v: want both replicas used", seen)
	}
}

func TestForwardPrefersLeastOutstanding(t *testing.T) {
	g := New(Config{})
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	_, slow := replica(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "slow")
	})
	_, fast := replica(t, "fast", nil)
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{slow, fast}}})
	fs := front(t, g)
	// Keep requests in flight until one sits on the slow replica.
	var wg sync.WaitGroup
	for {
		wg.Add(1)
		go func() { defer wg.Done(); get(t, fs.URL+"/s/", nil) }()
		select {
		case <-started:
		case <-time.After(time.Second):
			continue
		}
		break
	}
	for range 5 {
		if _, body, _ := get(t, fs.URL+"/s/", nil); body != "fast" {
			t.Errorf("answer from %q while slow has a request in flight: want fast", body)
		}
	}
	close(release)
	wg.Wait()
}

func TestForwardRetriesRefusedConnection(t *testing.T) {
	g := New(Config{})
	_, live := replica(t, "live", nil)
	dead := &Replica{AllocID: "dead", Address: closedAddr(t)}
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{dead, live}}})
	fs := front(t, g)
	for i := range 6 {
		// A POST without an idempotency key too: nothing reached the
		// dead replica, so sending it elsewhere is safe.
		resp, err := http.Post(fs.URL+"/s/predict", "application/json", strings.NewReader(`{"x": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "live" {
			t.Errorf("request %d: %d %q, want 200 from live", i, resp.StatusCode, b)
		}
	}
}

// brokenReplica accepts a connection, reads the request and closes the
// connection without answering.
func brokenReplica(t *testing.T) *Replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err == nil {
					io.Copy(io.Discard, req.Body)
				}
				c.Close()
			}()
		}
	}()
	return &Replica{AllocID: "broken", Address: ln.Addr().String()}
}

func TestForwardRetriesOnlyIdempotentAfterSend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		key    bool
		want   int
	}{
		{"POST is not retried once sent", "POST", false, http.StatusBadGateway},
		{"POST with an idempotency key is", "POST", true, http.StatusOK},
		{"PUT is", "PUT", false, http.StatusOK},
		{"GET is", "GET", false, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Config{})
			var got atomic.Value
			_, live := replica(t, "live", func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got.Store(string(b))
				io.WriteString(w, "live")
			})
			broken := brokenReplica(t)
			// The broken replica is tried first: live looks busy.
			g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{broken, live}}})
			live.inflight.Add(1000)
			fs := front(t, g)
			var body io.Reader
			if tc.method != "GET" {
				body = strings.NewReader("payload")
			}
			req, _ := http.NewRequest(tc.method, fs.URL+"/s/x", body)
			if tc.key {
				req.Header.Set("Idempotency-Key", "k1")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.want)
			}
			if tc.want == http.StatusOK && tc.method != "GET" && got.Load() != "payload" {
				t.Errorf("retried body %q, want the whole payload", got.Load())
			}
		})
	}
}

func TestForwardNoHealthyReplicaIs503(t *testing.T) {
	g := New(Config{})
	g.Update(1, []*Service{{Name: "svc", Known: 1, Problem: "replica 0 (7.1): GET /health: timeout after 1s"}})
	fs := front(t, g)
	start := time.Now()
	code, body, hdr := get(t, fs.URL+"/s/predict", nil)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", code, hdr.Get("Retry-After"))
	}
	var eb structs.ErrorBody
	if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error == nil {
		t.Fatalf("body %q is not an error body: %v", body, err)
	}
	for _, want := range []string{`service "svc"`, "unavailable", "its one replica is not healthy", "timeout after 1s"} {
		if !strings.Contains(eb.Error.Message, want) {
			t.Errorf("message %q lacks %q", eb.Error.Message, want)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %s: a 503 must not wait", d)
	}
}

func TestUnavailableCountsReplicas(t *testing.T) {
	for known, want := range map[int]string{
		0: "it has no replica running yet",
		1: "its one replica is not healthy",
		3: "none of its 3 replicas is healthy",
	} {
		err := unavailable(&Service{Name: "svc", Known: known})
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%d known replicas: %q lacks %q", known, err, want)
		}
	}
}

func TestForwardPassesRequestAndStripsToken(t *testing.T) {
	g := New(Config{})
	var seen *http.Request
	_, r := replica(t, "r", func(w http.ResponseWriter, req *http.Request) {
		seen = req
		w.Header().Set("X-App", "1")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "ok")
	})
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{r}}})
	fs := front(t, g)
	code, _, hdr := get(t, fs.URL+"/s/a%2Fb/c?q=1&r=two", map[string]string{"Authorization": "Bearer secret", "X-Custom": "v"})
	if code != http.StatusTeapot || hdr.Get("X-App") != "1" {
		t.Errorf("status %d, X-App %q: the answer must pass as it is", code, hdr.Get("X-App"))
	}
	if seen == nil {
		t.Fatal("the replica saw nothing")
	}
	if got := seen.URL.EscapedPath(); got != "/a%2Fb/c" {
		t.Errorf("path %q, want /a%%2Fb/c", got)
	}
	if seen.URL.RawQuery != "q=1&r=two" || seen.Header.Get("X-Custom") != "v" {
		t.Errorf("query %q, X-Custom %q", seen.URL.RawQuery, seen.Header.Get("X-Custom"))
	}
	if seen.Header.Get("Authorization") != "" {
		t.Error("the caller's token reached the replica")
	}
	if seen.Header.Get("X-Forwarded-For") == "" {
		t.Error("no X-Forwarded-For")
	}
}

func TestForwardStreamsAnswers(t *testing.T) {
	g := New(Config{})
	next := make(chan struct{})
	_, r := replica(t, "r", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "data: second\n\n")
	})
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{r}}})
	fs := front(t, g)
	resp, err := http.Get(fs.URL + "/s/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first line %q, %v: want it before the stream ends", line, err)
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "second") {
		t.Errorf("rest %q", rest)
	}
}

func TestForwardStreamsRequestBodies(t *testing.T) {
	g := New(Config{})
	_, r := replica(t, "r", func(w http.ResponseWriter, req *http.Request) {
		n, _ := io.Copy(io.Discard, req.Body)
		fmt.Fprint(w, n)
	})
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{r}}})
	fs := front(t, g)
	// Bigger than what the gateway keeps for a replay, with no length.
	const size = 3 * MaxReplayBody
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			pw.Write(chunk)
		}
		pw.Close()
	}()
	resp, err := http.Post(fs.URL+"/s/upload", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != fmt.Sprint(size) {
		t.Errorf("replica read %s bytes, want %d", b, size)
	}
}

func TestUpdateKeepsInflightCounts(t *testing.T) {
	g := New(Config{})
	r := &Replica{AllocID: "1.1", Address: "127.0.0.1:1"}
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{r}}})
	r.inflight.Add(3)
	g.Update(2, []*Service{{Name: "svc", Replicas: []*Replica{{AllocID: "1.1", Address: "127.0.0.1:1"}, {AllocID: "1.2", Address: "127.0.0.1:2"}}}})
	s := g.Lookup("svc")
	if s.Replicas[0].Inflight() != 3 || s.Replicas[1].Inflight() != 0 || g.Index() != 2 {
		t.Errorf("in flight %d and %d at index %d, want 3 and 0 at 2", s.Replicas[0].Inflight(), s.Replicas[1].Inflight(), g.Index())
	}
	if g.Lookup("other") != nil {
		t.Error("an unknown service was found")
	}
}

// A replica that leaves the table loses its idle connections at once,
// closed from the gateway's side: none lingers on its port when it stops.
func TestGoneReplicaConnectionsClosed(t *testing.T) {
	g := New(Config{})
	closed := make(chan struct{}, 16)
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	hs.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	hs.Start()
	defer hs.Close()
	r := &Replica{AllocID: "1.1", Address: strings.TrimPrefix(hs.URL, "http://")}
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{r}}})
	fs := front(t, g)
	if code, body, _ := get(t, fs.URL+"/s/", nil); code != 200 || body != "ok" {
		t.Fatalf("call: %d %q", code, body)
	}
	select {
	case <-closed:
		t.Fatal("the keep-alive connection closed before the replica left")
	default:
	}
	g.Update(2, []*Service{{Name: "svc"}})
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the gone replica's idle connection stayed open")
	}
}

func TestForwardCallerGone(t *testing.T) {
	g := New(Config{})
	block := make(chan struct{})
	defer close(block)
	_, r := replica(t, "r", func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-block:
		case <-req.Context().Done():
		}
	})
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{r}}})
	fs := front(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fs.URL+"/s/", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("want the caller's deadline to end the call")
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Inflight() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still counted in flight after the caller left", r.Inflight())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
