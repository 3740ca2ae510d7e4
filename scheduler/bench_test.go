package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// frozenState is a State whose lists are built once, as a state store's
// snapshot would hand them over, so the benchmark measures the pass only.
type frozenState struct {
	nodes   []*structs.Node
	pending []*structs.Job
	allocs  []*structs.Allocation
	jobs    map[string]*structs.Job
}

func (f *frozenState) Nodes() []*structs.Node            { return f.nodes }
func (f *frozenState) PendingJobs() []*structs.Job       { return f.pending }
func (f *frozenState) LiveAllocs() []*structs.Allocation { return f.allocs }
func (f *frozenState) Job(id string) *structs.Job        { return f.jobs[id] }
func (f *frozenState) ArrayJobs(string) []*structs.Job   { return nil }

// benchState: nodes x 8 GPUs (NVSwitch), busyNodes of them half full with
// running 4-GPU jobs, and pending jobs of 1, 2, 4 and 8 GPUs (every 50th a
// 2-node gang) from 20 users, with time limits.
func benchState(nodes, busyNodes, pending int) *frozenState {
	f := &frozenState{jobs: map[string]*structs.Job{}}
	nb := newNode("n").GPUs(8).NVSwitch().CPU(128).Memory(1 << 40)
	for i := 0; i < nodes; i++ {
		f.nodes = append(f.nodes, nb.BuildAs(fmt.Sprintf("n%06d", i)))
	}
	for i := 0; i < busyNodes; i++ {
		j := newJob().GPUs(4).TimeLimit(time.Duration(1+i%12) * time.Hour).Build()
		j.ID = fmt.Sprintf("r%06d", i)
		j.Status = structs.JobRunning
		f.jobs[j.ID] = j
		start := t0.Add(-time.Duration(i%60) * time.Minute)
		f.allocs = append(f.allocs, &structs.Allocation{ID: j.ID + ".0", JobID: j.ID, NodeID: f.nodes[i].ID,
			GPUs: []int{0, 1, 2, 3}, Resources: j.Resources, DesiredStatus: structs.DesiredRun, CreateTime: start,
			ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: start}})
	}
	sizes := []int{1, 1, 1, 2, 4, 8}
	for i := 0; i < pending; i++ {
		b := newJob().GPUs(sizes[i%len(sizes)]).User(fmt.Sprintf("u%02d", i%20)).
			TimeLimit(time.Duration(1+i%24) * time.Hour).Priority(40 + i%20).
			Submitted(t0.Add(-time.Duration(pending-i) * time.Second))
		if i%50 == 0 {
			b.GPUs(8).Nodes(2)
		}
		j := b.Build()
		j.ID = fmt.Sprintf("p%06d", i)
		j.Status = structs.JobPending
		f.jobs[j.ID] = j
		f.pending = append(f.pending, j)
	}
	return f
}

// BenchmarkPlan is one pass over 10,000 pending jobs on 1,000 nodes of 8
// GPUs, half of them half busy, with and without backfill.
func BenchmarkPlan(b *testing.B) {
	st := benchState(1000, 500, 10000)
	for _, bc := range []struct {
		name     string
		backfill bool
	}{{"strict", false}, {"backfill", true}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Backfill = bc.backfill
			s := New(cfg)
			b.ReportAllocs()
			var placedN int
			for b.Loop() {
				placedN = len(s.Plan(st, t0).Placements)
			}
			b.ReportMetric(float64(placedN), "placements")
		})
	}
}

// BenchmarkPlanIdleNodes keeps the work fixed (1,000 pending jobs, 100
// busy nodes) and adds idle nodes: allocations per pass must stay flat.
func BenchmarkPlanIdleNodes(b *testing.B) {
	for _, idle := range []int{0, 1000, 10000} {
		st := benchState(100+idle, 100, 1000)
		// Fill the idle nodes' GPUs so the same jobs are placed whatever
		// their number: mark them unhealthy.
		for _, n := range st.nodes[100:] {
			for k := range n.GPUs {
				n.GPUs[k].Healthy = false
			}
		}
		b.Run(fmt.Sprintf("idle=%d", idle), func(b *testing.B) {
			s := New(DefaultConfig())
			b.ReportAllocs()
			for b.Loop() {
				s.Plan(st, t0)
			}
		})
	}
}

// BenchmarkPlanSingletonExclusive is BenchmarkPlan's pass with the two
// Slurm-compatibility gates in play: every 10th pending job a singleton
// (100 names), every 20th exclusive, and every 10th running job
// exclusive.
func BenchmarkPlanSingletonExclusive(b *testing.B) {
	st := benchState(1000, 500, 10000)
	for i, a := range st.allocs {
		if i%10 == 0 {
			a.Resources.Exclusive = true
		}
	}
	for i, j := range st.pending {
		j.Name = fmt.Sprintf("job%03d", i%100)
		j.Singleton = i%10 == 0
		j.Resources.Exclusive = i%20 == 0
	}
	for _, backfill := range []bool{false, true} {
		b.Run(map[bool]string{false: "strict", true: "backfill"}[backfill], func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Backfill = backfill
			s := New(cfg)
			b.ReportAllocs()
			var placedN int
			for b.Loop() {
				placedN = len(s.Plan(st, t0).Placements)
			}
			b.ReportMetric(float64(placedN), "placements")
		})
	}
}

// BenchmarkPlanHeldSweep is one pass over a 1,000-member sweep held by its
// begin time (the jobs of `begin_after`, or sbatch --begin), on 100 nodes:
// each member's wait reason is the same. On this 2-core VM: 0.93-1.06 ms
// and 4,018 allocations a pass when each reason was formatted anew,
// 0.40-0.45 ms and 22 once the pass reused it (gate_begin.go).
func BenchmarkPlanHeldSweep(b *testing.B) {
	st := benchState(100, 0, 0)
	begin := t0.Add(time.Hour)
	for i := range 1000 {
		j := newJob().GPUs(1).User("alice").Submitted(t0.Add(-time.Minute)).Build()
		j.ID = fmt.Sprintf("s%06d", i)
		j.Status = structs.JobPending
		j.BeginTime = begin
		st.jobs[j.ID] = j
		st.pending = append(st.pending, j)
	}
	s := New(DefaultConfig())
	b.ReportAllocs()
	for b.Loop() {
		if p := s.Plan(st, t0); len(p.Placements) != 0 || len(p.Waiting) != 1000 {
			b.Fatalf("placed %d, waiting %d; want 0 and 1000", len(p.Placements), len(p.Waiting))
		}
	}
}

// sweepBehindFullNodes is 100 nodes of 8 GPUs, each full with one running
// job whose time limit ends 1 to 12 hours from now, and a sweep of
// `members` one-GPU, one-hour jobs waiting behind them.
func sweepBehindFullNodes(members int) *frozenState {
	st := benchState(100, 0, 0)
	for i, n := range st.nodes {
		j := newJob().GPUs(8).TimeLimit(time.Duration(1+i%12) * time.Hour).Build()
		j.ID = fmt.Sprintf("r%06d", i)
		j.Status = structs.JobRunning
		st.jobs[j.ID] = j
		st.allocs = append(st.allocs, &structs.Allocation{ID: j.ID + ".0", JobID: j.ID, NodeID: n.ID,
			GPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}, Resources: j.Resources, DesiredStatus: structs.DesiredRun, CreateTime: t0,
			ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: t0}})
	}
	for i := range members {
		j := newJob().GPUs(1).User("alice").TimeLimit(time.Hour).Submitted(t0.Add(-time.Minute)).Build()
		j.ID = fmt.Sprintf("s%06d", i)
		j.Status = structs.JobPending
		st.jobs[j.ID] = j
		st.pending = append(st.pending, j)
	}
	return st
}

// BenchmarkPlanSweepBehindFullNodes is a pass over a 1000-member sweep
// waiting behind 100 full nodes: the estimates of the first maxRefined
// members count the members ahead of them (profile.go). On this 2-core
// VM, 2026-12-05: refining all 1000 cost 0.86-0.89 ms a pass, and
// BenchmarkPlan (10,000 pending) 1.5-2 ms more with a window of 1000 than
// without refining, about 0.5 ms more with 256, 0.3-0.5 ms with 128.
func BenchmarkPlanSweepBehindFullNodes(b *testing.B) {
	st := sweepBehindFullNodes(1000)
	s := New(DefaultConfig())
	b.ReportAllocs()
	for b.Loop() {
		if p := s.Plan(st, t0); len(p.Waiting) != 1000 {
			b.Fatalf("waiting %d, want 1000", len(p.Waiting))
		}
	}
}
