package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// Many passes over a changing cluster, as the leader would run them: every
// plan keeps the invariants checked by the harness (no GPU given twice,
// every pending job accounted for once), and every job finishes.
func TestManyPassesKeepInvariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"strict", strict()}, {"default", DefaultConfig()}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(3, newNode("a").GPUs(8).NVLinkPairs()).addNodes(2, newNode("b").GPUs(4).Model("A100"))
			rng := rand.New(rand.NewPCG(1, 2))
			runFor := map[string]time.Duration{}
			for i := 0; i < 120; i++ {
				b := newJob().GPUs(1 + rng.IntN(8)).User([]string{"ann", "bob", "cy"}[rng.IntN(3)]).
					TimeLimit(time.Duration(1+rng.IntN(6)) * time.Hour).Priority(rng.IntN(100))
				if rng.IntN(10) == 0 {
					b.GPUs(8).Nodes(2)
				}
				if rng.IntN(8) == 0 {
					b.GPUs(1 + rng.IntN(4)).Model("A100")
				}
				j := h.submit(b)[0]
				runFor[j.ID] = time.Duration(1+rng.IntN(60)) * 5 * time.Minute
			}
			for round := 0; round < 500 && len(h.st.PendingJobs()) > 0; round++ {
				p := h.plan(tc.cfg)
				h.apply(p)
				// Jump to the next completion and end what is due.
				next := time.Time{}
				for _, a := range h.st.LiveAllocs() {
					end := a.ClientStatus.StartTime.Add(runFor[a.JobID])
					if next.IsZero() || end.Before(next) {
						next = end
					}
				}
				if next.IsZero() {
					t.Fatalf("round %d: nothing runs and %d jobs wait: %+v", round, len(h.st.PendingJobs()), p.Waiting)
				}
				h.now = next
				for _, a := range h.st.LiveAllocs() {
					if !a.ClientStatus.StartTime.Add(runFor[a.JobID]).After(h.now) {
						h.finish(a.JobID, structs.JobComplete)
					}
				}
			}
			if n := len(h.st.PendingJobs()); n != 0 {
				t.Fatalf("%d jobs never ran", n)
			}
		})
	}
}

// Running jobs without a time limit give no estimate, unless a default
// limit is configured.
func TestEstimateWithDefaultTimeLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  time.Duration
		want time.Time
	}{{"no default: unknown", 0, time.Time{}}, {"default 4h", 4 * time.Hour, t0.Add(3 * time.Hour)}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n").GPUs(2))
			h.running(newJob().GPUs(2), "n1", []int{0, 1}, t0.Add(-time.Hour))
			j := h.submit(newJob().GPUs(2))[0]
			cfg := DefaultConfig()
			cfg.DefaultTimeLimit = tc.def
			if got := waitOf(t, h.plan(cfg), j.ID).EstimatedStart; !got.Equal(tc.want) {
				t.Errorf("estimated start %v, want %v", got, tc.want)
			}
		})
	}
}

// A gang at the top gets a reservation on as many nodes as it needs, and
// backfill respects all of them.
func TestBackfillAroundGangReservation(t *testing.T) {
	h := newHarness(t)
	h.addNodes(3, newNode("n").GPUs(4))
	h.running(newJob().GPUs(4).TimeLimit(time.Hour), "n1", []int{0, 1, 2, 3}, t0)
	h.running(newJob().GPUs(2).TimeLimit(2*time.Hour), "n2", []int{0, 1}, t0)
	gang := h.submit(newJob().GPUs(4).Nodes(2).Priority(90))[0]
	short := h.submit(newJob().GPUs(2).TimeLimit(30 * time.Minute))[0] // ends before n1 frees
	long := h.submit(newJob().GPUs(4).TimeLimit(5 * time.Hour))[0]     // would take n3, which the gang needs
	p := h.plan(DefaultConfig())
	w := waitOf(t, p, gang.ID)
	if w.Code != structs.WaitResources || !w.EstimatedStart.Equal(t0.Add(time.Hour)) {
		t.Errorf("gang waits %+v, want Resources from %v", w, t0.Add(time.Hour))
	}
	if placed(p)[short.ID] == "" {
		t.Errorf("short job not backfilled: %+v", p)
	}
	if got := waits(p)[long.ID]; got != structs.WaitPriority {
		t.Errorf("long job: %q, want Priority", got)
	}
}
