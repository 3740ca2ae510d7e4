package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// fakePeer is another server as the replication code sees it: an HTTP
// server that serves the blobs it was given (or lies about them).
type fakePeer struct {
	t     *testing.T
	hs    *httptest.Server
	mu    sync.Mutex
	blobs map[string]string // digest -> bytes served
	asked map[string]int
	query []string
}

func newFakePeer(t *testing.T) *fakePeer {
	p := &fakePeer{t: t, blobs: map[string]string{}, asked: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		d := r.PathValue("digest")
		p.asked[d]++
		p.query = append(p.query, r.URL.RawQuery)
		body, ok := p.blobs[d]
		p.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":{"code":"not_found","message":"no"}}`, http.StatusNotFound)
			return
		}
		io.WriteString(w, body)
	})
	p.hs = httptest.NewServer(mux)
	t.Cleanup(p.hs.Close)
	return p
}

func (p *fakePeer) serve(digest, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blobs[digest] = body
}

func (p *fakePeer) timesAsked(digest string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.asked[digest]
}

func (p *fakePeer) addr() string { return strings.TrimPrefix(p.hs.URL, "http://") }

// staticPeers is a fixed cluster: the server under test ("test") and
// fake peers by name.
type staticPeers map[string]*fakePeer

func (sp staticPeers) servers() []string {
	out := []string{"test"}
	for n := range sp {
		out = append(out, n)
	}
	return out
}

func (sp staticPeers) httpAddr(name string) (string, bool) {
	if p, ok := sp[name]; ok {
		return p.addr(), true
	}
	return "", false
}

func withPeers(sp staticPeers, more ...func(*Config)) func(*Config) {
	return func(c *Config) {
		c.blobPeers = sp
		c.BlobRecheckInterval = 20 * time.Millisecond
		for _, m := range more {
			m(c)
		}
	}
}

func blobRow(t *testing.T, s *Server, digest string) *structs.Blob {
	t.Helper()
	b, err := s.State().Snapshot().BlobByDigest(nil, digest)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func heldBy(s *Server, digest, server string) bool {
	b, _ := s.State().Snapshot().BlobByDigest(nil, digest)
	return b != nil && b.HeldBy(server)
}

// A blob a peer holds is copied by the loop, verified and recorded; one
// whose peer serves the wrong bytes is never stored or recorded.
func TestReplicationLoopCopiesFromPeer(t *testing.T) {
	peer := newFakePeer(t)
	s, _ := testServer(t, t.TempDir(), withPeers(staticPeers{"p1": peer}))
	good, lie := "weights of a model", "a dataset"
	peer.serve(sha([]byte(good)), good)
	peer.serve(sha([]byte(lie)), "not the dataset")
	for _, body := range []string{good, lie} {
		req := &structs.BlobRegisterRequest{Digest: sha([]byte(body)), Size: int64(len(body)), Server: "p1", Now: time.Now()}
		if _, _, err := s.apply(fsm.BlobRegister, req); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the server records its copy of the good blob", func() bool { return heldBy(s, sha([]byte(good)), "test") })
	got, err := os.ReadFile(s.blobs.Path(sha([]byte(good))))
	if err != nil || string(got) != good {
		t.Fatalf("local copy %q, %v; want %q", got, err, good)
	}
	if b := blobRow(t, s, sha([]byte(good))); !slices.Equal(b.Holders, []string{"p1", "test"}) {
		t.Errorf("holders %v, want p1 and test", b.Holders)
	}
	waitUntil(t, "the lying peer is asked again after a back-off", func() bool { return peer.timesAsked(sha([]byte(lie))) >= 2 })
	if heldBy(s, sha([]byte(lie)), "test") {
		t.Error("a copy whose sha256 does not match was recorded")
	}
	if _, err := os.Stat(s.blobs.Path(sha([]byte(lie)))); !os.IsNotExist(err) {
		t.Errorf("a copy whose sha256 does not match was stored: %v", err)
	}
	peer.mu.Lock()
	q := peer.query[0]
	peer.mu.Unlock()
	if !strings.Contains(q, "local=true") || !strings.Contains(q, "stale") {
		t.Errorf("peer asked with %q: want ?stale&local=true, so it neither forwards nor fetches in turn", q)
	}
}

// With one copy wanted and a peer holding it, the loop copies nothing, but
// a read of the blob on this server fetches it instead of answering 404.
func TestReadFetchesFromPeer(t *testing.T) {
	peer := newFakePeer(t)
	s, c := testServer(t, t.TempDir(), withPeers(staticPeers{"p1": peer}, func(c *Config) { c.BlobReplicas = 1 }))
	body := "checkpoint bytes"
	d := sha([]byte(body))
	peer.serve(d, body)
	if _, _, err := s.apply(fsm.BlobRegister, &structs.BlobRegisterRequest{Digest: d, Size: int64(len(body)), Server: "p1", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasBlob(context.Background(), d); err != nil || !ok {
		t.Errorf("HEAD of a blob a peer holds: %v, %v; want true", ok, err)
	}
	if heldBy(s, d, "test") {
		t.Fatal("copied although one copy is wanted and the peer has it")
	}
	rc, err := c.Blob(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != body {
		t.Fatalf("read %q, %v; want %q", got, err, body)
	}
	if !heldBy(s, d, "test") {
		t.Error("the fetched copy was not recorded")
	}
	// A blob nobody has is still a clear 404.
	if _, err := c.Blob(context.Background(), sha([]byte("nothing"))); structs.CodeOf(err) != structs.CodeNotFound {
		t.Errorf("unknown blob: %v, want not found", err)
	}
}

// A copy corrupted on disk is detected when read, removed, and fetched
// again from a replica; the reader gets the right bytes.
func TestCorruptCopyIsRefetched(t *testing.T) {
	peer := newFakePeer(t)
	s, c := testServer(t, t.TempDir(), withPeers(staticPeers{"p1": peer}))
	body := strings.Repeat("digits ", 1000)
	d := upload(t, c, body)
	peer.serve(d, body)
	if _, _, err := s.apply(fsm.BlobRegister, &structs.BlobRegisterRequest{Digest: d, Size: int64(len(body)), Server: "p1", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if !heldBy(s, d, "test") {
		t.Fatal("an upload was not recorded as held by this server")
	}
	f, err := os.OpenFile(s.blobs.Path(d), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("XXXX"), 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rc, err := c.Blob(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != body {
		t.Fatalf("read after corruption: %d bytes, not the original %d", len(got), len(body))
	}
	if peer.timesAsked(d) == 0 {
		t.Error("the good copy did not come from the replica")
	}
	waitUntil(t, "the server holds the blob again", func() bool { return heldBy(s, d, "test") })
}

// Without a replica, a corrupt copy is removed and reads answer 404 rather
// than wrong bytes; the scrub finds rot that left the file's times alone.
func TestScrubAndCorruptionWithoutReplica(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	rot, plain := upload(t, c, "rotting bits"), upload(t, c, "healthy bits")
	p := s.blobs.Path(rot)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("rotting bitz"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Bit rot changes no timestamp; only the ctime tells, and the scrub
	// ignores what it remembers.
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	bad, err := s.blobr.Scrub(context.Background())
	if err != nil || bad != 1 {
		t.Fatalf("scrub found %d corrupt copies (%v), want 1", bad, err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("corrupt copy kept: %v", err)
	}
	if heldBy(s, rot, "test") {
		t.Error("a removed copy is still recorded as held")
	}
	if _, err := c.Blob(context.Background(), rot); structs.CodeOf(err) != structs.CodeNotFound {
		t.Errorf("read of a lost blob: %v, want not found", err)
	}
	if rc, err := c.Blob(context.Background(), plain); err != nil {
		t.Errorf("healthy blob: %v", err)
	} else {
		rc.Close()
	}
}
