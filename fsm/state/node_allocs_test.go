package state

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// A node's list holds its live allocations only, and its index moves when
// one ends (it leaves the list) as when one is written; both survive a
// snapshot, which does not carry the derived table of ends.
func TestNodeAllocsLiveAndEnds(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	f.node(testNode("n2", 4))
	_, keep := f.start(newJob("keep").GPUs(1).Build(), "n1", 0)
	_, ends := f.start(newJob("ends").GPUs(1).Build(), "n1", 1)
	_, other := f.start(newJob("other").GPUs(1).Build(), "n2", 0)

	check := func(s *Store, node string, wantIDs []string, wantIdx uint64) {
		t.Helper()
		allocs, idx, err := s.Snapshot().NodeAllocs(nil, node)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range allocs {
			ids = append(ids, a.ID)
		}
		if strings.Join(ids, ",") != strings.Join(wantIDs, ",") || idx != wantIdx {
			t.Errorf("node %s: allocations %v at index %d, want %v at %d", node, ids, idx, wantIDs, wantIdx)
		}
	}
	check(f.s, "n1", []string{keep, ends}, f.allocByID(ends).ModifyIndex)

	if err := f.report(ends, structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(1)}); err != nil {
		t.Fatal(err)
	}
	endedAt := f.index
	check(f.s, "n1", []string{keep}, endedAt)
	check(f.s, "n2", []string{other}, f.allocByID(other).ModifyIndex)
	// The plan check sees the GPU free again.
	if got := f.plan(f.alloc(f.register(newJob("next").GPUs(1).Build())[0], "n1", 1)); len(got) != 1 {
		t.Fatalf("a job on the ended allocation's GPU: applied %v", got)
	}

	var buf bytes.Buffer
	if err := f.s.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), tableNodeEnds) {
		t.Errorf("the snapshot carries the derived table %s", tableNodeEnds)
	}
	restored, err := Restore(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	live, idx, err := f.s.Snapshot().NodeAllocs(nil, "n1")
	if err != nil {
		t.Fatal(err)
	}
	var wantIDs []string
	for _, a := range live {
		wantIDs = append(wantIDs, a.ID)
	}
	check(restored, "n1", wantIDs, idx)
	// The rebuilt row is the end's index, not the live allocations'.
	raw, err := restored.Snapshot().txn.First(tableNodeEnds, "id", "n1")
	if err != nil || raw == nil || raw.(*NodeAllocEnd).Index != endedAt {
		t.Errorf("restored end of n1: %+v, %v, want index %d", raw, err, endedAt)
	}
	if raw, _ := restored.Snapshot().txn.First(tableNodeEnds, "id", "n2"); raw != nil {
		t.Errorf("n2, where nothing ended, has an end row after restore: %+v", raw)
	}
}
