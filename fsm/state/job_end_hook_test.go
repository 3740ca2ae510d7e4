package state

import (
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// OnJobEnd hears of each job a committed write ends, once: not of a
// write that fails, of a job already ended, or of a job GC removes.
func TestOnJobEnd(t *testing.T) {
	f := newFixture(t)
	var ended []string
	f.s.OnJobEnd(func(j *structs.Job) { ended = append(ended, j.ID+":"+string(j.Status)) })
	ids := f.register(newJob("a").Build(), newJob("b").Build())
	if len(ended) != 0 {
		t.Fatalf("a registration ended %v", ended)
	}
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: ids[:1], Now: t0}); err != nil {
		t.Fatal(err)
	}
	if len(ended) != 1 || ended[0] != ids[0]+":cancelled" {
		t.Fatalf("after a cancel: %v", ended)
	}
	// Cancelled again: no new ending.
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: ids[:1], Now: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GCJobs(f.next(), &structs.JobGCRequest{Before: t0.Add(time.Hour), Max: 10, Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(ended) != 1 {
		t.Fatalf("after a second cancel and a GC: %v", ended)
	}
	f.s.OnJobEnd(nil)
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: ids[1:], Now: t0}); err != nil {
		t.Fatal(err)
	}
	if len(ended) != 1 {
		t.Fatalf("after the hook was removed: %v", ended)
	}
}
