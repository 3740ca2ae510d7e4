package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestPlanEntries(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	// allocs makes one allocation for each job size given: jobs 1, 2, ...
	// with that many members (a gang when more than one).
	allocs := func(sizes ...int) []*structs.Allocation {
		var out []*structs.Allocation
		for j, n := range sizes {
			for r := range n {
				id := fmt.Sprint(j + 1)
				out = append(out, &structs.Allocation{ID: fmt.Sprintf("%s.1.%d", id, r), JobID: id, Attempt: 1})
			}
		}
		return out
	}
	ones := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	waiting := func(n int) []structs.WaitStatus {
		var out []structs.WaitStatus
		for i := range n {
			out = append(out, structs.WaitStatus{JobID: fmt.Sprint(9000 + i), Reason: "no GPUs free"})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		req     *structs.PlanApplyRequest
		max     int
		entries []string // placements+waiting reasons in each entry
	}{
		{"at the bound: one entry", &structs.PlanApplyRequest{Allocs: allocs(ones(3)...), Waiting: waiting(1)}, 4, []string{"3+1"}},
		{"past it: entries of the bound", &structs.PlanApplyRequest{Allocs: allocs(ones(10)...), Waiting: waiting(1)}, 4, []string{"4+0", "4+0", "2+1"}},
		{"waiting reasons fill the room left, then entries of their own", &structs.PlanApplyRequest{Allocs: allocs(ones(5)...), Waiting: waiting(8)}, 4,
			[]string{"4+0", "1+3", "0+4", "0+1"}},
		{"waiting reasons alone", &structs.PlanApplyRequest{Waiting: waiting(9)}, 4, []string{"0+4", "0+4", "0+1"}},
		{"a gang is not split", &structs.PlanApplyRequest{Allocs: allocs(1, 1, 1, 3, 1)}, 4, []string{"3+0", "4+0"}},
		{"a gang larger than the bound goes alone", &structs.PlanApplyRequest{Allocs: allocs(1, 6, 1)}, 4, []string{"1+0", "6+0", "1+0"}},
		{"preemptions keep the plan whole", &structs.PlanApplyRequest{Allocs: allocs(ones(9)...), Waiting: waiting(3),
			Preempt: []structs.Preemption{{AllocID: "50.1"}}}, 4, []string{"9+3"}},
		{"cancels keep the plan whole", &structs.PlanApplyRequest{Allocs: allocs(ones(9)...),
			Cancel: []structs.WaitStatus{{JobID: "51", Reason: "never fits"}}}, 4, []string{"9+0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Now = now
			got := planEntries(tc.req, tc.max)
			var entries []string
			var all []*structs.Allocation
			var waits []structs.WaitStatus
			for i, e := range got {
				entries = append(entries, fmt.Sprintf("%d+%d", len(e.Allocs), len(e.Waiting)))
				all = append(all, e.Allocs...)
				waits = append(waits, e.Waiting...)
				if !e.Now.Equal(now) {
					t.Errorf("entry %d: now %v, want the plan's %v", i, e.Now, now)
				}
				if i > 0 && (len(e.Preempt) > 0 || len(e.Cancel) > 0) {
					t.Errorf("entry %d carries preemptions or cancels", i)
				}
				seen := map[string]int{}
				for _, a := range e.Allocs {
					seen[a.JobID]++
				}
				for _, a := range tc.req.Allocs {
					if n, ok := seen[a.JobID]; ok && n != countJob(tc.req.Allocs, a.JobID) {
						t.Errorf("entry %d holds %d of job %s's %d allocations", i, n, a.JobID, countJob(tc.req.Allocs, a.JobID))
					}
				}
			}
			if fmt.Sprint(entries) != fmt.Sprint(tc.entries) {
				t.Errorf("entries of %v placements+waiting reasons, want %v", entries, tc.entries)
			}
			if fmt.Sprint(waits) != fmt.Sprint(tc.req.Waiting) {
				t.Errorf("the entries' waiting reasons %v, the plan's %v", waits, tc.req.Waiting)
			}
			if len(all) != len(tc.req.Allocs) {
				t.Fatalf("%d placements in the entries, %d in the plan", len(all), len(tc.req.Allocs))
			}
			for i := range all {
				if all[i] != tc.req.Allocs[i] {
					t.Fatalf("placement %d is %s, the plan's is %s: the entries reorder the plan", i, all[i].ID, tc.req.Allocs[i].ID)
				}
			}
		})
	}
}

func countJob(allocs []*structs.Allocation, jobID string) int {
	n := 0
	for _, a := range allocs {
		if a.JobID == jobID {
			n++
		}
	}
	return n
}

// A pass that places more than maxPlanEntryAllocs jobs commits them in
// entries of at most that many, all of them placed.
func TestLargePlanGoesInEntries(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	const nodes, jobs = 80, maxPlanEntryAllocs + 88 // 640 GPUs
	for i := range nodes {
		if err := c.RegisterNode(ctx, testNode(fmt.Sprintf("n%02d", i), 8), ""); err != nil {
			t.Fatal(err)
		}
	}
	batch := make([]*structs.Job, jobs)
	for i := range batch {
		batch[i] = gpuJob(fmt.Sprintf("j%d", i), 1)
	}
	if _, err := c.Register(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	var live []*structs.Allocation
	waitUntil(t, "every job is placed", func() bool {
		var err error
		live, err = s.State().Snapshot().LiveAllocsList(nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(live) == jobs
	})
	perEntry := map[uint64]int{}
	for _, a := range live {
		perEntry[a.CreateIndex]++
	}
	for idx, n := range perEntry {
		if n > maxPlanEntryAllocs {
			t.Errorf("entry %d placed %d jobs, more than %d", idx, n, maxPlanEntryAllocs)
		}
	}
	if len(perEntry) < 2 {
		t.Errorf("%d jobs placed by %d entries: %v", jobs, len(perEntry), perEntry)
	}
}
