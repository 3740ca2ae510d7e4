package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// An exclusive job (Slurm's --exclusive) goes only on a node nothing else
// holds, and while it runs nothing else goes on its node.
func TestExclusivePlacement(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(h *harness)
		cfg        Config
		wantPlaced map[string]string
		wantWaits  map[string]structs.WaitCode
	}{
		{
			name: "it takes the smallest idle node, not a busy one with room",
			setup: func(h *harness) {
				h.addNodes(1, newNode("a").GPUs(8)).addNodes(1, newNode("b").GPUs(8)).addNodes(1, newNode("c").GPUs(4))
				h.running(newJob().GPUs(1), "a1", []int{0}, t0)
				h.submit(newJob().GPUs(2).Exclusive())
			},
			wantPlaced: map[string]string{"2": "c1:[0 1]"},
			wantWaits:  map[string]structs.WaitCode{},
		},
		{
			name: "nothing joins a node an exclusive job runs on",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(8))
				h.running(newJob().GPUs(1).Exclusive(), "n1", []int{0}, t0)
				h.submit(newJob().GPUs(1))
			},
			wantPlaced: map[string]string{},
			wantWaits:  map[string]structs.WaitCode{"2": structs.WaitResources},
		},
		{
			name: "in one pass, a job after an exclusive one goes elsewhere",
			setup: func(h *harness) {
				h.addNodes(2, newNode("n").GPUs(8))
				h.submit(newJob().GPUs(2).Exclusive(), newJob().GPUs(1), newJob().GPUs(1))
			},
			wantPlaced: map[string]string{"1": "n1:[0 1]", "2": "n2:[0]", "3": "n2:[1]"},
			wantWaits:  map[string]structs.WaitCode{},
		},
		{
			name: "in one pass, an exclusive job after others finds no idle node",
			setup: func(h *harness) {
				h.addNodes(2, newNode("n").GPUs(8))
				h.submit(newJob().GPUs(1), newJob().GPUs(1).Queue("default"), newJob().GPUs(2).Exclusive())
				h.st.jobs["2"].Resources.GPU.Count = 8 // fills n2
			},
			wantPlaced: map[string]string{"1": "n1:[0]", "2": "n2:[0 1 2 3 4 5 6 7]"},
			wantWaits:  map[string]structs.WaitCode{"3": structs.WaitResources},
		},
		{
			name: "two exclusive jobs take a node each",
			setup: func(h *harness) {
				h.addNodes(2, newNode("n").GPUs(8))
				h.submit(newJob().GPUs(1).Exclusive(), newJob().GPUs(1).Exclusive(), newJob().GPUs(1).Exclusive())
			},
			wantPlaced: map[string]string{"1": "n1:[0]", "2": "n2:[0]"},
			wantWaits:  map[string]structs.WaitCode{"3": structs.WaitResources},
		},
		{
			name: "an exclusive gang takes whole nodes",
			setup: func(h *harness) {
				h.addNodes(3, newNode("n").GPUs(8))
				h.running(newJob().GPUs(1), "n2", []int{0}, t0)
				h.submit(newJob().GPUs(4).Nodes(2).Exclusive(), newJob().GPUs(1))
			},
			wantPlaced: map[string]string{"2": "n1:[0 1 2 3] n3:[0 1 2 3]", "3": "n2:[1]"},
			wantWaits:  map[string]structs.WaitCode{},
		},
		{
			name: "a CPU-only exclusive job counts too",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(0))
				h.running(newJob().GPUs(0).Exclusive(), "n1", nil, t0)
				h.submit(newJob().GPUs(0))
			},
			wantPlaced: map[string]string{},
			wantWaits:  map[string]structs.WaitCode{"2": structs.WaitResources},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			p := h.plan(strict())
			if diff := cmp.Diff(tc.wantPlaced, placed(p)); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWaits, waits(p)); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

// Backfill respects exclusivity both ways: nothing that outlives the
// reservation's start shares a node reserved for an exclusive job, and an
// exclusive job may not take a reserved node it would outlive.
func TestExclusiveBackfill(t *testing.T) {
	cases := []struct {
		name      string
		topExcl   bool
		candidate *jobBuilder
		want      structs.WaitCode // "" = starts now
	}{
		{"spare GPUs beside a normal reservation take a long job", false, newJob().GPUs(2).TimeLimit(5 * time.Hour), ""},
		{"no spare beside an exclusive reservation", true, newJob().GPUs(2).TimeLimit(5 * time.Hour), structs.WaitPriority},
		{"a short job still runs before an exclusive reservation", true, newJob().GPUs(2).TimeLimit(30 * time.Minute), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One 8-GPU node, 6 GPUs held for an hour, and a top job of 4 GPUs
			// that gets the reservation; 2 GPUs are free now.
			h := newHarness(t)
			h.addNodes(1, newNode("n").GPUs(8))
			h.running(newJob().GPUs(6).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3, 4, 5}, t0.Add(-time.Hour))
			top := newJob().GPUs(4).Priority(90).TimeLimit(time.Hour)
			if tc.topExcl {
				top.Exclusive()
			}
			h.submit(top)
			cand := h.submit(tc.candidate.Priority(10))[0]
			p := h.plan(DefaultConfig())
			if w := waitOf(t, p, "2"); w.Code != structs.WaitResources || !w.EstimatedStart.Equal(t0.Add(time.Hour)) {
				t.Errorf("top job waits %+v, want Resources until %v", w, t0.Add(time.Hour))
			}
			if got := waits(p)[cand.ID]; got != tc.want {
				t.Errorf("candidate: %q, want %q (plan %+v)", got, tc.want, p)
			}
		})
	}
}

// An exclusive job may take an idle node reserved for a higher job only
// if it ends before the reservation starts.
func TestExclusiveBackfillOnReservedNode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit time.Duration
		want  structs.WaitCode
	}{{"it ends first", 30 * time.Minute, ""}, {"it would outlive the start", 5 * time.Hour, structs.WaitPriority}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(2, newNode("n").GPUs(8))
			h.running(newJob().GPUs(6).TimeLimit(2*time.Hour), "n1", []int{0, 1, 2, 3, 4, 5}, t0.Add(-time.Hour))
			h.submit(newJob().GPUs(4).Nodes(2).Priority(90)) // reserves n1 and n2 from t0+1h, 4 GPUs spare on n2
			cand := h.submit(newJob().GPUs(1).TimeLimit(tc.limit).Exclusive().Priority(10))[0]
			p := h.plan(DefaultConfig())
			if got := waits(p)[cand.ID]; got != tc.want {
				t.Errorf("candidate: %q, want %q (plan %+v)", got, tc.want, p)
			}
		})
	}
}

// Estimates replay who holds each node, not only what is free.
func TestExclusiveEstimates(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *harness)
		job   *jobBuilder
		want  time.Time
	}{
		{"an exclusive job starts when the last holder of a node ends", func(h *harness) {
			h.addNodes(1, newNode("n").GPUs(8))
			h.running(newJob().GPUs(1).TimeLimit(2*time.Hour), "n1", []int{0}, t0.Add(-time.Hour))
			h.running(newJob().GPUs(1).TimeLimit(4*time.Hour), "n1", []int{1}, t0.Add(-time.Hour))
		}, newJob().GPUs(2).Exclusive(), t0.Add(3 * time.Hour)},
		{"any job starts when the exclusive holder ends, though GPUs are free", func(h *harness) {
			h.addNodes(1, newNode("n").GPUs(8))
			h.running(newJob().GPUs(1).TimeLimit(3*time.Hour).Exclusive(), "n1", []int{0}, t0.Add(-time.Hour))
		}, newJob().GPUs(1), t0.Add(2 * time.Hour)},
		{"the first node to empty wins", func(h *harness) {
			h.addNodes(2, newNode("n").GPUs(8))
			h.running(newJob().GPUs(1).TimeLimit(5*time.Hour), "n1", []int{0}, t0)
			h.running(newJob().GPUs(1).TimeLimit(time.Hour), "n2", []int{0}, t0)
			h.running(newJob().GPUs(1).TimeLimit(2*time.Hour), "n2", []int{1}, t0)
		}, newJob().GPUs(8).Exclusive(), t0.Add(2 * time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			j := h.submit(tc.job)[0]
			for _, cfg := range []Config{strict(), DefaultConfig()} {
				if got := waitOf(t, h.plan(cfg), j.ID).EstimatedStart; !got.Equal(tc.want) {
					t.Errorf("backfill %v: estimated start %v, want %v", cfg.Backfill, got, tc.want)
				}
			}
		})
	}
}

// Preemption clears a node for an exclusive job only when every holder
// can be stopped, and stops an exclusive holder to let any job in.
func TestExclusivePreemption(t *testing.T) {
	queues := []structs.Queue{{Name: "low", PriorityTier: 0}, {Name: "high", PriorityTier: 1}}
	cases := []struct {
		name        string
		setup       func(h *harness)
		job         *jobBuilder
		wantVictims []string
	}{
		{"every holder of the node goes for an exclusive job", func(h *harness) {
			h.addNodes(1, newNode("n").GPUs(8))
			h.running(newJob().Queue("low").Preemptible().GPUs(1), "n1", []int{0}, t0)
			h.running(newJob().Queue("low").Preemptible().GPUs(1), "n1", []int{1}, t0)
		}, newJob().Queue("high").GPUs(2).Exclusive(), []string{"1.0", "2.0"}},
		{"a node with a holder that cannot be stopped is passed over", func(h *harness) {
			h.addNodes(2, newNode("n").GPUs(8))
			h.running(newJob().Queue("low").GPUs(1), "n1", []int{0}, t0)
			h.running(newJob().Queue("low").Preemptible().GPUs(1), "n2", []int{0}, t0.Add(-10*time.Hour))
			h.running(newJob().Queue("low").Preemptible().GPUs(1), "n2", []int{1}, t0.Add(-10*time.Hour))
		}, newJob().Queue("high").GPUs(2).Exclusive(), []string{"2.0", "3.0"}},
		{"no node can be cleared: nothing is stopped", func(h *harness) {
			h.addNodes(1, newNode("n").GPUs(8))
			h.running(newJob().Queue("low").GPUs(1), "n1", []int{0}, t0)
			h.running(newJob().Queue("low").Preemptible().GPUs(1), "n1", []int{1}, t0)
		}, newJob().Queue("high").GPUs(2).Exclusive(), nil},
		{"an exclusive holder is stopped though GPUs are free", func(h *harness) {
			h.addNodes(1, newNode("n").GPUs(8))
			h.running(newJob().Queue("low").Preemptible().GPUs(1).Exclusive(), "n1", []int{0}, t0)
		}, newJob().Queue("high").GPUs(2), []string{"1.0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			j := h.submit(tc.job)[0]
			cfg := DefaultConfig()
			cfg.Queues = queues
			p := h.plan(cfg)
			var got []string
			for _, pr := range p.Preempt {
				got = append(got, pr.AllocID)
			}
			if diff := cmp.Diff(tc.wantVictims, got); diff != "" {
				t.Errorf("victims (-want +got):\n%s", diff)
			}
			if len(got) == 0 {
				return
			}
			// While they stop nothing more is preempted; once they are
			// gone the job starts.
			h.apply(p)
			p2 := h.plan(cfg)
			if len(p2.Preempt) != 0 || waitOf(t, p2, j.ID).Reason != "Resources: waiting for preempted jobs on n1 to stop" &&
				waitOf(t, p2, j.ID).Reason != "Resources: waiting for preempted jobs on n2 to stop" {
				t.Errorf("second pass: %+v", p2)
			}
			for _, id := range got {
				h.finish(id[:len(id)-2], structs.JobFailed)
			}
			if p3 := h.plan(cfg); placed(p3)[j.ID] == "" {
				t.Errorf("job did not start after its victims stopped: %+v", p3)
			}
		})
	}
}
