package state

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A batch applies each node's report as if it had an entry of its own: a
// report UpdateAllocs would refuse is answered with that error and skipped,
// and the others apply, each at its own time.
func TestUpdateAllocsBatch(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	f.node(testNode("n2", 4))
	j1, a1 := f.start(newJob("a").Build(), "n1")
	_, a2 := f.start(newJob("b").Build(), "n2")
	_, a3 := f.start(newJob("c").Build(), "n2")
	report := func(node string, now time.Time, ids []string, st structs.AllocStatus) *structs.AllocUpdateRequest {
		r := &structs.AllocUpdateRequest{NodeID: node, Now: now}
		for _, id := range ids {
			r.Updates = append(r.Updates, &structs.AllocUpdate{AllocID: id, Client: structs.ClientStatusFields{Status: st, ExitCode: exit(0)}})
		}
		return r
	}
	t1, t2 := t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	reqs := []*structs.AllocUpdateRequest{
		report("n1", t1, []string{a1}, structs.AllocComplete),
		report("n1", t1, []string{a2}, structs.AllocRunning),        // not n1's: refused
		report("n2", t1, []string{a2, "9.1"}, structs.AllocRunning), // one unknown: all of it refused
		report("n2", t2, []string{a3}, structs.AllocRunning),
		report("n2", t2, []string{a3}, "exploded"),
		nil,
	}
	errs, err := f.s.UpdateAllocsBatch(f.next(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, structs.ErrNotFound, structs.ErrNotFound, nil, structs.ErrInvalid, structs.ErrInvalid}
	if len(errs) != len(want) {
		t.Fatalf("%d answers for %d requests", len(errs), len(reqs))
	}
	for i := range want {
		if (want[i] == nil) != (errs[i] == nil) || (want[i] != nil && !errors.Is(errs[i], want[i])) {
			t.Errorf("request %d: %v, want %v", i, errs[i], want[i])
		}
	}
	if a := f.allocByID(a1); a.ClientStatus.Status != structs.AllocComplete || !a.ClientStatus.EndTime.Equal(t1) {
		t.Errorf("alloc %s: %s ended %v, want complete at %v", a1, a.ClientStatus.Status, a.ClientStatus.EndTime, t1)
	}
	if j := f.job(j1); j.Status != structs.JobComplete {
		t.Errorf("job %s is %s, want complete", j1, j.Status)
	}
	if got := f.allocByID(a2).ClientStatus.Status; got != structs.AllocPending {
		t.Errorf("refused reports changed alloc %s to %s", a2, got)
	}
	if got := f.allocByID(a3).ClientStatus.Status; got != structs.AllocRunning {
		t.Errorf("alloc %s is %s, want running", a3, got)
	}

	if _, err := f.s.UpdateAllocsBatch(f.next(), nil); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("empty batch: %v, want invalid", err)
	}
}

// BenchmarkReports applies 200 nodes' reports (one allocation each, as
// running) in batches of 1 (separate AllocUpdate entries: one transaction
// each), of 16 (the servers' maxReportBatch) and of all 200, as
// UpdateAllocsBatch does.
//
// 2 shared cores, load 0.5-1.6: one by one 8.2-9.1 ms, 4.6 MB, 54k
// allocs; in batches of 16 4.4-4.7 ms, 2.2 MB, 23k allocs; one batch of
// 200 3.9-4.9 ms, 1.9 MB, 20k allocs (memdb copies each tree path once per
// transaction, and the index table is written once per transaction).
func BenchmarkReports(b *testing.B) {
	const nodes = 200
	for _, size := range []int{1, 16, nodes} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				f := newFixture(b)
				var reqs []*structs.AllocUpdateRequest
				for i := range nodes {
					id := fmt.Sprintf("n%d", i)
					f.node(testNode(id, 4))
					_, a := f.start(newJob(fmt.Sprintf("j%d", i)).Build(), id)
					reqs = append(reqs, &structs.AllocUpdateRequest{NodeID: id, Now: t0.Add(time.Hour),
						Updates: []*structs.AllocUpdate{{AllocID: a, Client: structs.ClientStatusFields{Status: structs.AllocRunning}}}})
				}
				b.StartTimer()
				for batch := range slices.Chunk(reqs, size) {
					if size == 1 {
						if err := f.s.UpdateAllocs(f.next(), batch[0]); err != nil {
							b.Fatal(err)
						}
						continue
					}
					if _, err := f.s.UpdateAllocsBatch(f.next(), batch); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
