package blobstore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The replicator's world in memory: a real state store as the blobs
// table, a recorder that writes to it as raft would, and peers that are
// other Stores.

// table is the cluster's state; the recorder writes to it.
type table struct {
	t     *testing.T
	mu    sync.Mutex
	store *state.Store
	index uint64
}

func newTable(t *testing.T) *table {
	st, err := state.NewStore()
	if err != nil {
		t.Fatal(err)
	}
	return &table{t: t, store: st}
}

func (tb *table) snapshot() Table { return tb.store.Snapshot() }

func (tb *table) next() uint64 {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.index++
	return tb.index
}

// hold records a copy on server srv.
func (tb *table) hold(srv, digest string, size int64) error {
	return tb.store.RegisterBlob(tb.next(), &structs.BlobRegisterRequest{Digest: digest, Size: size, Server: srv, Now: time.Now()})
}

func (tb *table) row(digest string) *structs.Blob {
	b, err := tb.store.Snapshot().BlobByDigest(nil, digest)
	if err != nil {
		tb.t.Fatal(err)
	}
	return b
}

func (tb *table) heldBy(digest, srv string) bool {
	b := tb.row(digest)
	return b != nil && b.HeldBy(srv)
}

// tombstone marks every unreferenced blob deleted, as two garbage
// collection sweeps a retention apart do.
func (tb *table) tombstone(servers ...string) {
	tb.t.Helper()
	now := time.Now()
	for _, at := range []time.Time{now, now.Add(2 * time.Second)} {
		if _, err := tb.store.SweepBlobs(tb.next(), &structs.BlobSweepRequest{Now: at, Retention: time.Second, Servers: servers}); err != nil {
			tb.t.Fatal(err)
		}
	}
}

// recorder is a Recorder that applies to the table and counts.
type recorder struct {
	tb   *table
	self string

	mu    sync.Mutex
	holds []string
	drops []string
}

func (r *recorder) Hold(_ context.Context, digest string, size int64) error {
	r.mu.Lock()
	r.holds = append(r.holds, digest)
	r.mu.Unlock()
	return r.tb.hold(r.self, digest, size)
}

func (r *recorder) Drop(_ context.Context, digest string) error {
	r.mu.Lock()
	r.drops = append(r.drops, digest)
	r.mu.Unlock()
	return r.tb.store.DropBlob(r.tb.next(), &structs.BlobDropRequest{Digest: digest, Server: r.self})
}

func (r *recorder) dropped() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.drops)
}

// peers is a cluster of named Stores; "self" is the replicator under test.
type peers struct {
	mu      sync.Mutex
	stores  map[string]*Store
	dead    map[string]bool
	lies    map[string]string // digest -> what every peer sends instead
	fetches map[string]int    // digest -> fetches asked
	gate    chan struct{}     // when set, a fetch waits for it
}

func newPeers() *peers {
	return &peers{stores: map[string]*Store{}, dead: map[string]bool{}, lies: map[string]string{}, fetches: map[string]int{}}
}

func (p *peers) add(t *testing.T, name string, bodies ...string) *Store {
	s := newStore(t)
	for _, b := range bodies {
		put(t, s, b)
	}
	p.mu.Lock()
	p.stores[name] = s
	p.mu.Unlock()
	return s
}

func (p *peers) Servers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []string{"self"}
	for n := range p.stores {
		out = append(out, n)
	}
	return out
}

func (p *peers) Alive(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stores[name] != nil && !p.dead[name]
}

func (p *peers) Fetch(ctx context.Context, name, digest string) (io.ReadCloser, error) {
	p.mu.Lock()
	p.fetches[digest]++
	gate, lie, st := p.gate, p.lies[digest], p.stores[name]
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if lie != "" {
		return io.NopCloser(strings.NewReader(lie)), nil
	}
	return st.Open(digest)
}

func (p *peers) asked(digest string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches[digest]
}

// fakeClock is the back-off's clock, moved on by the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type world struct {
	tb    *table
	rec   *recorder
	peers *peers
	r     *Replicator
}

func newWorld(t *testing.T, replicas int) *world {
	tb := newTable(t)
	w := &world{tb: tb, rec: &recorder{tb: tb, self: "self"}, peers: newPeers()}
	w.r = NewReplicator(ReplicatorConfig{
		Self: "self", Store: newStore(t), State: tb.snapshot, Peers: w.peers, Recorder: w.rec,
		Replicas: replicas, Recheck: 10 * time.Millisecond, Scrub: -1,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	t.Cleanup(w.r.Close)
	return w
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// A peer's blob is copied, verified and recorded by one reconcile; a blob
// whose peer sends other bytes is neither stored nor recorded, and is not
// asked for again until its back-off has passed.
func TestReconcileCopiesFromPeer(t *testing.T) {
	w := newWorld(t, 0)
	good, lie := "weights of a model", "a dataset"
	w.peers.add(t, "p1", good, lie)
	w.peers.lies[sha(lie)] = "not the dataset"
	for _, b := range []string{good, lie} {
		if err := w.tb.hold("p1", sha(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}
	clock := &fakeClock{now: time.Now()}
	w.r.backoff.now = clock.Now
	ctx := context.Background()
	err := w.r.Reconcile(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "not the expected") {
		t.Errorf("reconcile: %v; want the lying peer's mismatch reported", err)
	}
	if got := read(t, w.r.Store(), sha(good)); got != good {
		t.Errorf("copy reads %q", got)
	}
	if b := w.tb.row(sha(good)); !slices.Equal(b.Holders, []string{"p1", "self"}) {
		t.Errorf("holders %v, want p1 and self", b.Holders)
	}
	if w.tb.heldBy(sha(lie), "self") {
		t.Error("a copy whose sha256 does not match was recorded")
	}
	if _, err := w.r.Store().Stat(sha(lie)); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("a copy whose sha256 does not match was stored: %v", err)
	}
	// Backing off: the next pass does not ask again at once.
	if err := w.r.Reconcile(ctx, nil); err != nil {
		t.Errorf("second reconcile: %v", err)
	}
	if n := w.peers.asked(sha(lie)); n != 1 {
		t.Errorf("lying peer asked %d times in two passes, want 1 (back-off)", n)
	}
	clock.add(w.r.cfg.Recheck)
	_ = w.r.Reconcile(ctx, nil)
	if n := w.peers.asked(sha(lie)); n != 2 {
		t.Errorf("lying peer asked %d times after its back-off, want 2", n)
	}
}

// With one copy wanted and a peer holding it, reconcile copies nothing,
// but Open fetches the blob (and records it) instead of answering 404.
func TestOpenFetchesOnDemand(t *testing.T) {
	w := newWorld(t, 1)
	body := "checkpoint bytes"
	w.peers.add(t, "p1", body)
	if err := w.tb.hold("p1", sha(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.r.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if w.tb.heldBy(sha(body), "self") {
		t.Fatal("copied although one copy is wanted and the peer has it")
	}
	f, err := w.r.Open(ctx, sha(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != body || !w.tb.heldBy(sha(body), "self") {
		t.Errorf("Open read %q, recorded %v", got, w.tb.heldBy(sha(body), "self"))
	}
	_, err = w.r.Open(ctx, sha("nobody has this"))
	if !errors.Is(err, structs.ErrNotFound) || !strings.Contains(err.Error(), "no server could provide it") {
		t.Errorf("Open of a blob nobody has: %v", err)
	}
	w.peers.dead["p1"] = true
	_, err = w.r.Open(ctx, sha("nor this"))
	if !errors.Is(err, structs.ErrNotFound) || !strings.Contains(err.Error(), "no live server has it") {
		t.Errorf("Open with every peer down: %v", err)
	}
}

// Many readers of a missing blob share one fetch; one that gives up does
// not cancel it for the others.
func TestConcurrentReadersShareOneFetch(t *testing.T) {
	w := newWorld(t, 1)
	body := strings.Repeat("dataset ", 4096)
	d := sha(body)
	w.peers.add(t, "p1", body)
	if err := w.tb.hold("p1", d, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	w.peers.gate = make(chan struct{})
	impatient, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- w.r.Ensure(impatient, d) }()
	deadline := time.Now().Add(10 * time.Second)
	for w.peers.asked(d) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the fetch to start")
		}
		time.Sleep(time.Millisecond)
	}
	// The fetch is under way (held at the gate): the readers join it.
	errc := make(chan error, 8)
	for range 8 {
		go func() {
			f, err := w.r.Open(context.Background(), d)
			if err == nil {
				f.Close()
			}
			errc <- err
		}()
	}
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that gave up: %v, want context.Canceled", err)
	}
	close(w.peers.gate)
	for range 8 {
		if err := <-errc; err != nil {
			t.Errorf("reader: %v", err)
		}
	}
	if n := w.peers.asked(d); n != 1 {
		t.Errorf("peer asked %d times, want 1", n)
	}
	if !w.tb.heldBy(d, "self") {
		t.Error("the shared fetch was not recorded")
	}
}

// Reconcile removes tombstoned copies and drops their holdings, keeps
// (and records, reviving the blob) a copy written after the tombstone,
// drops a holding whose file vanished, and adopts a verified file the
// table does not list.
func TestReconcileTableAndDisk(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	st := w.r.Store()
	dead := put(t, st, "code nobody submitted")
	if err := w.r.Reconcile(ctx, nil); err != nil { // adopts it
		t.Fatal(err)
	}
	if !w.tb.heldBy(dead, "self") {
		t.Fatal("a local file the table did not list was not adopted")
	}
	w.tb.tombstone("self")
	if b := w.tb.row(dead); b == nil || !b.Deleted {
		t.Fatalf("row after the sweeps: %+v, want a tombstone", b)
	}
	if err := w.r.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(dead); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("tombstoned copy kept: %v", err)
	}
	if b := w.tb.row(dead); b != nil {
		t.Errorf("row after the last holder dropped its copy: %+v, want none", b)
	}

	// Uploaded again after the tombstone: kept, and the blob revived.
	again := put(t, st, "uploaded twice")
	if err := w.tb.hold("self", again, int64(len("uploaded twice"))); err != nil {
		t.Fatal(err)
	}
	w.tb.tombstone("self")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(st.Path(again), later, later); err != nil {
		t.Fatal(err)
	}
	if err := w.r.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if b := w.tb.row(again); b == nil || b.Deleted || !b.HeldBy("self") {
		t.Errorf("a copy newer than its tombstone: row %+v, want it revived", b)
	}

	// A recorded copy whose file is gone: the holding is dropped.
	gone := put(t, st, "removed by hand")
	if err := w.tb.hold("self", gone, int64(len("removed by hand"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(st.Path(gone)); err != nil {
		t.Fatal(err)
	}
	if err := w.r.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if w.tb.heldBy(gone, "self") {
		t.Error("a holding whose file vanished was kept")
	}
}

// The scrub finds a copy that rotted, removes it, drops its holding, and
// the next reconcile fetches a good copy from a replica.
func TestScrubQuarantinesAndRefetches(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	body := strings.Repeat("digits ", 1000)
	w.peers.add(t, "p1", body)
	d := put(t, w.r.Store(), body)
	for _, srv := range []string{"p1", "self"} {
		if err := w.tb.hold(srv, d, int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}
	healthy := put(t, w.r.Store(), "healthy")
	p := w.r.Store().Path(d)
	if err := os.WriteFile(p, []byte(strings.Repeat("digitz ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	bad, err := w.r.Scrub(ctx)
	if err != nil || bad != 1 {
		t.Fatalf("scrub found %d corrupt copies (%v), want 1", bad, err)
	}
	if got := w.rec.dropped(); !slices.Equal(got, []string{d}) {
		t.Errorf("holdings dropped %v, want only the corrupt one", got)
	}
	if err := w.r.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(t, w.r.Store(), d); got != body || !w.tb.heldBy(d, "self") {
		t.Errorf("after the scrub and a reconcile: held %v, content right %v", w.tb.heldBy(d, "self"), got == body)
	}
	if got := read(t, w.r.Store(), healthy); got != "healthy" {
		t.Errorf("healthy copy reads %q", got)
	}
}

// Run reconciles when the table changes, without waiting for a timer.
func TestRunFollowsTheTable(t *testing.T) {
	w := newWorld(t, 0)
	w.r.cfg.Recheck = time.Hour // only a table change can wake it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	body := "a new model version"
	w.peers.add(t, "p1", body)
	if err := w.tb.hold("p1", sha(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !w.tb.heldBy(sha(body), "self") {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the loop to copy a new blob")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPutAndCommitRecord(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	info, err := w.r.Put(ctx, strings.NewReader("job outputs"))
	if err != nil || !w.tb.heldBy(info.Digest, "self") {
		t.Fatalf("Put: %+v, %v; recorded %v", info, err, w.tb.heldBy(info.Digest, "self"))
	}
	id, err := w.r.Store().StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.r.Store().AppendUpload(id, 0, strings.NewReader("a dataset")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.r.CommitUpload(ctx, id, sha("a dataset")); err != nil || !w.tb.heldBy(sha("a dataset"), "self") {
		t.Fatalf("CommitUpload: %v", err)
	}
	if n, err := w.r.Size(ctx, sha("a dataset")); err != nil || n != int64(len("a dataset")) {
		t.Errorf("Size = %d, %v", n, err)
	}
	// A failed record says the blob is stored and what to do.
	w.r.cfg.Recorder = failingRecorder{}
	if _, err := w.r.Put(ctx, strings.NewReader("more outputs")); err == nil || !strings.Contains(err.Error(), "retry the upload") {
		t.Errorf("Put with no leader: %v", err)
	}
}

type failingRecorder struct{}

func (failingRecorder) Hold(context.Context, string, int64) error {
	return structs.NewError(structs.CodeNotLeader, "no raft leader")
}
func (failingRecorder) Drop(context.Context, string) error {
	return structs.NewError(structs.CodeNotLeader, "no raft leader")
}

func TestShouldHold(t *testing.T) {
	d := strings.Repeat("ab", 32)
	servers := []string{"s1", "s2", "s3"}
	all := func(string) bool { return true }
	cases := []struct {
		name    string
		holders []string
		wanted  int
		alive   func(string) bool
		deleted bool
		want    []string // servers that should fetch
	}{
		{"every server", []string{"s1"}, 3, all, false, []string{"s2", "s3"}},
		{"enough copies", []string{"s1", "s2"}, 2, all, false, nil},
		{"tombstone", []string{"s1"}, 3, all, true, nil},
		{"one more of three", []string{"s1"}, 2, all, false, []string{"s2"}},
		{"a dead server's turn passes on", []string{"s1"}, 2, func(n string) bool { return n != "s2" }, false, []string{"s3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &structs.Blob{Digest: d, Holders: tc.holders, Deleted: tc.deleted}
			var got []string
			for _, self := range servers {
				if tc.alive(self) && shouldHold(b, self, servers, tc.wanted, tc.alive) {
					got = append(got, self)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("fetching servers %v, want %v", got, tc.want)
			}
		})
	}
}
