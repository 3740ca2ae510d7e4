package state

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/structs"
)

// Store is the state store. Its methods are safe for concurrent use; writes
// are expected from one goroutine (the FSM), reads from anywhere.
type Store struct {
	// mu guards db and abandonCh, which Restore replaces; memdb itself
	// serialises writers and isolates readers.
	mu        sync.RWMutex
	db        *memdb.MemDB
	abandonCh chan struct{}
	// jobEnded, when set, hears of each job a committed write ended
	// (OnJobEnd).
	jobEnded atomic.Pointer[func(*structs.Job)]
}

// OnJobEnd has fn called after each committed write, once for every job
// that write ended: terminal after it, not before it (or new). It runs on
// the writer's goroutine (raft's apply loop), so it must be quick and must
// not write to the store; it changes nothing of what is written. A restore
// (a snapshot installed) replaces the state without calling it, and a job
// removed by GC is no ending. nil stops the calls.
func (s *Store) OnJobEnd(fn func(j *structs.Job)) {
	if fn == nil {
		s.jobEnded.Store(nil)
		return
	}
	s.jobEnded.Store(&fn)
}

// NewStore returns an empty store.
func NewStore() (*Store, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("create state store: %w", err)
	}
	return &Store{db: db, abandonCh: make(chan struct{})}, nil
}

// Snapshot is an immutable view of the state at one moment. It is cheap to
// take and needs no release. Objects it returns must not be changed.
type Snapshot struct {
	txn       *memdb.Txn
	abandonCh <-chan struct{}
}

// Snapshot returns a read view of the current state.
func (s *Store) Snapshot() *Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return &Snapshot{txn: s.db.Txn(false), abandonCh: s.abandonCh}
}

// AbandonCh is closed when the store this view was taken from is replaced
// by a restore: a watcher must take a new snapshot then.
func (sn *Snapshot) AbandonCh() <-chan struct{} { return sn.abandonCh }

// LatestIndex is the raft index of the newest write to any table.
func (s *Store) LatestIndex() uint64 { return s.Snapshot().Index() }

// Index is the raft index of the newest write to any table in this view.
func (sn *Snapshot) Index() uint64 {
	it, err := sn.txn.Get(tableIndex, "id")
	if err != nil {
		return 0
	}
	var latest uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		latest = max(latest, raw.(*IndexEntry).Index)
	}
	return latest
}

// TableIndex is the raft index of the newest write to one table (TableJobs,
// TableAllocs, TableNodes), or 0 when it was never written.
func (sn *Snapshot) TableIndex(table string) uint64 {
	raw, err := sn.txn.First(tableIndex, "id", table)
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*IndexEntry).Index
}

// BlockingQuery runs fn on a fresh snapshot. When fn returns an index above
// minIndex it returns at once; otherwise it waits until something fn added
// to the watch set changes (or the store is restored from a raft snapshot),
// then runs fn again. When ctx is done first it returns ctx.Err(); what the
// last run of fn read is still a valid answer to a wait that timed out (as
// Consul and Nomad answer one), and the error lets a caller whose client went
// away stop instead of asking again. minIndex 0 means "do not block".
func (s *Store) BlockingQuery(ctx context.Context, minIndex uint64, fn func(ws memdb.WatchSet, snap *Snapshot) (uint64, error)) error {
	for {
		snap := s.Snapshot()
		ws := memdb.NewWatchSet()
		ws.Add(snap.abandonCh)
		idx, err := fn(ws, snap)
		if err != nil {
			return err
		}
		if minIndex == 0 || idx > minIndex {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return err
		}
	}
}

// write runs fn in one write transaction, committing only when fn succeeds.
// It holds the read lock throughout, so a Restore cannot swap the database
// from under a write and lose it.
func (s *Store) write(fn func(txn *memdb.Txn) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	txn := s.db.Txn(true)
	defer txn.Abort()
	hook := s.jobEnded.Load()
	if hook != nil {
		txn.TrackChanges()
	}
	if err := fn(txn); err != nil {
		return err
	}
	txn.Commit()
	if hook != nil {
		for _, c := range txn.Changes() {
			if c.Table != tableJobs || c.After == nil {
				continue
			}
			j := c.After.(*structs.Job)
			if !j.Status.Terminal() {
				continue
			}
			if c.Before != nil && c.Before.(*structs.Job).Status.Terminal() {
				continue
			}
			(*hook)(j)
		}
	}
	return nil
}

// bumpIndex records that table changed at index.
func bumpIndex(txn *memdb.Txn, table string, index uint64) error {
	raw, err := txn.First(tableIndex, "id", table)
	if err != nil {
		return fmt.Errorf("read index of %s: %w", table, err)
	}
	if raw != nil && raw.(*IndexEntry).Index >= index {
		return nil
	}
	if err := txn.Insert(tableIndex, &IndexEntry{Table: table, Index: index}); err != nil {
		return fmt.Errorf("write index of %s: %w", table, err)
	}
	return nil
}

// reserveCounter takes the next n values of a counter at once (one write
// for a submission of n jobs) and returns the first.
func reserveCounter(txn *memdb.Txn, name string, n int) (uint64, error) {
	raw, err := txn.First(tableCounters, "id", name)
	if err != nil {
		return 0, fmt.Errorf("read counter %s: %w", name, err)
	}
	var v uint64
	if raw != nil {
		v = raw.(*Counter).Value
	}
	if err := txn.Insert(tableCounters, &Counter{Name: name, Value: v + uint64(n)}); err != nil {
		return 0, fmt.Errorf("write counter %s: %w", name, err)
	}
	return v + 1, nil
}

// WaitIndex waits until the state's newest index is at least index, or ctx
// ends.
func (s *Store) WaitIndex(ctx context.Context, index uint64) error {
	for {
		snap := s.Snapshot()
		if snap.Index() >= index {
			return nil
		}
		ws := memdb.NewWatchSet()
		ws.Add(snap.abandonCh)
		it, err := snap.txn.Get(tableIndex, "id")
		if err != nil {
			return err
		}
		ws.Add(it.WatchCh())
		if err := ws.WatchCtx(ctx); err != nil {
			return err
		}
	}
}
