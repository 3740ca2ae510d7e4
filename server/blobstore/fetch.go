package blobstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nai-project/nai/structs"
)

// maxBackoff caps the wait between the loop's attempts to copy a blob
// nobody can provide now.
const maxBackoff = time.Minute

// Ensure makes sure this server holds a verified copy of digest, fetching
// it from a peer when it has none, and records the holding. Concurrent
// callers share one fetch, which goes on until Close even when the caller
// that started it goes away; a caller stops waiting when its ctx ends.
func (r *Replicator) Ensure(ctx context.Context, digest string) error {
	ch := r.flight.DoChan(digest, func() (any, error) {
		err := r.fetchAndRecord(r.life, digest)
		r.backoff.note(digest, err)
		return nil, err
	})
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Replicator) fetchAndRecord(ctx context.Context, digest string) error {
	if f, err := r.OpenLocal(ctx, digest); err == nil {
		size, err := closeSize(f, digest)
		if err != nil {
			return err
		}
		return r.cfg.Recorder.Hold(ctx, digest, size)
	}
	servers := r.cfg.Peers.Servers()
	if len(servers) == 0 {
		return structs.NewError(structs.CodeNotFound, "blob %s not found", digest)
	}
	// Holders first; then any other live server, in case this server's
	// state lags behind the upload.
	var order []string
	if b, _ := r.cfg.State().BlobByDigest(nil, digest); b != nil {
		order = append(order, b.Holders...)
	}
	for _, name := range servers {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	var errs []error
	for _, p := range order {
		if !r.alive(p) {
			continue
		}
		info, err := r.fetchFrom(ctx, p, digest)
		if err != nil {
			errs = append(errs, fmt.Errorf("from %s: %w", p, err))
			continue
		}
		r.log.Info("copied blob from a peer", "digest", digest, "size", info.Size, "peer", p)
		return r.cfg.Recorder.Hold(ctx, digest, info.Size)
	}
	if len(errs) == 0 {
		return structs.NewError(structs.CodeNotFound, "blob %s not found on this server, and no live server has it", digest)
	}
	return structs.NewError(structs.CodeNotFound, "blob %s not found on this server, and no server could provide it: %v", digest, errors.Join(errs...))
}

// fetchFrom copies a blob from a peer into the store, verifying its sha256
// on the way.
func (r *Replicator) fetchFrom(ctx context.Context, peer, digest string) (structs.BlobInfo, error) {
	rc, err := r.cfg.Peers.Fetch(ctx, peer, digest)
	if err != nil {
		return structs.BlobInfo{}, err
	}
	defer rc.Close()
	return r.store.Put(rc, digest)
}

// alive reports whether another server can be asked now.
func (r *Replicator) alive(name string) bool {
	return name != r.cfg.Self && r.cfg.Peers.Alive(name)
}

// backoff spaces out the loop's attempts to copy a blob nobody can
// provide now: the first wait, doubling up to maxBackoff (or the first
// wait, when that is longer).
type backoff struct {
	first time.Duration
	now   func() time.Time // time.Now; tests move it on

	mu     sync.Mutex
	failed map[string]retry
}

type retry struct {
	until time.Time
	wait  time.Duration
}

func (b *backoff) waiting(digest string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now().Before(b.failed[digest].until)
}

// note records the outcome of a fetch.
func (b *backoff) note(digest string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.failed, digest)
		return
	}
	f := b.failed[digest]
	f.wait = min(max(2*f.wait, b.first), max(maxBackoff, b.first))
	f.until = b.now().Add(f.wait)
	b.failed[digest] = f
}

// keepOnly forgets the failures of blobs no longer in the table.
func (b *backoff) keepOnly(rows map[string]*structs.Blob) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for d := range b.failed {
		if rows[d] == nil {
			delete(b.failed, d)
		}
	}
}
