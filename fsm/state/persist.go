package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// persistVersion is the format of the stream Persist writes. Restore
// refuses other versions rather than guess.
const persistVersion = 1

// Record types of the persisted stream.
const (
	recHeader  = "header"
	recJob     = "job"
	recAlloc   = "alloc"
	recNode    = "node"
	recIndex   = "index"
	recCounter = "counter"
	recQueue   = "queue"
	recShare   = "share"
	recQuota   = "quota"
	recEnd     = "end"
)

// record is one line of the persisted stream: a type and one object. The
// stream starts with a header and ends with an end record, so a truncated
// snapshot is detected instead of restored half.
type record struct {
	Type     string                `json:"type"`
	Version  int                   `json:"version,omitempty"`
	Job      *structs.Job          `json:"job,omitempty"`
	Alloc    *structs.Allocation   `json:"alloc,omitempty"`
	Node     *structs.Node         `json:"node,omitempty"`
	Index    *IndexEntry           `json:"index,omitempty"`
	Counter  *Counter              `json:"counter,omitempty"`
	Queue    *structs.Queue        `json:"queue,omitempty"`
	Share    *structs.Share        `json:"share,omitempty"`
	Quota    *structs.AccountQuota `json:"quota,omitempty"`
	Artifact *structs.Artifact     `json:"artifact,omitempty"`
	Blob     *structs.Blob         `json:"blob,omitempty"`
}

// Persist writes the whole current state to w.
func (s *Store) Persist(w io.Writer) error { return s.Snapshot().Persist(w) }

// Persist writes every table of this view to w as a stream of typed
// records (JSON lines).
func (sn *Snapshot) Persist(w io.Writer) error {
	enc := json.NewEncoder(w)
	put := func(r *record) error {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("persist %s record: %w", r.Type, err)
		}
		return nil
	}
	if err := put(&record{Type: recHeader, Version: persistVersion}); err != nil {
		return err
	}
	tables := []struct {
		table string
		rec   func(any) *record
	}{
		{tableNodes, func(o any) *record { return &record{Type: recNode, Node: o.(*structs.Node)} }},
		{tableJobs, func(o any) *record { return &record{Type: recJob, Job: o.(*structs.Job)} }},
		{tableAllocs, func(o any) *record { return &record{Type: recAlloc, Alloc: o.(*structs.Allocation)} }},
		{tableIndex, func(o any) *record { return &record{Type: recIndex, Index: o.(*IndexEntry)} }},
		{tableCounters, func(o any) *record { return &record{Type: recCounter, Counter: o.(*Counter)} }},
		{tableQueues, func(o any) *record { return &record{Type: recQueue, Queue: o.(*structs.Queue)} }},
		{tableShares, func(o any) *record { return &record{Type: recShare, Share: o.(*structs.Share)} }},
		{tableQuotas, func(o any) *record { return &record{Type: recQuota, Quota: o.(*structs.AccountQuota)} }},
		{tableDatasets, func(o any) *record { return &record{Type: recArtifact, Artifact: o.(*structs.Artifact)} }},
		{tableModels, func(o any) *record { return &record{Type: recArtifact, Artifact: o.(*structs.Artifact)} }},
		{tableBlobs, func(o any) *record { return &record{Type: recBlob, Blob: o.(*structs.Blob)} }},
	}
	for _, t := range tables {
		it, err := sn.txn.Get(t.table, "id")
		if err != nil {
			return fmt.Errorf("persist %s: %w", t.table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if err := put(t.rec(raw)); err != nil {
				return err
			}
		}
	}
	return put(&record{Type: recEnd})
}

// Restore builds a new store from a stream written by Persist.
func Restore(r io.Reader) (*Store, error) {
	db, err := readDB(r)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, abandonCh: make(chan struct{})}, nil
}

// Restore replaces the whole contents of the store with a stream written by
// Persist. The stream is read into a fresh database first, so a bad stream
// leaves the store as it was; then the new contents are swapped in at once
// and every blocking query is woken to read them.
func (s *Store) Restore(r io.Reader) error {
	db, err := readDB(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.abandonCh
	s.db = db
	s.abandonCh = make(chan struct{})
	s.mu.Unlock()
	close(old)
	return nil
}

func readDB(r io.Reader) (*memdb.MemDB, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("restore state: %w", err)
	}
	txn := db.Txn(true)
	defer txn.Abort()
	dec := json.NewDecoder(r)
	n := 0
	for {
		var rec record
		if err := dec.Decode(&rec); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("restore state: the snapshot ends after %d records without its end record", n)
			}
			return nil, fmt.Errorf("restore state: record %d: %w", n, err)
		}
		n++
		if n == 1 {
			if rec.Type != recHeader {
				return nil, fmt.Errorf("restore state: expected a %q record first, got %q", recHeader, rec.Type)
			}
			if rec.Version != persistVersion {
				return nil, fmt.Errorf("restore state: snapshot format version %d is not supported (expected %d)", rec.Version, persistVersion)
			}
			continue
		}
		var table string
		var obj any
		switch {
		case rec.Type == recEnd:
			txn.Commit()
			return db, nil
		case rec.Type == recJob && rec.Job != nil:
			table, obj = tableJobs, rec.Job
		case rec.Type == recAlloc && rec.Alloc != nil:
			table, obj = tableAllocs, rec.Alloc
		case rec.Type == recNode && rec.Node != nil:
			table, obj = tableNodes, rec.Node
		case rec.Type == recIndex && rec.Index != nil:
			table, obj = tableIndex, rec.Index
		case rec.Type == recCounter && rec.Counter != nil:
			table, obj = tableCounters, rec.Counter
		case rec.Type == recQueue && rec.Queue != nil:
			table, obj = tableQueues, rec.Queue
		case rec.Type == recShare && rec.Share != nil:
			table, obj = tableShares, rec.Share
		case rec.Type == recQuota && rec.Quota != nil:
			table, obj = tableQuotas, rec.Quota
		case rec.Type == recArtifact && rec.Artifact != nil:
			t, err := artifactTable(rec.Artifact.Kind)
			if err != nil {
				return nil, fmt.Errorf("restore state: record %d: %w", n, err)
			}
			table, obj = t, rec.Artifact
		case rec.Type == recBlob && rec.Blob != nil:
			table, obj = tableBlobs, rec.Blob
		default:
			return nil, fmt.Errorf("restore state: record %d: unknown or empty record of type %q", n, rec.Type)
		}
		if err := txn.Insert(table, obj); err != nil {
			return nil, fmt.Errorf("restore state: record %d (%s): %w", n, rec.Type, err)
		}
	}
}
