package blobstore

import (
	"context"
	"errors"
	"time"

	"github.com/nai-project/nai/structs"
)

// The scrub hashes every local copy, whatever the store remembers of it,
// so a copy that rotted without its file changing is found too.

func (r *Replicator) scrubLoop(ctx context.Context) {
	if r.cfg.Scrub < 0 {
		return
	}
	t := time.NewTicker(r.cfg.Scrub)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bad, err := r.Scrub(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("blob scrub failed", "err", err)
		}
		if bad > 0 {
			r.log.Warn("blob scrub found corrupt copies", "corrupt", bad)
		}
	}
}

// Scrub hashes every local copy and quarantines the corrupt ones. It
// returns how many were corrupt.
func (r *Replicator) Scrub(ctx context.Context) (int, error) {
	digests, err := r.store.List()
	if err != nil {
		return 0, err
	}
	bad := 0
	for _, d := range digests {
		if ctx.Err() != nil {
			return bad, ctx.Err()
		}
		err := r.store.Verify(d)
		var corrupt *CorruptError
		switch {
		case errors.As(err, &corrupt):
			bad++
			r.quarantined(ctx, d)
		case err != nil && structs.CodeOf(err) != structs.CodeNotFound: // not removed meanwhile
			return bad, err
		}
	}
	return bad, nil
}
