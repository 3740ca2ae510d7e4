package state

import (
	"bytes"
	"strings"
	"testing"
)

// Inspect counts what Restore would load, and refuses what Restore would
// refuse.
func TestInspect(t *testing.T) {
	f := populated(t)
	var buf bytes.Buffer
	if err := f.s.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	tables, err := Inspect(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// Derived tables are rebuilt on restore, not part of a snapshot.
	var defs []tableDef
	for _, d := range tableDefs() {
		if !d.derived {
			defs = append(defs, d)
		}
	}
	if len(tables) != len(defs) {
		t.Fatalf("%d tables, want one per persisted table of the schema (%d)", len(tables), len(defs))
	}
	total := 0
	for i, tb := range tables {
		if tb.Name != defs[i].schema.Name {
			t.Errorf("table %d is %s, want %s (persist order)", i, tb.Name, defs[i].schema.Name)
		}
		txn := f.s.Snapshot().txn
		it, err := txn.Get(tb.Name, "id")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for raw := it.Next(); raw != nil; raw = it.Next() {
			n++
		}
		if tb.Rows != n {
			t.Errorf("table %s: %d rows, the store has %d", tb.Name, tb.Rows, n)
		}
		total += tb.Rows
	}
	if total == 0 {
		t.Fatal("the populated store inspected as empty")
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	if _, err := Inspect(strings.NewReader(strings.Join(lines[:len(lines)-2], ""))); err == nil || !strings.Contains(err.Error(), "without its end record") {
		t.Errorf("a truncated stream: err = %v, want it refused", err)
	}
}
