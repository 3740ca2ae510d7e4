package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// Blob replication. The bytes of a blob live on each server's disk; which
// servers hold it lives in raft (the blobs table). The flow:
//
//   - A server that stores a blob (PUT /v1/blobs, a resumable commit, a
//     client's output upload, a copy from a peer) records "server X holds
//     D" through raft. The leader applies it itself; any other server
//     sends it to its own HTTP API (PUT /v1/operator/blobs/{digest}/holders),
//     whose forwarding (forward.go) carries it to the leader, waiting out
//     an election and retrying a dead leader: one path for every case.
//   - Every server runs a loop woken by changes to the blobs table (and a
//     slow timer): it copies the blobs it should hold from a holder
//     (GET /v1/blobs/{digest}?stale&local=true on the peer's HTTP address
//     from serf), verifies the sha256 while writing, and records its copy.
//     By default every server holds every blob; with Config.BlobReplicas
//     = N, the servers ranked first for a blob (rendezvous hashing) do.
//   - A server asked for a blob it lacks (GET /v1/blobs/{digest}, job
//     outputs, metric history) copies it from a peer first, instead of
//     answering 404.
//   - A copy is re-hashed before it is served whenever the file changed
//     since it was last verified, and all copies are re-hashed by a
//     periodic scrub (blob_gc.go): a corrupt copy is removed, its holding
//     dropped from raft, and a good copy fetched from a replica.
//
// Blob data routes (/v1/blobs...) are answered by the server that receives
// them, never forwarded to the leader: each server has its own store.

// Defaults of the blob maintenance knobs in Config.
const (
	DefaultBlobRetention       = 24 * time.Hour
	DefaultBlobRecheckInterval = 5 * time.Second
	DefaultBlobScrubInterval   = 24 * time.Hour
)

// blobMaint is the mutable state of blob maintenance on one server.
type blobMaint struct {
	startOnce sync.Once
	wake      chan struct{}

	mu       sync.Mutex
	verified map[string]fileStamp // digest -> the file as it was when its sha256 last matched
	inflight map[string]*fetchCall
	failed   map[string]backoff // digest -> when the loop may try again
}

// backoff spaces out the loop's attempts to copy a blob nobody can
// provide now: the recheck interval, doubling up to maxBackoff.
type backoff struct {
	until time.Time
	wait  time.Duration
}

const maxBackoff = time.Minute

// blobDebounce gathers a burst of blobs table changes into one reconcile.
const blobDebounce = 20 * time.Millisecond

type fetchCall struct {
	done chan struct{}
	err  error
}

func newBlobMaint() *blobMaint {
	return &blobMaint{
		wake:     make(chan struct{}, 1),
		verified: map[string]fileStamp{},
		inflight: map[string]*fetchCall{},
		failed:   map[string]backoff{},
	}
}

func (m *blobMaint) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// fileStamp identifies one version of a file: a write changes its mtime
// and ctime, a replacement its inode.
type fileStamp struct {
	size, mtime, ctime int64
	ino                uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ctime = sys.Ctim.Nano()
		st.ino = sys.Ino
	}
	return st
}

// startBlobLoops starts replication, garbage collection and the scrub,
// once: from New for a dev server, from StartCluster for a cluster member.
func (s *Server) startBlobLoops() {
	s.blobm.startOnce.Do(func() {
		s.wg.Add(2)
		go s.blobLoop()
		go s.scrubLoop()
	})
}

func (s *Server) blobRetention() time.Duration {
	if s.cfg.BlobRetention > 0 {
		return s.cfg.BlobRetention
	}
	return DefaultBlobRetention
}

func (s *Server) blobRecheck() time.Duration {
	if s.cfg.BlobRecheckInterval > 0 {
		return s.cfg.BlobRecheckInterval
	}
	return DefaultBlobRecheckInterval
}

// shutdownCtx is a context that ends when the server shuts down.
func (s *Server) shutdownCtx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.shutdownCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// blobLoop runs for the life of the server: on every change of the blobs
// table, a poke, or the recheck timer, it reconciles this server's store
// with the table and, on the leader, collects garbage.
func (s *Server) blobLoop() {
	defer s.wg.Done()
	ctx, cancel := s.shutdownCtx()
	defer cancel()
	var lastGC time.Time
	for {
		ws := memdb.NewWatchSet()
		if err := s.reconcileBlobs(ctx, ws); err != nil && ctx.Err() == nil {
			s.logger.Warn("blob reconcile failed", "err", err)
		}
		if s.IsLeader() && time.Since(lastGC) >= s.blobGCInterval() {
			lastGC = time.Now()
			if err := s.sweepBlobs(); err != nil && ctx.Err() == nil {
				s.logger.Warn("blob garbage collection failed", "err", err)
			}
		}
		wait := min(s.blobRecheck(), s.blobGCInterval())
		wctx, wcancel := context.WithTimeout(ctx, wait)
		ch := ws.WatchCh(wctx)
		woken := false
		select {
		case <-ch:
			woken = true
		case <-s.blobm.wake:
		case <-ctx.Done():
		}
		wcancel()
		if woken {
			// One upload brings a holding from every server: take them
			// in one pass.
			select {
			case <-time.After(blobDebounce):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// peerSource finds the other servers: who is in raft, and the HTTP
// address of a live one. In a cluster it is raft's configuration and serf;
// a dev server has none; tests give their own.
type peerSource interface {
	// servers lists every server of the cluster, this one included.
	servers() []string
	// httpAddr is a live server's HTTP host:port.
	httpAddr(name string) (string, bool)
}

type clusterPeers struct{ s *Server }

func (p clusterPeers) servers() []string {
	conf, err := p.s.raftServers()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(conf))
	for _, srv := range conf {
		out = append(out, string(srv.ID))
	}
	return out
}

func (p clusterPeers) httpAddr(name string) (string, bool) {
	mem, ok := p.s.cluster.memberByName(name)
	if !ok || !mem.Alive() || mem.Tags.HTTPAddr == "" {
		return "", false
	}
	return mem.Tags.HTTPAddr, true
}

// peers returns where to find other servers; nil for a dev server.
func (s *Server) peers() peerSource {
	switch {
	case s.cfg.blobPeers != nil:
		return s.cfg.blobPeers
	case s.cluster != nil:
		return clusterPeers{s}
	}
	return nil
}

// blobServers returns the names of the servers in the cluster and how
// many copies of each blob are wanted.
func (s *Server) blobServers() ([]string, int) {
	var servers []string
	if p := s.peers(); p != nil {
		servers = p.servers()
	}
	if len(servers) == 0 {
		servers = []string{s.cfg.NodeName}
	}
	slices.Sort(servers)
	wanted := len(servers)
	if s.cfg.BlobReplicas > 0 {
		wanted = min(s.cfg.BlobReplicas, wanted)
	}
	return servers, wanted
}

// peerAlive reports whether another server is alive, and its HTTP address.
func (s *Server) peerAlive(name string) (string, bool) {
	p := s.peers()
	if p == nil || name == s.cfg.NodeName {
		return "", false
	}
	return p.httpAddr(name)
}

// shouldHold decides whether this server should hold b: it is in raft,
// the blob lacks copies, and among the live servers without one it ranks
// high enough for a copy (rendezvous hashing on the digest, so the
// servers agree without talking).
func shouldHold(b *structs.Blob, self string, servers []string, wanted int, alive func(string) bool) bool {
	if b.Deleted || b.HeldBy(self) || !slices.Contains(servers, self) {
		return false
	}
	have := 0
	var cands []string
	for _, srv := range servers {
		switch {
		case b.HeldBy(srv):
			have++
		case srv == self || alive(srv):
			cands = append(cands, srv)
		}
	}
	need := wanted - have
	if need <= 0 {
		return false
	}
	rank := func(srv string) string {
		sum := sha256.Sum256([]byte(b.Digest + "\x00" + srv))
		return hex.EncodeToString(sum[:8])
	}
	slices.SortFunc(cands, func(a, c string) int { return strings.Compare(rank(a), rank(c)) })
	return slices.Index(cands, self) < need
}

// reconcileBlobs brings this server's store in line with the table: it
// fetches the blobs it should hold, removes tombstoned ones, and records
// verified local copies the table does not list. ws is filled with the
// table's watch.
func (s *Server) reconcileBlobs(ctx context.Context, ws memdb.WatchSet) error {
	snap := s.State().Snapshot()
	rows, err := snap.Blobs(ws)
	if err != nil {
		return err
	}
	// Listed after the snapshot: a copy recorded in it was written before
	// it, so a held copy missing here is really gone.
	local, err := s.blobs.localDigests()
	if err != nil {
		return err
	}
	onDisk := make(map[string]bool, len(local))
	for _, d := range local {
		onDisk[d] = true
	}
	self := s.cfg.NodeName
	servers, wanted := s.blobServers()
	alive := func(n string) bool { _, ok := s.peerAlive(n); return ok }
	byDigest := make(map[string]*structs.Blob, len(rows))
	var errs []error
	for _, b := range rows {
		byDigest[b.Digest] = b
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if b.Deleted {
			if err := s.removeTombstoned(ctx, b); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if b.HeldBy(self) {
			// A copy recorded but gone (removed by hand, or lost in a
			// race with garbage collection): say so, then copy again.
			if !onDisk[b.Digest] {
				s.logger.Warn("blob recorded as held here is missing from disk; dropping the holding", "digest", b.Digest)
				if err := s.dropBlob(ctx, b.Digest); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if !shouldHold(b, self, servers, wanted, alive) || s.backingOff(b.Digest) {
			continue
		}
		if err := s.ensureLocal(ctx, b.Digest, b); err != nil {
			errs = append(errs, err)
		}
	}
	s.blobm.mu.Lock()
	for d := range s.blobm.failed {
		if byDigest[d] == nil {
			delete(s.blobm.failed, d)
		}
	}
	s.blobm.mu.Unlock()
	for _, d := range local {
		if b := byDigest[d]; b != nil && (b.Deleted || b.HeldBy(self)) {
			continue
		}
		// A copy the table does not list as ours: kept from before the
		// table existed, or a holding forgotten. Record it once verified.
		if err := s.adoptLocal(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) backingOff(digest string) bool {
	s.blobm.mu.Lock()
	defer s.blobm.mu.Unlock()
	return time.Now().Before(s.blobm.failed[digest].until)
}

func (s *Server) noteFetch(digest string, err error) {
	s.blobm.mu.Lock()
	defer s.blobm.mu.Unlock()
	if err == nil {
		delete(s.blobm.failed, digest)
		return
	}
	b := s.blobm.failed[digest]
	b.wait = min(max(2*b.wait, s.blobRecheck()), max(maxBackoff, s.blobRecheck()))
	b.until = time.Now().Add(b.wait)
	s.blobm.failed[digest] = b
}

// adoptLocal records a local copy after checking its content.
func (s *Server) adoptLocal(ctx context.Context, digest string) error {
	f, err := s.openVerified(ctx, digest)
	if err != nil {
		if structs.CodeOf(err) == structs.CodeNotFound {
			return nil // gone or corrupt (and removed) meanwhile
		}
		return err
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return fmt.Errorf("stat blob %s: %w", digest, err)
	}
	return s.recordBlob(ctx, digest, fi.Size())
}

// ensureLocal makes sure this server holds a verified copy of digest,
// fetching it from a peer when it has none, and records the holding. b is
// the blob's row when known (its holders are asked first). Concurrent
// callers share one fetch, which runs until the server shuts down even if
// the caller that started it goes away.
func (s *Server) ensureLocal(ctx context.Context, digest string, b *structs.Blob) error {
	s.blobm.mu.Lock()
	c, ok := s.blobm.inflight[digest]
	if !ok {
		c = &fetchCall{done: make(chan struct{})}
		s.blobm.inflight[digest] = c
		go func() {
			fctx, cancel := s.shutdownCtx()
			defer cancel()
			c.err = s.fetchAndRecord(fctx, digest, b)
			s.noteFetch(digest, c.err)
			s.blobm.mu.Lock()
			delete(s.blobm.inflight, digest)
			s.blobm.mu.Unlock()
			close(c.done)
		}()
	}
	s.blobm.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) fetchAndRecord(ctx context.Context, digest string, b *structs.Blob) error {
	if f, err := s.openVerified(ctx, digest); err == nil {
		fi, err := f.Stat()
		f.Close()
		if err != nil {
			return fmt.Errorf("stat blob %s: %w", digest, err)
		}
		return s.recordBlob(ctx, digest, fi.Size())
	}
	src := s.peers()
	if src == nil {
		return structs.NewError(structs.CodeNotFound, "blob %s not found", digest)
	}
	// Holders first; then any other live server, in case this server's
	// state lags behind the upload.
	var peers []string
	if b != nil {
		peers = append(peers, b.Holders...)
	}
	for _, name := range src.servers() {
		if !slices.Contains(peers, name) {
			peers = append(peers, name)
		}
	}
	var errs []error
	for _, p := range peers {
		addr, ok := s.peerAlive(p)
		if p == s.cfg.NodeName || !ok {
			continue
		}
		size, err := s.fetchFrom(ctx, addr, digest)
		if err != nil {
			errs = append(errs, fmt.Errorf("from %s: %w", p, err))
			continue
		}
		s.logger.Info("copied blob from a peer", "digest", digest, "size", size, "peer", p)
		return s.recordBlob(ctx, digest, size)
	}
	if len(errs) == 0 {
		return structs.NewError(structs.CodeNotFound, "blob %s not found on this server, and no live server has it", digest)
	}
	return structs.NewError(structs.CodeNotFound, "blob %s not found on this server, and no server could provide it: %v", digest, errors.Join(errs...))
}

// fetchFrom copies a blob from the peer at addr into the store, verifying
// its sha256.
func (s *Server) fetchFrom(ctx context.Context, addr, digest string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.scheme()+"://"+addr+"/v1/blobs/"+digest+"?stale&local=true", nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.peerDo(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return 0, fmt.Errorf("GET blob: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	size, err := s.blobs.putExpect(resp.Body, digest)
	if err != nil {
		return 0, err
	}
	s.markVerified(digest)
	return size, nil
}

// recordBlob records through raft that this server holds digest.
func (s *Server) recordBlob(ctx context.Context, digest string, size int64) error {
	req := &structs.BlobRegisterRequest{Digest: digest, Size: size, Server: s.cfg.NodeName, Now: time.Now().UTC()}
	return s.leaderWrite(ctx, fsm.BlobRegister, http.MethodPut, "/v1/operator/blobs/"+digest+"/holders", req)
}

// dropBlob records through raft that this server no longer holds digest.
func (s *Server) dropBlob(ctx context.Context, digest string) error {
	req := &structs.BlobDropRequest{Digest: digest, Server: s.cfg.NodeName}
	return s.leaderWrite(ctx, fsm.BlobDrop, http.MethodDelete, "/v1/operator/blobs/"+digest+"/holders/"+s.cfg.NodeName, req)
}

// markVerified remembers that digest's file, as it is now, has the right
// content (it was just written through a hash).
func (s *Server) markVerified(digest string) {
	fi, err := os.Stat(s.blobs.path(digest))
	if err != nil {
		return
	}
	s.blobm.mu.Lock()
	s.blobm.verified[digest] = stampOf(fi)
	s.blobm.mu.Unlock()
}

// openVerified opens a local copy whose content matches its digest. A file
// changed since its last check is hashed again; a corrupt one is removed,
// its holding dropped, and CodeNotFound returned, so callers fetch a good
// copy from a replica.
func (s *Server) openVerified(ctx context.Context, digest string) (*os.File, error) {
	f, err := s.blobs.Open(digest)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat blob %s: %w", digest, err)
	}
	st := stampOf(fi)
	s.blobm.mu.Lock()
	ok := s.blobm.verified[digest] == st
	s.blobm.mu.Unlock()
	if ok {
		return f, nil
	}
	good, err := hashMatches(f, digest)
	if err != nil {
		f.Close()
		return nil, err
	}
	if !good {
		f.Close()
		s.quarantine(ctx, digest)
		return nil, structs.NewError(structs.CodeNotFound, "blob %s on this server was corrupt and has been removed", digest)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", digest, err)
	}
	s.blobm.mu.Lock()
	s.blobm.verified[digest] = st
	s.blobm.mu.Unlock()
	return f, nil
}

func hashMatches(r io.Reader, digest string) (bool, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return false, fmt.Errorf("hash blob %s: %w", digest, err)
	}
	return hex.EncodeToString(h.Sum(nil)) == digest, nil
}

// quarantine removes a corrupt copy, drops this server's holding and
// wakes the loop, which fetches a good copy if this server should hold one.
func (s *Server) quarantine(ctx context.Context, digest string) {
	s.logger.Error("blob copy is corrupt (sha256 mismatch): removing it and fetching it again from a replica", "digest", digest)
	s.blobm.mu.Lock()
	delete(s.blobm.verified, digest)
	s.blobm.mu.Unlock()
	if err := s.blobs.remove(digest); err != nil {
		s.logger.Error("remove corrupt blob", "digest", digest, "err", err)
	}
	if err := s.dropBlob(ctx, digest); err != nil {
		s.logger.Warn("record dropped blob copy", "digest", digest, "err", err)
	}
	s.blobm.poke()
}

// openBlob opens a verified copy of digest, fetching it from a peer when
// this server has none (or a corrupt one).
func (s *Server) openBlob(ctx context.Context, digest string) (*os.File, error) {
	f, err := s.openVerified(ctx, digest)
	if err == nil || structs.CodeOf(err) != structs.CodeNotFound || s.peers() == nil {
		return f, err
	}
	b, _ := s.State().Snapshot().BlobByDigest(nil, digest)
	if err := s.ensureLocal(ctx, digest, b); err != nil {
		return nil, err
	}
	return s.openVerified(ctx, digest)
}

// putBlob stores an upload and records the holding.
func (s *Server) putBlob(ctx context.Context, r io.Reader) (string, int64, error) {
	digest, size, err := s.blobs.Put(r)
	if err != nil {
		return "", 0, err
	}
	s.markVerified(digest)
	if err := s.recordBlob(ctx, digest, size); err != nil {
		return "", 0, fmt.Errorf("blob %s is stored on this server but could not be recorded (retry the upload): %w", digest, err)
	}
	return digest, size, nil
}

// commitUpload commits a resumable upload and records the holding.
func (s *Server) commitUpload(ctx context.Context, id, digest string) (int64, error) {
	size, err := s.blobs.CommitUpload(id, digest)
	if err != nil {
		return 0, err
	}
	s.markVerified(digest)
	if err := s.recordBlob(ctx, digest, size); err != nil {
		return 0, fmt.Errorf("blob %s is stored on this server but could not be recorded (retry the commit): %w", digest, err)
	}
	return size, nil
}

// blobSize returns the size of a blob the servers hold: from the table,
// or from a local copy (recorded on the way) when the table lacks it.
func (s *Server) blobSize(ctx context.Context, digest string) (int64, error) {
	b, err := s.State().Snapshot().BlobByDigest(nil, digest)
	if err != nil {
		return 0, err
	}
	if b != nil && !b.Deleted && len(b.Holders) > 0 {
		return b.Size, nil
	}
	f, err := s.openVerified(ctx, digest)
	if err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", digest, err)
	}
	if err := s.recordBlob(ctx, digest, fi.Size()); err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// blobHead answers HEAD /v1/blobs/{digest}: whether the servers hold it
// (a local copy or a live row). With ?local=true, only this server's own
// verified copy counts.
func (s *Server) blobHead(w http.ResponseWriter, r *request) error {
	digest := r.PathValue("digest")
	if !digestRE.MatchString(digest) {
		return structs.NewError(structs.CodeInvalid, "invalid blob digest %q: expected 64 hex digits", digest)
	}
	if r.URL.Query().Get("local") == "true" {
		f, err := s.openVerified(r.Context(), digest)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
		}
		return nil
	}
	if fi, err := os.Stat(s.blobs.path(digest)); err == nil {
		w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
		return nil
	}
	if b, _ := r.snap.BlobByDigest(nil, digest); b != nil && !b.Deleted && len(b.Holders) > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(b.Size))
		return nil
	}
	return structs.NewError(structs.CodeNotFound, "blob %s not found", digest)
}

// blobGet answers GET /v1/blobs/{digest}, fetching from a peer when this
// server lacks the blob. With ?local=true (a peer copying) only this
// server's own verified copy is served.
func (s *Server) blobGet(w http.ResponseWriter, r *request) error {
	digest := r.PathValue("digest")
	if !digestRE.MatchString(digest) {
		return structs.NewError(structs.CodeInvalid, "invalid blob digest %q: expected 64 hex digits", digest)
	}
	var f *os.File
	var err error
	if r.URL.Query().Get("local") == "true" {
		f, err = s.openVerified(r.Context(), digest)
	} else {
		f, err = s.openBlob(r.Context(), digest)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r.Request, "", time.Time{}, f)
	return nil
}

// putExpect streams r into the store only if its sha256 is digest.
func (b *BlobStore) putExpect(r io.Reader, digest string) (int64, error) {
	if !digestRE.MatchString(digest) {
		return 0, structs.NewError(structs.CodeInvalid, "invalid blob digest %q", digest)
	}
	tmp, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "fetch-*")
	if err != nil {
		return 0, fmt.Errorf("blob store: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxBlobSize+1))
	if err == nil && n > MaxBlobSize {
		err = structs.NewError(structs.CodeInvalid, "blob larger than the %s limit", structs.FormatSize(MaxBlobSize))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("blob store: receive %s: %w", digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return 0, fmt.Errorf("blob store: content has sha256 %s, not %s", got, digest)
	}
	dst := b.path(digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, fmt.Errorf("blob store: commit %s: %w", digest, err)
	}
	return n, nil
}

// remove deletes a local copy; a missing one is not an error.
func (b *BlobStore) remove(digest string) error {
	err := os.Remove(b.path(digest))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob store: remove %s: %w", digest, err)
	}
	return nil
}

// localDigests lists the blobs stored here.
func (b *BlobStore) localDigests() ([]string, error) {
	dirs, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	var out []string
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(b.dir, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && digestRE.MatchString(e.Name()) && strings.HasPrefix(e.Name(), d.Name()) {
				out = append(out, e.Name())
			}
		}
	}
	return out, nil
}

func (s *Server) blobRegister(r *request) (any, uint64, error) {
	var req structs.BlobRegisterRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	if req.Digest != r.PathValue("digest") {
		return nil, 0, structs.NewError(structs.CodeInvalid, "the body names blob %q, the path %q", req.Digest, r.PathValue("digest"))
	}
	if req.Now.IsZero() {
		req.Now = time.Now().UTC()
	}
	if err := req.Validate(); err != nil {
		return nil, 0, err
	}
	return s.applyIndex(fsm.BlobRegister, &req)
}

func (s *Server) blobDrop(r *request) (any, uint64, error) {
	drain(r.Request)
	req := &structs.BlobDropRequest{Digest: r.PathValue("digest"), Server: r.PathValue("server")}
	if err := req.Validate(); err != nil {
		return nil, 0, err
	}
	return s.applyIndex(fsm.BlobDrop, req)
}

// blobList lists every blob with its references and how many copies are
// wanted, under-replicated ones first.
func (s *Server) blobList(r *request) (any, uint64, error) {
	snap := r.snap
	rows, err := snap.Blobs(nil)
	if err != nil {
		return nil, 0, err
	}
	refs, err := snap.BlobReferences()
	if err != nil {
		return nil, 0, err
	}
	_, wanted := s.blobServers()
	out := make([]*structs.Blob, 0, len(rows))
	for _, b := range rows {
		c := b.Copy()
		c.References = refs[b.Digest]
		c.Wanted = wanted
		if c.Deleted {
			c.Wanted = 0
		}
		out = append(out, c)
	}
	under := func(b *structs.Blob) bool { return len(b.Holders) < b.Wanted }
	slices.SortStableFunc(out, func(a, b *structs.Blob) int {
		if ua, ub := under(a), under(b); ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	return out, snap.TableIndex(state.TableBlobs), nil
}
