package scheduler

import (
	"slices"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The estimates of jobs queued behind each other: each waiting job starts
// after the room the jobs before it were given (profile.go).
func TestEstimatesOfJobsBehindOthers(t *testing.T) {
	const none = time.Duration(-1)
	cases := []struct {
		name  string
		setup func(h *harness)
		cfg   Config
		want  map[string]time.Duration // job -> estimated start after t0; none: no estimate
	}{
		{
			name: "two 4-GPU jobs share the node once it frees, the third follows them",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(8))
				h.running(newJob().GPUs(8).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3, 4, 5, 6, 7}, t0.Add(-time.Hour))
				h.submit(newJob().GPUs(4).TimeLimit(2*time.Hour), newJob().GPUs(4).TimeLimit(2*time.Hour), newJob().GPUs(4).TimeLimit(2*time.Hour))
			},
			cfg:  DefaultConfig(),
			want: map[string]time.Duration{"2": time.Hour, "3": time.Hour, "4": 3 * time.Hour},
		},
		{
			name: "jobs behind a reserved whole node start after its hour",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(8))
				h.running(newJob().GPUs(8).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3, 4, 5, 6, 7}, t0.Add(-time.Hour))
				h.submit(newJob().GPUs(8).TimeLimit(time.Hour).Priority(90),
					newJob().GPUs(4).TimeLimit(time.Hour), newJob().GPUs(4).TimeLimit(time.Hour), newJob().GPUs(4).TimeLimit(time.Hour))
			},
			cfg:  DefaultConfig(),
			want: map[string]time.Duration{"2": time.Hour, "3": 2 * time.Hour, "4": 2 * time.Hour, "5": 3 * time.Hour},
		},
		{
			name: "strict priority gives the same order",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(8))
				h.running(newJob().GPUs(8).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3, 4, 5, 6, 7}, t0.Add(-time.Hour))
				h.submit(newJob().GPUs(8).TimeLimit(time.Hour), newJob().GPUs(4).TimeLimit(time.Hour), newJob().GPUs(4).TimeLimit(time.Hour))
			},
			cfg:  strict(),
			want: map[string]time.Duration{"2": time.Hour, "3": 2 * time.Hour, "4": 2 * time.Hour},
		},
		{
			name: "a short job fits before a gang's claim, a longer one after it",
			setup: func(h *harness) {
				h.addNodes(2, newNode("n").GPUs(4))
				h.running(newJob().GPUs(4).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3}, t0.Add(-time.Hour))
				h.running(newJob().GPUs(4).TimeLimit(3*time.Hour), "n2", []int{0, 1, 2, 3}, t0.Add(-time.Hour))
				h.submit(newJob().Nodes(2).GPUs(4).TimeLimit(time.Hour).Priority(90),
					newJob().GPUs(4).TimeLimit(time.Hour), newJob().GPUs(4).TimeLimit(2*time.Hour))
			},
			cfg:  DefaultConfig(),
			want: map[string]time.Duration{"3": 2 * time.Hour, "4": time.Hour, "5": 3 * time.Hour},
		},
		{
			name: "behind a job without a time limit there is no estimate",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(8))
				h.running(newJob().GPUs(8).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3, 4, 5, 6, 7}, t0.Add(-time.Hour))
				h.submit(newJob().GPUs(8).Priority(90), newJob().GPUs(1).TimeLimit(time.Hour))
			},
			cfg:  strict(),
			want: map[string]time.Duration{"2": time.Hour, "3": none},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			p := h.plan(tc.cfg)
			if len(p.Placements) != 0 {
				t.Fatalf("placed %v, want every job waiting", placed(p))
			}
			for id, after := range tc.want {
				got := waitOf(t, p, id).EstimatedStart
				switch {
				case after == none && !got.IsZero():
					t.Errorf("job %s: estimated start %v, want none", id, got)
				case after != none && !got.Equal(t0.Add(after)):
					t.Errorf("job %s: estimated start %v, want t0+%v", id, got, after)
				}
			}
			// The same input gives the same estimates.
			again := h.plan(tc.cfg)
			for i := range p.Waiting {
				if !p.Waiting[i].EstimatedStart.Equal(again.Waiting[i].EstimatedStart) {
					t.Errorf("job %s: %v, then %v", p.Waiting[i].JobID, p.Waiting[i].EstimatedStart, again.Waiting[i].EstimatedStart)
				}
			}
		})
	}
}

// Claiming room splits a node's steps where the claim starts and ends,
// and a fit needs the room for the whole duration.
func TestClaimSplitsSteps(t *testing.T) {
	two := &shape{key: shapeKey{gpu: structs.GPURequest{Count: 2}, cpu: 1, mem: 10}}
	four := &shape{key: shapeKey{gpu: structs.GPURequest{Count: 4}}}
	steps := []step{{at: 0, gpus: 4, cpu: 4, mem: 40}, {at: 100, gpus: 8, cpu: 8, mem: 80}}
	steps = claim(steps, 50, 150, two)
	want := []step{{0, 4, 4, 40}, {50, 2, 3, 30}, {100, 6, 7, 70}, {150, 8, 8, 80}}
	if !slices.Equal(steps, want) {
		t.Fatalf("claim: %v, want %v", steps, want)
	}
	var work int
	for _, c := range []struct {
		sh        *shape
		from, dur int64
		want      int64
	}{
		{two, 0, 50, 0},
		{four, 0, 50, 0},
		{four, 0, 60, 100}, // [0,60) crosses the claim at 50
		{four, 10, 10, 10},
	} {
		if at := earliestOn(steps, c.from, c.dur, c.sh, &work); at != c.want {
			t.Errorf("%d GPUs for %d from %d: fits at %d, want %d", c.sh.key.gpu.Count, c.dur, c.from, at, c.want)
		}
	}
	steps = claim(steps, 150, forever, &shape{key: shapeKey{gpu: structs.GPURequest{Count: 8}}})
	if at := earliestOn(steps, 0, 60, four, &work); at != forever {
		t.Errorf("with every GPU taken for ever from 150, 4 GPUs for 60 fit at %d, want never", at)
	}
	if at := earliestOn(steps, 60, 40, four, &work); at != 100 {
		t.Errorf("4 GPUs for 40 from 60 fit at %d, want 100", at)
	}
}

// On random clusters and queues, the profile changes estimates only, and
// only to later ones (or none, behind a job without a time limit): the
// placements, preemptions and reasons are the pass's own.
func TestRefinedEstimatesOnlyLater(t *testing.T) {
	later, cleared := 0, 0
	for seed := uint64(1); seed <= 300; seed++ {
		h := randomState(seed)
		for name, cfg := range replayConfigs() {
			first := cfg
			first.firstEstimates = true
			a, b := New(first).Plan(h.st, h.now), New(cfg).Plan(h.st, h.now)
			if !slices.EqualFunc(a.Placements, b.Placements, func(x, y structs.Placement) bool {
				return x.JobID == y.JobID && x.NodeID == y.NodeID && x.Rank == y.Rank && slices.Equal(x.GPUs, y.GPUs)
			}) {
				t.Fatalf("seed %d %s: placements differ", seed, name)
			}
			if len(a.Waiting) != len(b.Waiting) {
				t.Fatalf("seed %d %s: %d waiting, then %d", seed, name, len(a.Waiting), len(b.Waiting))
			}
			for i := range a.Waiting {
				x, y := a.Waiting[i], b.Waiting[i]
				if x.JobID != y.JobID || x.Code != y.Code || x.Reason != y.Reason {
					t.Fatalf("seed %d %s: wait %d is %+v, then %+v", seed, name, i, x, y)
				}
				if !y.EstimatedStart.IsZero() && y.EstimatedStart.Before(x.EstimatedStart) {
					t.Errorf("seed %d %s: job %s refined to %v, before its first estimate %v", seed, name, x.JobID, y.EstimatedStart, x.EstimatedStart)
				}
				if !y.EstimatedStart.IsZero() && x.EstimatedStart.IsZero() {
					t.Errorf("seed %d %s: job %s has an estimate only after refining", seed, name, x.JobID)
				}
				switch {
				case y.EstimatedStart.IsZero() && !x.EstimatedStart.IsZero():
					cleared++
				case y.EstimatedStart.After(x.EstimatedStart):
					later++
				}
			}
		}
	}
	// The states must exercise the profile, not pass by leaving it out
	// (no estimate is cleared here: every random job has a time limit).
	t.Logf("%d estimates later, %d cleared", later, cleared)
	if later == 0 {
		t.Error("no estimate moved: the random states do not exercise the profile")
	}
}

// A sweep behind full nodes: within the window the members' estimates
// follow the queue, the 72 GPUs that free up each hour taken in turn; past
// it a member keeps its first estimate (when one GPU frees up).
func TestSweepEstimatesFollowTheQueue(t *testing.T) {
	st := sweepBehindFullNodes(1000)
	p := New(DefaultConfig()).Plan(st, t0)
	if len(p.Placements) != 0 || len(p.Waiting) != 1000 {
		t.Fatalf("placed %d, waiting %d", len(p.Placements), len(p.Waiting))
	}
	count := map[time.Duration]int{}
	var last time.Time
	for i, w := range p.Waiting {
		if i >= maxRefined {
			if !w.EstimatedStart.Equal(t0.Add(time.Hour)) {
				t.Errorf("member %d, past the window: estimated start %v, want its first, t0+1h", i, w.EstimatedStart)
			}
			continue
		}
		if w.EstimatedStart.IsZero() || w.EstimatedStart.Before(last) {
			t.Fatalf("member %d: estimated start %v after %v: want one, never earlier than the member ahead", i, w.EstimatedStart, last)
		}
		last = w.EstimatedStart
		count[w.EstimatedStart.Sub(t0)]++
	}
	// 9 nodes free at 1h (72 GPUs), 9 more each hour after; what started
	// at 1h ends at 2h: 72 members at 1h, the rest of the window at 2h.
	if count[time.Hour] != 72 || count[2*time.Hour] != maxRefined-72 {
		t.Errorf("estimates in the window: %v, want 72 at 1h and %d at 2h", count, maxRefined-72)
	}
}
