package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nai-project/nai/structs"
)

// What the server's handlers call: every way a blob enters the store ends
// with its holding recorded, and every read is of a verified copy.

// Put stores an upload and records the holding.
func (r *Replicator) Put(ctx context.Context, body io.Reader) (structs.BlobInfo, error) {
	info, err := r.store.Put(body, "")
	if err != nil {
		return info, err
	}
	if err := r.cfg.Recorder.Hold(ctx, info.Digest, info.Size); err != nil {
		return structs.BlobInfo{}, fmt.Errorf("blob %s is stored on this server but could not be recorded (retry the upload): %w", info.Digest, err)
	}
	return info, nil
}

// CommitUpload commits a resumable upload and records the holding.
func (r *Replicator) CommitUpload(ctx context.Context, id, digest string) (structs.BlobInfo, error) {
	info, err := r.store.CommitUpload(id, digest)
	if err != nil {
		return info, err
	}
	if err := r.cfg.Recorder.Hold(ctx, digest, info.Size); err != nil {
		return structs.BlobInfo{}, fmt.Errorf("blob %s is stored on this server but could not be recorded (retry the commit): %w", digest, err)
	}
	return info, nil
}

// OpenLocal opens this server's own verified copy of digest. A corrupt copy
// is removed, its holding dropped and the loop woken (to fetch a good copy
// if this server should hold one); the caller gets a not-found error.
func (r *Replicator) OpenLocal(ctx context.Context, digest string) (*os.File, error) {
	f, err := r.store.Open(digest)
	var corrupt *CorruptError
	if errors.As(err, &corrupt) {
		r.quarantined(ctx, digest)
	}
	return f, err
}

// quarantined handles a corrupt copy the store has removed.
func (r *Replicator) quarantined(ctx context.Context, digest string) {
	r.log.Error("blob copy is corrupt (sha256 mismatch): removed it; fetching it again from a replica", "digest", digest)
	if err := r.cfg.Recorder.Drop(ctx, digest); err != nil {
		r.log.Warn("record dropped blob copy", "digest", digest, "err", err)
	}
	r.Poke()
}

// Open opens a verified copy of digest, fetching it from a peer when this
// server has none (or had a corrupt one).
func (r *Replicator) Open(ctx context.Context, digest string) (*os.File, error) {
	f, err := r.OpenLocal(ctx, digest)
	if err == nil || structs.CodeOf(err) != structs.CodeNotFound || len(r.cfg.Peers.Servers()) == 0 {
		return f, err
	}
	if err := r.Ensure(ctx, digest); err != nil {
		return nil, err
	}
	return r.OpenLocal(ctx, digest)
}

// Size returns the size of a blob the servers hold: from the table, or
// from a verified local copy (recorded on the way) when the table lacks it.
func (r *Replicator) Size(ctx context.Context, digest string) (int64, error) {
	b, err := r.cfg.State().BlobByDigest(nil, digest)
	if err != nil {
		return 0, err
	}
	if b != nil && !b.Deleted && len(b.Holders) > 0 {
		return b.Size, nil
	}
	f, err := r.OpenLocal(ctx, digest)
	if err != nil {
		return 0, err
	}
	size, err := closeSize(f, digest)
	if err != nil {
		return 0, err
	}
	if err := r.cfg.Recorder.Hold(ctx, digest, size); err != nil {
		return 0, err
	}
	return size, nil
}

// closeSize returns an open copy's size and closes it.
func closeSize(f *os.File, digest string) (int64, error) {
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", digest, err)
	}
	return fi.Size(), nil
}
