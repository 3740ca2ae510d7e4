package scheduler

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestFairShareMovesTheOrder(t *testing.T) {
	cases := []struct {
		name      string
		usage     map[string]float64
		wantFirst string
	}{
		{name: "no usage: submit order decides", usage: nil, wantFirst: "1"},
		{name: "alice used many GPU-hours: bob goes first", usage: map[string]float64{"alice": 100, "bob": 1}, wantFirst: "2"},
		{name: "bob used more: alice keeps her place", usage: map[string]float64{"alice": 1, "bob": 100}, wantFirst: "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n").GPUs(1))
			h.submit(newJob().User("alice"), newJob().User("bob"))
			cfg := DefaultConfig()
			if tc.usage != nil {
				u := NewUsage(cfg.FairShare.HalfLife, h.now)
				u.Users = tc.usage
				cfg.Usage = u
			}
			p := h.plan(cfg)
			if got := placed(p); len(got) != 1 || got[tc.wantFirst] == "" {
				t.Errorf("placed %v, want job %s first", got, tc.wantFirst)
			}
			order := New(cfg).Order(h.st, h.now)
			if order[0].ID != tc.wantFirst {
				t.Errorf("Order()[0] = %s, want %s", order[0].ID, tc.wantFirst)
			}
		})
	}
}

func TestFactors(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(8))
	j := h.submit(newJob().Priority(80).User("alice").Submitted(t0.Add(-84 * time.Hour)).GPUs(4))[0]
	cfg := DefaultConfig()
	cfg.Weights.JobSize = 100
	f := New(cfg).Factors(h.st, j, h.now)
	want := structs.PriorityFactors{JobID: j.ID, Age: 0.5, FairShare: 1, JobSize: 0.5, Job: 0.8, Weights: cfg.Weights,
		Priority: 0.5*cfg.Weights.Age + cfg.Weights.FairShare + 0.5*100 + 0.8*cfg.Weights.Job}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("factors (-want +got):\n%s", diff)
	}
}

func TestBackfill(t *testing.T) {
	// One 8-GPU node: A holds 4 GPUs for 2 more hours, B holds 2 for 1
	// more hour, 2 are free. The top job needs all 8: its reservation
	// starts in 2 hours.
	setup := func(h *harness, topGPUs int) {
		h.addNodes(1, newNode("n").GPUs(8))
		h.running(newJob().GPUs(4).TimeLimit(3*time.Hour), "n1", []int{0, 1, 2, 3}, t0.Add(-time.Hour))
		h.running(newJob().GPUs(2).TimeLimit(2*time.Hour), "n1", []int{4, 5}, t0.Add(-time.Hour))
		h.submit(newJob().GPUs(topGPUs).Priority(90).TimeLimit(time.Hour))
	}
	cases := []struct {
		name      string
		topGPUs   int
		backfill  bool
		candidate *jobBuilder
		want      structs.WaitCode // "" = starts now
	}{
		{"a short job that ends before the reservation starts", 8, true, newJob().GPUs(2).TimeLimit(90 * time.Minute), ""},
		{"a job that would delay the reservation waits", 8, true, newJob().GPUs(2).TimeLimit(3 * time.Hour), structs.WaitPriority},
		{"a job without a time limit would delay it too", 8, true, newJob().GPUs(1), structs.WaitPriority},
		{"a long job fits in what the reservation leaves spare", 6, true, newJob().GPUs(2).TimeLimit(5 * time.Hour), ""},
		{"a long job larger than the spare waits", 7, true, newJob().GPUs(2).TimeLimit(5 * time.Hour), structs.WaitPriority},
		{"without backfill even a short job waits", 8, false, newJob().GPUs(2).TimeLimit(10 * time.Minute), structs.WaitPriority},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			setup(h, tc.topGPUs)
			cand := h.submit(tc.candidate.Priority(10))[0]
			cfg := DefaultConfig()
			cfg.Backfill = tc.backfill
			p := h.plan(cfg)
			top := waitOf(t, p, "3")
			if top.Code != structs.WaitResources {
				t.Errorf("top job code = %s, want Resources", top.Code)
			}
			if want := t0.Add(2 * time.Hour); !top.EstimatedStart.Equal(want) {
				t.Errorf("top job estimated start = %v, want %v", top.EstimatedStart, want)
			}
			got := waits(p)[cand.ID]
			if got != tc.want {
				t.Errorf("candidate: got %q, want %q (plan %+v)", got, tc.want, p)
			}
			if tc.want == structs.WaitPriority {
				// The top job takes all but at most one GPU for its hour
				// from the reservation's start: the candidate's two come
				// after it.
				if w := waitOf(t, p, cand.ID); !w.EstimatedStart.Equal(t0.Add(3 * time.Hour)) {
					t.Errorf("candidate estimated start = %v, want the end of the top job's hour", w.EstimatedStart)
				}
			}
		})
	}
}

func TestPreemptionPicksCheapestVictims(t *testing.T) {
	queues := []structs.Queue{{Name: "low", PriorityTier: 0}, {Name: "high", PriorityTier: 1}}
	cases := []struct {
		name        string
		setup       func(h *harness)
		wantVictims []string
		wantCode    structs.WaitCode
	}{
		{
			name: "two young jobs instead of one old one",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(8))
				h.running(newJob().Queue("low").Preemptible().GPUs(4), "n1", []int{0, 1, 2, 3}, t0.Add(-10*time.Hour)) // 40 GPU-h
				h.running(newJob().Queue("low").Preemptible().GPUs(2), "n1", []int{4, 5}, t0.Add(-1*time.Hour))        // 2
				h.running(newJob().Queue("low").Preemptible().GPUs(2), "n1", []int{6, 7}, t0.Add(-2*time.Hour))        // 4
			},
			wantVictims: []string{"2.0", "3.0"},
		},
		{
			name: "the node where the least work is lost",
			setup: func(h *harness) {
				h.addNodes(2, newNode("n").GPUs(8))
				h.running(newJob().Queue("low").Preemptible().GPUs(4), "n1", []int{0, 1, 2, 3}, t0.Add(-10*time.Hour))
				h.running(newJob().Queue("low").Preemptible().GPUs(4), "n1", []int{4, 5, 6, 7}, t0.Add(-1*time.Hour))
				h.running(newJob().Queue("low").GPUs(4), "n2", []int{0, 1, 2, 3}, t0.Add(-time.Minute))
				h.running(newJob().Queue("low").Preemptible().GPUs(4), "n2", []int{4, 5, 6, 7}, t0.Add(-30*time.Minute))
			},
			wantVictims: []string{"4.0"},
		},
		{
			name: "jobs that are not preemptible are never victims",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(4))
				h.running(newJob().Queue("low").GPUs(4), "n1", []int{0, 1, 2, 3}, t0.Add(-time.Minute))
			},
			wantCode: structs.WaitResources,
		},
		{
			name: "jobs of the same tier are never victims",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(4))
				h.running(newJob().Queue("high").Preemptible().GPUs(4), "n1", []int{0, 1, 2, 3}, t0.Add(-time.Minute))
			},
			wantCode: structs.WaitResources,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			top := h.submit(newJob().Queue("high").GPUs(4))[0]
			cfg := DefaultConfig()
			cfg.Queues = queues
			p := h.plan(cfg)
			var got []string
			for _, pr := range p.Preempt {
				if pr.ForJobID != top.ID {
					t.Errorf("preemption %+v for the wrong job", pr)
				}
				got = append(got, pr.AllocID)
			}
			if diff := cmp.Diff(tc.wantVictims, got); diff != "" {
				t.Errorf("victims (-want +got):\n%s", diff)
			}
			if w := waitOf(t, p, top.ID); w.Code != structs.WaitResources {
				t.Errorf("preempting job waits with %s", w.Code)
			}
			if len(got) == 0 {
				return
			}
			// Next pass, while the victims stop: no new victims.
			h.apply(p)
			p2 := h.plan(cfg)
			if len(p2.Preempt) != 0 {
				t.Errorf("second pass preempts again: %+v", p2.Preempt)
			}
			// Once they are gone, the job starts.
			for _, id := range got {
				h.finish(id[:len(id)-2], structs.JobFailed)
			}
			if p3 := h.plan(cfg); placed(p3)[top.ID] == "" {
				t.Errorf("job did not start after its victims stopped: %+v", p3)
			}
		})
	}
}

func TestGangAllOrNothing(t *testing.T) {
	cases := []struct {
		name  string
		nodes int
		want  string
	}{
		{"three nodes asked, two free: nothing starts", 3, ""},
		{"two nodes asked, two free: both start with ranks", 2, "n2:[0 1 2 3 4 5 6 7] n3:[0 1 2 3 4 5 6 7]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(3, newNode("n").GPUs(8))
			h.running(newJob().GPUs(4), "n1", []int{0, 1, 2, 3}, t0)
			j := h.submit(newJob().GPUs(8).Nodes(tc.nodes))[0]
			p := h.plan(DefaultConfig())
			if got := placed(p)[j.ID]; got != tc.want {
				t.Errorf("placed %q, want %q", got, tc.want)
			}
			if tc.want == "" {
				w := waitOf(t, p, j.ID)
				if want := "Resources: needs 3 nodes with 8 GPUs free, 2 have them now"; w.Reason != want {
					t.Errorf("reason %q, want %q", w.Reason, want)
				}
				return
			}
			for r, pl := range p.Placements {
				if pl.Rank != r {
					t.Errorf("placement %d has rank %d", r, pl.Rank)
				}
			}
		})
	}
	t.Run("more nodes than the cluster has never fits", func(t *testing.T) {
		h := newHarness(t)
		h.addNodes(2, newNode("n").GPUs(8))
		j := h.submit(newJob().GPUs(8).Nodes(3))[0]
		w := waitOf(t, h.plan(DefaultConfig()), j.ID)
		if w.Code != structs.WaitNoNodeFits || w.Reason != "NoNodeFits: needs 3 nodes with 8 GPUs each, 2 ready nodes have that" {
			t.Errorf("got %+v", w)
		}
	})
}

func TestNVLinkChoice(t *testing.T) {
	cases := []struct {
		name string
		node *nodeBuilder
		busy []int
		gpus int
		want string
	}{
		{"3 GPUs on an empty paired node: a pair and one more", newNode("n").NVLinkPairs(), nil, 3, "n1:[0 1 2]"},
		{"3 GPUs: a whole free pair plus a GPU whose partner is busy", newNode("n").NVLinkPairs(), []int{0, 2}, 3, "n1:[1 4 5]"},
		{"2 GPUs: a connected pair, not two lone GPUs", newNode("n").NVLinkPairs(), []int{0, 2}, 2, "n1:[4 5]"},
		{"1 GPU: the one whose partner is busy, keeping pairs whole", newNode("n").NVLinkPairs(), []int{0}, 1, "n1:[1]"},
		{"NVSwitch: lowest indices", newNode("n").NVSwitch(), []int{1}, 3, "n1:[0 2 3]"},
		{"no topology: lowest indices", newNode("n"), []int{0}, 3, "n1:[1 2 3]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, tc.node)
			if tc.busy != nil {
				h.running(newJob().GPUs(len(tc.busy)), "n1", tc.busy, t0)
			}
			j := h.submit(newJob().GPUs(tc.gpus))[0]
			if got := placed(h.plan(DefaultConfig()))[j.ID]; got != tc.want {
				t.Errorf("placed %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGates(t *testing.T) {
	type want struct {
		code   structs.WaitCode // "" = placed
		cancel bool
		reason string
	}
	cases := []struct {
		name  string
		cfg   func(*Config)
		setup func(h *harness) string // returns the job under test
		want  want
	}{
		{"afterok a completed job runs", nil, func(h *harness) string {
			d := h.submit(newJob())[0]
			h.finish(d.ID, structs.JobComplete)
			return h.submit(newJob().After(structs.AfterOK, d.ID))[0].ID
		}, want{}},
		{"afterok a failed job is cancelled", nil, func(h *harness) string {
			d := h.submit(newJob())[0]
			h.finish(d.ID, structs.JobFailed)
			return h.submit(newJob().After(structs.AfterOK, d.ID))[0].ID
		}, want{code: structs.WaitDependency, cancel: true, reason: "DependencyNeverSatisfied"}},
		{"afternotok a failed job runs", nil, func(h *harness) string {
			d := h.submit(newJob())[0]
			h.finish(d.ID, structs.JobFailed)
			return h.submit(newJob().After(structs.AfterNotOK, d.ID))[0].ID
		}, want{}},
		{"afternotok a completed job is cancelled", nil, func(h *harness) string {
			d := h.submit(newJob())[0]
			h.finish(d.ID, structs.JobComplete)
			return h.submit(newJob().After(structs.AfterNotOK, d.ID))[0].ID
		}, want{code: structs.WaitDependency, cancel: true, reason: "DependencyNeverSatisfied"}},
		{"afterany a running job waits", nil, func(h *harness) string {
			d := h.running(newJob().GPUs(0), "n1", nil, t0)
			return h.submit(newJob().After(structs.AfterAny, d.ID))[0].ID
		}, want{code: structs.WaitDependency, reason: "Dependency: waiting for job 1 to end (afterany)"}},
		{"a dependency on an unknown job is cancelled", nil, func(h *harness) string {
			return h.submit(newJob().After(structs.AfterAny, "404"))[0].ID
		}, want{code: structs.WaitDependency, cancel: true, reason: "DependencyNeverSatisfied"}},
		{"a future begin time", nil, func(h *harness) string {
			return h.submit(newJob().BeginAt(t0.Add(time.Hour)))[0].ID
		}, want{code: structs.WaitBeginTime, reason: "BeginTime: starts no earlier than 2026-11-25T13:00:00Z"}},
		{"a past begin time runs", nil, func(h *harness) string {
			return h.submit(newJob().BeginAt(t0.Add(-time.Hour)))[0].ID
		}, want{}},
		{"sweep at max_parallel", nil, func(h *harness) string {
			h.running(newJob().Array("s", 2), "n1", []int{0}, t0)
			h.submit(newJob().Array("s", 2))
			return h.submit(newJob().Array("s", 2))[0].ID
		}, want{code: structs.WaitParallel, reason: "ArrayLimit: sweep s already runs 2 jobs (max_parallel 2)"}},
		{"user over GPU quota", func(c *Config) { c.UserQuotas = map[string]structs.Quota{"alice": {MaxGPUs: 4}} }, func(h *harness) string {
			h.running(newJob().GPUs(2), "n1", []int{0, 1}, t0)
			return h.submit(newJob().GPUs(3))[0].ID
		}, want{code: structs.WaitQuota, reason: "QuotaExceeded: user alice uses 2 of 4 GPUs, this job needs 3"}},
		{"another user is not limited by alice's quota", func(c *Config) { c.UserQuotas = map[string]structs.Quota{"alice": {MaxGPUs: 4}} }, func(h *harness) string {
			h.running(newJob().GPUs(4), "n1", []int{0, 1, 2, 3}, t0)
			return h.submit(newJob().GPUs(3).User("bob"))[0].ID
		}, want{}},
		{"group over GPU quota", func(c *Config) { c.DefaultGroupQuota = structs.Quota{MaxGPUs: 2} }, func(h *harness) string {
			h.submit(newJob().GPUs(2).Group("ml"))
			return h.submit(newJob().GPUs(1).Group("ml").User("bob"))[0].ID
		}, want{code: structs.WaitQuota, reason: "QuotaExceeded: group ml uses 2 of 2 GPUs, this job needs 1"}},
		{"user over pending quota", func(c *Config) { c.DefaultUserQuota = structs.Quota{MaxPending: 1} }, func(h *harness) string {
			h.submit(newJob())
			return h.submit(newJob())[0].ID
		}, want{code: structs.WaitQuota, reason: "QuotaExceeded: user alice may have 1 pending job considered at once"}},
		{"unknown queue", func(c *Config) { c.Queues = []structs.Queue{{Name: "gpu"}} }, func(h *harness) string {
			return h.submit(newJob().Queue("nope"))[0].ID
		}, want{code: structs.WaitNoNodeFits, reason: `NoNodeFits: queue "nope" does not exist`}},
		{"queue max time", func(c *Config) {
			c.Queues = []structs.Queue{{Name: "default", MaxTimeLimit: structs.Duration(time.Hour)}}
		}, func(h *harness) string {
			return h.submit(newJob().TimeLimit(2 * time.Hour))[0].ID
		}, want{code: structs.WaitQueueLimit, reason: "QueueLimit: time limit 2h0m0s exceeds queue default's maximum of 1h0m0s"}},
		{"queue max GPUs per job", func(c *Config) { c.Queues = []structs.Queue{{Name: "default", MaxGPUsPerJob: 2}} }, func(h *harness) string {
			return h.submit(newJob().GPUs(4))[0].ID
		}, want{code: structs.WaitQueueLimit, reason: "QueueLimit: needs 4 GPUs, queue default allows 2 per job"}},
		{"queue allowed groups", func(c *Config) { c.Queues = []structs.Queue{{Name: "default", AllowedGroups: []string{"ml"}}} }, func(h *harness) string {
			return h.submit(newJob().Group("web"))[0].ID
		}, want{code: structs.WaitQueueLimit, reason: `QueueLimit: group "web" may not use queue default`}},
		{"queue node set", func(c *Config) { c.Queues = []structs.Queue{{Name: "small", Nodes: []string{"n2"}}} }, func(h *harness) string {
			return h.submit(newJob().Queue("small").GPUs(8))[0].ID
		}, want{code: structs.WaitNoNodeFits, reason: "NoNodeFits: needs 8 GPUs, largest node has 4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n").GPUs(8)).addNodes(1, newNode("x").GPUs(4).With(func(n *structs.Node) { n.ID, n.Name = "n2", "n2" }))
			id := tc.setup(h)
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			p := h.plan(cfg)
			if tc.want.code == "" {
				if placed(p)[id] == "" {
					t.Fatalf("job %s not placed: %+v", id, p)
				}
				return
			}
			list := p.Waiting
			if tc.want.cancel {
				list = p.Cancel
			}
			for _, w := range list {
				if w.JobID == id {
					if w.Code != tc.want.code || w.Reason != tc.want.reason {
						t.Errorf("got %s %q, want %s %q", w.Code, w.Reason, tc.want.code, tc.want.reason)
					}
					return
				}
			}
			t.Fatalf("job %s not found (cancel=%v) in %+v", id, tc.want.cancel, p)
		})
	}
}

func TestQueueNodeSetAndTier(t *testing.T) {
	h := newHarness(t)
	h.addNodes(2, newNode("n").GPUs(2))
	cfg := DefaultConfig()
	cfg.Queues = []structs.Queue{{Name: "default"}, {Name: "only2", Nodes: []string{"n2"}, PriorityTier: 1}}
	h.submit(newJob().GPUs(2), newJob().GPUs(1).Queue("only2"))
	p := h.plan(cfg)
	want := map[string]string{"2": "n2:[0]", "1": "n1:[0 1]"}
	if diff := cmp.Diff(want, placed(p)); diff != "" {
		t.Errorf("placements (-want +got):\n%s", diff)
	}
	if got := New(cfg).Order(h.st, h.now); got[0].ID != "2" {
		t.Errorf("higher tier not first: %s", got[0].ID)
	}
}

func TestStrictEstimatedStart(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(4))
	h.running(newJob().GPUs(4).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3}, t0.Add(-time.Hour))
	h.submit(newJob().GPUs(4), newJob().GPUs(1))
	p := h.plan(strict())
	if w := waitOf(t, p, "2"); !w.EstimatedStart.Equal(t0.Add(time.Hour)) {
		t.Errorf("job 2 estimated start %v, want %v", w.EstimatedStart, t0.Add(time.Hour))
	}
	// Job 2 has no time limit and takes the whole node: when job 3 can
	// follow it is not known, and no estimate is better than a wrong one.
	if w := waitOf(t, p, "3"); !w.EstimatedStart.IsZero() {
		t.Errorf("job 3 estimated start %v, want none", w.EstimatedStart)
	}
}

func TestUsageAdvanceMatchesAccumulate(t *testing.T) {
	hl := 24 * time.Hour
	recs := []UsageRecord{
		{User: "a", Group: "g", GPUs: 4, Start: t0, End: t0.Add(10 * time.Hour)},
		{User: "b", GPUs: 2, Start: t0.Add(5 * time.Hour), End: t0.Add(30 * time.Hour)},
		{User: "a", Group: "g", GPUs: 1, Start: t0.Add(20 * time.Hour)}, // still running
	}
	end := t0.Add(40 * time.Hour)
	whole := AccumulateUsage(recs, end, hl)

	// Every record starts and ends on a whole hour, so stepping hourly with
	// the records running through each hour must give the same sums.
	step := NewUsage(hl, t0)
	for now := t0.Add(time.Hour); !now.After(end); now = now.Add(time.Hour) {
		var running []UsageRecord
		for _, r := range recs {
			if r.Start.Before(now) && (r.End.IsZero() || !r.End.Before(now)) {
				running = append(running, r)
			}
		}
		step.Advance(now, running)
	}
	for _, k := range []string{"a", "b"} {
		if d := math.Abs(whole.Users[k] - step.Users[k]); d > 1e-9*whole.Users[k] {
			t.Errorf("user %s: accumulate %v, stepwise %v", k, whole.Users[k], step.Users[k])
		}
	}
	// One GPU-hour a half-life ago counts about half.
	u := AccumulateUsage([]UsageRecord{{User: "c", GPUs: 1, Start: t0, End: t0.Add(time.Minute)}}, t0.Add(time.Minute+hl), hl)
	if got, want := u.Users["c"], 0.5/60; math.Abs(got-want) > 1e-3*want {
		t.Errorf("decayed usage %v, want about %v", got, want)
	}
	if u := AccumulateUsage(recs, end, 0); u.Users["b"] != 50 {
		t.Errorf("without decay b used %v GPU-hours, want 50", u.Users["b"])
	}
}

func TestRecordOf(t *testing.T) {
	j := &structs.Job{ID: "1", User: "ann", Group: "ml"}
	run := &structs.Allocation{GPUs: []int{0, 1}, ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: t0}}
	done := &structs.Allocation{GPUs: []int{3}, ClientStatus: structs.ClientStatusFields{Status: structs.AllocComplete, StartTime: t0, EndTime: t0.Add(time.Hour)}}
	placedOnly := &structs.Allocation{GPUs: []int{2}, ClientStatus: structs.ClientStatusFields{Status: structs.AllocPending}}
	cases := []struct {
		name   string
		a      *structs.Allocation
		want   UsageRecord
		wantOK bool
	}{
		{"running", run, UsageRecord{User: "ann", Group: "ml", GPUs: 2, Start: t0}, true},
		{"finished", done, UsageRecord{User: "ann", Group: "ml", GPUs: 1, Start: t0, End: t0.Add(time.Hour)}, true},
		{"not started", placedOnly, UsageRecord{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := RecordOf(tc.a, j)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v", ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
		})
	}
}
