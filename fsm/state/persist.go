package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// persistVersion is the format of the stream Persist writes. Restore reads
// it and every older version, and refuses newer ones rather than guess.
const persistVersion = 2

// record is one line of the persisted stream (JSON lines). The stream is a
// header, then one row record per row of every table in tableDefs order,
// then an end record with the number of rows, so a truncated snapshot is
// detected instead of restored half.
type record struct {
	Type    string          `json:"type"` // header, row, end
	Version int             `json:"version,omitempty"`
	Table   string          `json:"table,omitempty"`
	Row     json.RawMessage `json:"row,omitempty"`
	Rows    int             `json:"rows,omitempty"`
}

const (
	recHeader = "header"
	recRow    = "row"
	recEnd    = "end"
)

// Persist writes the whole current state to w.
func (s *Store) Persist(w io.Writer) error { return s.Snapshot().Persist(w) }

// Persist writes every table of this view to w, walking the schema.
func (sn *Snapshot) Persist(w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(&record{Type: recHeader, Version: persistVersion}); err != nil {
		return fmt.Errorf("persist header: %w", err)
	}
	rows := 0
	for _, d := range tableDefs() {
		if d.derived {
			continue
		}
		name := d.schema.Name
		it, err := sn.txn.Get(name, "id")
		if err != nil {
			return fmt.Errorf("persist %s: %w", name, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			b, err := json.Marshal(raw)
			if err != nil {
				return fmt.Errorf("persist %s row: %w", name, err)
			}
			if err := enc.Encode(&record{Type: recRow, Table: name, Row: b}); err != nil {
				return fmt.Errorf("persist %s row: %w", name, err)
			}
			rows++
		}
	}
	if err := enc.Encode(&record{Type: recEnd, Rows: rows}); err != nil {
		return fmt.Errorf("persist end: %w", err)
	}
	return nil
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

// rebuildDerived computes the derived tables (tableDef.derived) from the
// rows just restored.
func rebuildDerived(txn *memdb.Txn) error {
	it, err := txn.Get(tableAllocs, "id")
	if err != nil {
		return fmt.Errorf("restore state: rebuild node allocation ends: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if a := raw.(*structs.Allocation); a.Terminal() {
			if err := noteAllocEnd(txn, a); err != nil {
				return fmt.Errorf("restore state: %w", err)
			}
		}
	}
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
	var head record
	if err := dec.Decode(&head); err != nil {
		return nil, fmt.Errorf("restore state: read header: %w", err)
	}
	if head.Type != recHeader {
		return nil, fmt.Errorf("restore state: expected a %q record first, got %q", recHeader, head.Type)
	}
	switch head.Version {
	case 1:
		if err := readV1(dec, txn); err != nil {
			return nil, err
		}
		return db, nil
	case persistVersion:
	default:
		return nil, fmt.Errorf("restore state: snapshot format version %d is not supported (this server reads 1 to %d): it was written by a newer nai", head.Version, persistVersion)
	}
	defs := map[string]tableDef{}
	for _, d := range tableDefs() {
		defs[d.schema.Name] = d
	}
	for n := 1; ; n++ {
		var rec record
		if err := dec.Decode(&rec); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("restore state: the snapshot ends after %d records without its end record", n)
			}
			return nil, fmt.Errorf("restore state: record %d: %w", n, err)
		}
		switch rec.Type {
		case recEnd:
			if rec.Rows != n-1 {
				return nil, fmt.Errorf("restore state: the end record counts %d rows, the snapshot holds %d", rec.Rows, n-1)
			}
			if err := rebuildDerived(txn); err != nil {
				return nil, err
			}
			txn.Commit()
			return db, nil
		case recRow:
		default:
			return nil, fmt.Errorf("restore state: record %d has unknown type %q", n, rec.Type)
		}
		d, ok := defs[rec.Table]
		if !ok || d.derived {
			return nil, fmt.Errorf("restore state: record %d belongs to table %q, which this server does not know (a newer nai wrote it)", n, rec.Table)
		}
		row := d.newRow()
		if err := json.Unmarshal(rec.Row, row); err != nil {
			return nil, fmt.Errorf("restore state: record %d (%s): %w", n, rec.Table, err)
		}
		if err := txn.Insert(rec.Table, row); err != nil {
			return nil, fmt.Errorf("restore state: record %d (%s): %w", n, rec.Table, err)
		}
	}
}
