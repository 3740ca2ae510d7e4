package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// A story of the two Slurm-compatibility gates. Two nodes of 8 GPUs. Alice
// submits three "nightly" singleton jobs, Bob an exclusive benchmark,
// Carol four 2-GPU jobs, in that order.
func TestSingletonAndExclusiveStory(t *testing.T) {
	h := newHarness(t)
	h.addNodes(2, newNode("n").GPUs(8))
	h.submit(newJob().Name("nightly").Singleton().TimeLimit(time.Hour),
		newJob().Name("nightly").Singleton().TimeLimit(time.Hour),
		newJob().Name("nightly").Singleton().TimeLimit(time.Hour))
	h.submit(newJob().Name("bench").User("bob").GPUs(2).Exclusive().TimeLimit(2 * time.Hour))
	h.submit(newJob().Name("c").User("carol").GPUs(2).TimeLimit(3*time.Hour),
		newJob().Name("c").User("carol").GPUs(2).TimeLimit(3*time.Hour),
		newJob().Name("c").User("carol").GPUs(2).TimeLimit(3*time.Hour),
		newJob().Name("c").User("carol").GPUs(2).TimeLimit(3*time.Hour))
	cfg := DefaultConfig()

	// Pass 1: the first nightly job starts on n1, the benchmark takes the
	// idle n2 to itself, Carol fills n1 but for one GPU; her last job waits.
	p := h.plan(cfg)
	want := map[string]string{"1": "n1:[0]", "4": "n2:[0 1]", "5": "n1:[1 2]", "6": "n1:[3 4]", "7": "n1:[5 6]"}
	if diff := cmp.Diff(want, placed(p)); diff != "" {
		t.Fatalf("pass 1 placements (-want +got):\n%s", diff)
	}
	for _, id := range []string{"2", "3"} {
		if w := waitOf(t, p, id); w.Reason != `Dependency: singleton: waiting for job 1 (same name "nightly" and user alice) to end` {
			t.Errorf("pass 1: nightly job %s waits %q", id, w.Reason)
		}
	}
	w := waitOf(t, p, "8")
	if w.Code != structs.WaitResources || structs.FormatNodeFilters(w.NodeFilters) != "1 node: running an exclusive job; 1 node: not enough free GPUs" {
		t.Errorf("pass 1: carol's last job waits %q with %v", w.Reason, w.NodeFilters)
	}
	h.apply(p)

	// The first nightly job ends: the second starts, the third still waits
	// for it.
	h.now = h.now.Add(50 * time.Minute)
	h.finish("1", structs.JobComplete)
	p = h.plan(cfg)
	if diff := cmp.Diff(map[string]string{"2": "n1:[0]"}, placed(p)); diff != "" {
		t.Fatalf("pass 2 placements (-want +got):\n%s", diff)
	}
	if w := waitOf(t, p, "3"); w.Reason != `Dependency: singleton: waiting for job 2 (same name "nightly" and user alice) to end` {
		t.Errorf("pass 2: nightly job 3 waits %q", w.Reason)
	}
	h.apply(p)

	// The benchmark ends: its node is free for everyone again.
	h.now = h.now.Add(time.Hour)
	h.finish("4", structs.JobComplete)
	p = h.plan(cfg)
	if got := placed(p); got["8"] != "n2:[0 1]" || len(got) != 1 {
		t.Fatalf("pass 3 placements %v, want carol's last job on n2", got)
	}
	h.apply(p)

	// The second nightly job ends: the third starts.
	h.finish("2", structs.JobComplete)
	p = h.plan(cfg)
	if got := placed(p); got["3"] == "" || len(got) != 1 {
		t.Fatalf("pass 4 placements %v, want the third nightly job", got)
	}
}

// Many passes with singleton and exclusive jobs mixed in: after every pass
// no node an exclusive job holds has any other holder, no singleton starts
// beside a job of its name and user, singletons of a name start in submit
// order, and every job finishes.
func TestManyPassesSingletonExclusive(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"strict", strict()}, {"default", DefaultConfig()}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(4, newNode("n").GPUs(8).NVLinkPairs())
			rng := rand.New(rand.NewPCG(3, 4))
			runFor := map[string]time.Duration{}
			for i := 0; i < 80; i++ {
				b := newJob().GPUs(1 + rng.IntN(4)).User([]string{"ann", "bob"}[rng.IntN(2)]).
					Name([]string{"a", "b", "c"}[rng.IntN(3)]).TimeLimit(time.Duration(1+rng.IntN(4)) * time.Hour)
				if rng.IntN(3) == 0 {
					b.Singleton()
				}
				if rng.IntN(6) == 0 {
					b.Exclusive()
				}
				j := h.submit(b)[0]
				runFor[j.ID] = time.Duration(1+rng.IntN(40)) * 5 * time.Minute
			}
			started := map[nameUser][]*structs.Job{}
			for round := 0; round < 500 && len(h.st.PendingJobs()) > 0; round++ {
				p := h.plan(tc.cfg)
				live := map[nameUser]bool{}
				for _, a := range h.st.LiveAllocs() {
					j := h.st.jobs[a.JobID]
					live[nameUser{j.Name, j.User}] = true
				}
				seen := map[string]bool{}
				for _, pl := range p.Placements {
					j := h.st.jobs[pl.JobID]
					k := nameUser{j.Name, j.User}
					if seen[j.ID] {
						continue
					}
					seen[j.ID] = true
					if j.Singleton {
						if live[k] {
							t.Fatalf("round %d: singleton %s starts beside a job of %v", round, j.ID, k)
						}
						started[k] = append(started[k], j)
					}
					live[k] = true
				}
				h.apply(p)
				holders, excl := map[string]int{}, map[string]bool{}
				for _, a := range h.st.LiveAllocs() {
					holders[a.NodeID]++
					excl[a.NodeID] = excl[a.NodeID] || a.Resources.Exclusive
				}
				for n := range excl {
					if excl[n] && holders[n] > 1 {
						t.Fatalf("round %d: node %s holds an exclusive job and %d others", round, n, holders[n]-1)
					}
				}
				next := time.Time{}
				for _, a := range h.st.LiveAllocs() {
					if end := a.ClientStatus.StartTime.Add(runFor[a.JobID]); next.IsZero() || end.Before(next) {
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
			for k, js := range started {
				for i := 1; i < len(js); i++ {
					if submittedBefore(js[i], js[i-1]) {
						t.Errorf("singletons of %v started out of submit order: %s before %s", k, js[i-1].ID, js[i].ID)
					}
				}
			}
		})
	}
}
