package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// Blob garbage collection and scrubbing.
//
// The leader sweeps the blobs table every blobGCInterval (a BlobSweep
// entry, written only when it changes something): a blob nothing in state
// references (no job's code, outputs or metric history, no dataset or
// model version) is marked, and tombstoned once it has stayed unreferenced
// for Config.BlobRetention. Every server then removes its copy of a
// tombstoned blob and drops its holding; the last drop removes the row.
// A copy written after the tombstone (the same content uploaded again) is
// kept and revives the row instead.
//
// The scrub re-hashes every local copy every Config.BlobScrubInterval, so
// a copy that rotted without its file changing is found too.

func (s *Server) blobGCInterval() time.Duration {
	if s.cfg.BlobGCInterval > 0 {
		return s.cfg.BlobGCInterval
	}
	return min(max(s.blobRetention()/4, 10*time.Millisecond), time.Minute)
}

// sweepBlobs writes one sweep when it would change something.
func (s *Server) sweepBlobs() error {
	// Holders outside the cluster are forgotten only when the cluster's
	// servers are known for sure: a failed read must not forget them all.
	servers := []string{s.cfg.NodeName}
	if p := s.peers(); p != nil {
		servers = p.servers()
	}
	req := &structs.BlobSweepRequest{Now: time.Now().UTC(), Retention: s.blobRetention(), Servers: servers}
	n, err := s.State().Snapshot().BlobSweepChanges(req)
	if err != nil || n == 0 {
		return err
	}
	resp, _, err := s.apply(fsm.BlobSweep, req)
	if err != nil {
		return fmt.Errorf("blob sweep: %w", err)
	}
	if r, ok := resp.(*structs.BlobSweepResponse); ok && (len(r.Tombstoned) > 0 || r.Removed > 0) {
		s.logger.Info("garbage-collected unreferenced blobs", "deleted", len(r.Tombstoned), "rows_removed", r.Removed,
			"retention", req.Retention)
	}
	return nil
}

// removeTombstoned removes this server's copy of a tombstoned blob and
// drops its holding. A copy newer than the tombstone was uploaded again:
// it is recorded, which revives the blob.
func (s *Server) removeTombstoned(ctx context.Context, b *structs.Blob) error {
	fi, err := os.Stat(s.blobs.path(b.Digest))
	switch {
	case err == nil && fi.ModTime().After(b.DeleteTime):
		return s.recordBlob(ctx, b.Digest, fi.Size())
	case err == nil:
		if err := s.blobs.remove(b.Digest); err != nil {
			return err
		}
		s.blobm.mu.Lock()
		delete(s.blobm.verified, b.Digest)
		s.blobm.mu.Unlock()
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("stat blob %s: %w", b.Digest, err)
	}
	if !b.HeldBy(s.cfg.NodeName) {
		return nil
	}
	return s.dropBlob(ctx, b.Digest)
}

func (s *Server) scrubInterval() time.Duration {
	if s.cfg.BlobScrubInterval != 0 {
		return s.cfg.BlobScrubInterval
	}
	return DefaultBlobScrubInterval
}

// scrubLoop re-hashes every local copy once per scrub interval (a
// negative interval turns the scrub off).
func (s *Server) scrubLoop() {
	defer s.wg.Done()
	every := s.scrubInterval()
	if every < 0 {
		return
	}
	ctx, cancel := s.shutdownCtx()
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bad, err := s.scrubBlobs(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("blob scrub failed", "err", err)
		}
		if bad > 0 {
			s.logger.Warn("blob scrub found corrupt copies", "corrupt", bad)
		}
	}
}

// scrubBlobs hashes every local copy, whatever the verified cache says,
// and quarantines the corrupt ones. It returns how many were corrupt.
func (s *Server) scrubBlobs(ctx context.Context) (int, error) {
	digests, err := s.blobs.localDigests()
	if err != nil {
		return 0, err
	}
	bad := 0
	for _, d := range digests {
		if ctx.Err() != nil {
			return bad, ctx.Err()
		}
		s.blobm.mu.Lock()
		delete(s.blobm.verified, d)
		s.blobm.mu.Unlock()
		f, err := s.openVerified(ctx, d)
		if err != nil {
			if structs.CodeOf(err) == structs.CodeNotFound {
				if _, serr := os.Stat(s.blobs.path(d)); errors.Is(serr, os.ErrNotExist) {
					bad++ // quarantined (or removed meanwhile)
				}
				continue
			}
			return bad, err
		}
		f.Close()
	}
	return bad, nil
}
