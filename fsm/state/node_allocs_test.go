package state

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A node's list holds its live allocations only. Its index moves with
// what the servers change (a placement, a stop asked, an end they wrote or
// a report from elsewhere, which takes one out of the list), not with the
// node's own reports, which it knows. Both survive a snapshot, which does
// not carry the derived table of ends.
func TestNodeAllocsLiveAndEnds(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	f.node(testNode("n2", 4))
	_, keep := f.start(newJob("keep").GPUs(1).Build(), "n1", 0)
	_, ends := f.start(newJob("ends").GPUs(1).Build(), "n1", 1)
	_, own := f.start(newJob("own").GPUs(1).Build(), "n1", 2)
	ownPlaced := f.index
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
	check(f.s, "n1", []string{keep, ends, own}, f.allocByID(own).ModifyIndex)

	// n1's own reports, a start and an end: no news to n1.
	fromN1 := func(id string, cs structs.ClientStatusFields) {
		t.Helper()
		err := f.s.UpdateAllocs(f.next(), &structs.AllocUpdateRequest{NodeID: "n1", Now: t0.Add(time.Hour),
			Updates: []*structs.AllocUpdate{{AllocID: id, Client: cs}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	fromN1(keep, structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"loss": 1}})
	fromN1(own, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0)})
	if a := f.allocByID(own); a.ModifyIndex != f.index || a.ServerIndex != ownPlaced {
		t.Errorf("n1's report of %s: modify index %d, server index %d, want %d and its placement's %d", own, a.ModifyIndex, a.ServerIndex, f.index, ownPlaced)
	}
	// The newest change the servers made to n1's allocations: own's
	// placement, which n1 knew of before it reported own's end.
	check(f.s, "n1", []string{keep, ends}, ownPlaced)
	// A drain waits on every change, the node's own end of own included.
	if changed, err := f.s.Snapshot().NodeAllocsChanged(nil, "n1"); err != nil || changed != f.index {
		t.Errorf("n1's allocations changed at %d (%v), want %d, its report of %s's end", changed, err, f.index, own)
	}

	// A report with no node named (or another's) is news to n1.
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
	orig, _ := f.s.Snapshot().txn.First(tableNodeEnds, "id", "n1")
	if err != nil || raw == nil || orig == nil || *raw.(*NodeAllocEnd) != *orig.(*NodeAllocEnd) || raw.(*NodeAllocEnd).ServerIndex != endedAt {
		t.Errorf("restored end of n1: %+v, %v, want %+v, at server index %d", raw, err, orig, endedAt)
	}
	if raw, _ := restored.Snapshot().txn.First(tableNodeEnds, "id", "n2"); raw != nil {
		t.Errorf("n2, where nothing ended, has an end row after restore: %+v", raw)
	}
}
