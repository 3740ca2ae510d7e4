package blobstore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/hashicorp/go-memdb"
	"golang.org/x/sync/singleflight"

	"github.com/nai-project/nai/structs"
)

// Defaults of ReplicatorConfig.
const (
	DefaultRecheckInterval = 5 * time.Second
	DefaultScrubInterval   = 24 * time.Hour
)

// debounce gathers a burst of table changes into one reconcile: one upload
// brings a holding from every server.
const debounce = 20 * time.Millisecond

// Table is the cluster's blobs table as the replicator reads it: a
// state snapshot (fsm/state's *Snapshot has these methods). A method adds
// the rows' watch channels to ws when ws is not nil.
type Table interface {
	Blobs(ws memdb.WatchSet) ([]*structs.Blob, error)
	BlobByDigest(ws memdb.WatchSet, digest string) (*structs.Blob, error)
}

// Peers is how this server sees the other servers.
type Peers interface {
	// Servers lists every server of the cluster, this one included; empty
	// for a server on its own (or when the list cannot be read now).
	Servers() []string
	// Alive reports whether another server can be asked for blobs now.
	Alive(name string) bool
	// Fetch opens the named server's own verified copy of digest (it
	// must neither forward the request nor fetch in turn).
	Fetch(ctx context.Context, name, digest string) (io.ReadCloser, error)
}

// Recorder records in the cluster's state which blobs this server holds
// (through the raft leader, wherever it is).
type Recorder interface {
	Hold(ctx context.Context, digest string, size int64) error
	Drop(ctx context.Context, digest string) error
}

// ReplicatorConfig configures a Replicator.
type ReplicatorConfig struct {
	// Self is this server's name, as in Peers.Servers and blob holders.
	Self  string
	Store *Store
	// State returns the newest table; it is called once per use.
	State    func() Table
	Peers    Peers
	Recorder Recorder
	// Replicas is how many copies of each blob are wanted (0: one on
	// every server).
	Replicas int
	// Recheck is how often the loop reconciles besides table changes
	// (0: DefaultRecheckInterval); it is also the first back-off of a
	// blob nobody could provide.
	Recheck time.Duration
	// Scrub is how often every local copy is hashed again (0:
	// DefaultScrubInterval; negative: never).
	Scrub  time.Duration
	Logger *slog.Logger
}

// Replicator keeps a server's Store in line with the blobs table.
type Replicator struct {
	cfg   ReplicatorConfig
	store *Store
	log   *slog.Logger
	wake  chan struct{}

	// life bounds fetches, which outlive the request that started them
	// (another may be waiting for the same blob); Close ends it.
	life   context.Context
	cancel context.CancelFunc

	flight  singleflight.Group
	backoff backoff
}

// NewReplicator makes a replicator; Run starts its loops, Close ends the
// fetches it has under way.
func NewReplicator(cfg ReplicatorConfig) *Replicator {
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheckInterval
	}
	if cfg.Scrub == 0 {
		cfg.Scrub = DefaultScrubInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	life, cancel := context.WithCancel(context.Background())
	return &Replicator{
		cfg:     cfg,
		store:   cfg.Store,
		log:     cfg.Logger,
		wake:    make(chan struct{}, 1),
		life:    life,
		cancel:  cancel,
		backoff: backoff{failed: map[string]retry{}, first: cfg.Recheck, now: time.Now},
	}
}

// Store is the store the replicator keeps.
func (r *Replicator) Store() *Store { return r.store }

// Close ends the fetches under way.
func (r *Replicator) Close() { r.cancel() }

// Poke wakes the loop for a reconcile now.
func (r *Replicator) Poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run reconciles on every change of the table, every Poke and every
// Recheck interval, and scrubs every Scrub interval, until ctx ends.
func (r *Replicator) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.scrubLoop(ctx)
	}()
	defer func() { <-done }()
	for {
		ws := memdb.NewWatchSet()
		if err := r.Reconcile(ctx, ws); err != nil && ctx.Err() == nil {
			r.log.Warn("blob reconcile failed", "err", err)
		}
		wctx, wcancel := context.WithTimeout(ctx, r.cfg.Recheck)
		woken := false
		select {
		case <-ws.WatchCh(wctx):
			woken = true
		case <-r.wake:
		case <-ctx.Done():
		}
		wcancel()
		if woken {
			select {
			case <-time.After(debounce):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Reconcile brings the store in line with the table once: it fetches the
// blobs this server should hold, removes tombstoned ones, drops holdings
// whose file is gone, and records verified local copies the table does
// not list. ws, when not nil, is filled with the table's watch.
func (r *Replicator) Reconcile(ctx context.Context, ws memdb.WatchSet) error {
	rows, err := r.cfg.State().Blobs(ws)
	if err != nil {
		return err
	}
	// Listed after the table: a copy recorded in it was written before
	// it, so a held copy missing here is really gone.
	local, err := r.store.List()
	if err != nil {
		return err
	}
	onDisk := make(map[string]bool, len(local))
	for _, d := range local {
		onDisk[d] = true
	}
	self := r.cfg.Self
	servers, wanted := r.placement()
	byDigest := make(map[string]*structs.Blob, len(rows))
	var errs []error
	for _, b := range rows {
		byDigest[b.Digest] = b
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if b.Deleted {
			if err := r.removeTombstoned(ctx, b); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if b.HeldBy(self) {
			// A copy recorded but gone (removed by hand, or lost in a
			// race with garbage collection): say so, then copy again.
			if !onDisk[b.Digest] {
				r.log.Warn("blob recorded as held here is missing from disk; dropping the holding", "digest", b.Digest)
				if err := r.cfg.Recorder.Drop(ctx, b.Digest); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if !shouldHold(b, self, servers, wanted, r.alive) || r.backoff.waiting(b.Digest) {
			continue
		}
		if err := r.Ensure(ctx, b.Digest); err != nil {
			errs = append(errs, err)
		}
	}
	r.backoff.keepOnly(byDigest)
	for _, d := range local {
		if b := byDigest[d]; b != nil && (b.Deleted || b.HeldBy(self)) {
			continue
		}
		// A copy the table does not list as ours: kept from before the
		// table existed, or a holding forgotten. Record it once verified.
		if err := r.adopt(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTombstoned removes this server's copy of a tombstoned blob and
// drops its holding. A copy newer than the tombstone was uploaded again:
// it is recorded, which revives the blob.
func (r *Replicator) removeTombstoned(ctx context.Context, b *structs.Blob) error {
	fi, err := r.store.Stat(b.Digest)
	switch {
	case err == nil && fi.ModTime().After(b.DeleteTime):
		return r.cfg.Recorder.Hold(ctx, b.Digest, fi.Size())
	case err == nil:
		if err := r.store.Remove(b.Digest); err != nil {
			return err
		}
	case structs.CodeOf(err) != structs.CodeNotFound:
		return err
	}
	if !b.HeldBy(r.cfg.Self) {
		return nil
	}
	return r.cfg.Recorder.Drop(ctx, b.Digest)
}

// adopt records a local copy after checking its content.
func (r *Replicator) adopt(ctx context.Context, digest string) error {
	f, err := r.OpenLocal(ctx, digest)
	if err != nil {
		if structs.CodeOf(err) == structs.CodeNotFound {
			return nil // gone or corrupt (and removed) meanwhile
		}
		return err
	}
	size, err := closeSize(f, digest)
	if err != nil {
		return err
	}
	return r.cfg.Recorder.Hold(ctx, digest, size)
}
