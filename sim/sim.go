package sim

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

// Options describe the simulated cluster and policy.
type Options struct {
	Nodes       int
	GPUsPerNode int
	Policy      string // "" is DefaultPolicy
	// WarmupJobs replays the first N jobs (in submit order) without
	// measuring them: the figures cover the jobs after them, which find
	// the cluster as busy as it really was. It holds out the start of a
	// trace that a policy was tuned on.
	WarmupJobs int
	// Config, when set, is replayed instead of Policy's configuration
	// (Policy still names it in the result): for trying a policy out.
	// The replay turns preemption off and makes its passes PlacementsOnly.
	Config *scheduler.Config
}

// Result is what a replay measured. Times are seconds. Jobs counts every
// job in the trace; the averages and percentiles cover the jobs after the
// warm-up that ran (all but Unschedulable).
type Result struct {
	Policy      string `json:"policy"`
	Nodes       int    `json:"nodes"`
	GPUsPerNode int    `json:"gpus_per_node"`
	Jobs        int    `json:"jobs"`
	// WarmupJobs ran but are left out of every figure but makespan and
	// utilisation, which are the cluster's.
	WarmupJobs         int     `json:"warmup_jobs,omitempty"`
	AvgWait            float64 `json:"avg_wait_s"`
	P50Wait            float64 `json:"p50_wait_s"`
	P99Wait            float64 `json:"p99_wait_s"`
	AvgJCT             float64 `json:"avg_jct_s"`
	AvgBoundedSlowdown float64 `json:"avg_bounded_slowdown"`
	Makespan           float64 `json:"makespan_s"`
	GPUUtilization     float64 `json:"gpu_utilization"`
	Unschedulable      int     `json:"unschedulable"`
	// Passes is how many times the scheduler ran: at each instant where a
	// job was submitted or ended while jobs waited, except when no GPU
	// was free and every waiting job asked for one (nothing could start).
	Passes int `json:"passes"`
}

// BoundedSlowdownThreshold is the run time below which a job counts as
// this long in the bounded slowdown, so tiny jobs do not dominate it.
const BoundedSlowdownThreshold = 10.0

// epoch is virtual time zero; any fixed instant works.
var epoch = time.Date(2017, 10, 1, 0, 0, 0, 0, time.UTC)

// Run replays jobs (in submit order, as ReadTrace returns them) on a
// cluster of identical nodes through the real scheduler, in virtual time:
// at every instant something is submitted or ends, one Plan is computed
// and applied. A job needing more GPUs than a node has becomes a gang of
// ceil(gpus/per-node) nodes with an equal share on each.
func Run(jobs []TraceJob, opt Options) (*Result, error) {
	if opt.Nodes <= 0 || opt.Nodes > 1_000_000 {
		return nil, fmt.Errorf("nodes %d is out of range: expected 1 to 1000000", opt.Nodes)
	}
	if opt.GPUsPerNode <= 0 || opt.GPUsPerNode > structs.MaxGPUsPerNode {
		return nil, fmt.Errorf("gpus per node %d is out of range: expected 1 to %d", opt.GPUsPerNode, structs.MaxGPUsPerNode)
	}
	if opt.Policy == "" {
		opt.Policy = DefaultPolicy
	}
	var pol policy
	if opt.Config != nil {
		pol.cfg = replayConfig(*opt.Config)
	} else {
		var err error
		if pol, err = policyNamed(opt.Policy); err != nil {
			return nil, err
		}
	}
	if opt.WarmupJobs < 0 || opt.WarmupJobs >= max(len(jobs), 1) && len(jobs) > 0 {
		return nil, fmt.Errorf("warmup of %d jobs is out of range: expected 0 to %d (the trace has %d)", opt.WarmupJobs, max(len(jobs)-1, 0), len(jobs))
	}
	for i := 1; i < len(jobs); i++ {
		if jobs[i].Submit < jobs[i-1].Submit {
			return nil, fmt.Errorf("jobs are not in submit order at %s", jobs[i].ID)
		}
	}
	r := newRunner(jobs, opt, pol)
	r.loop()
	return r.result(), nil
}

type runner struct {
	opt   Options
	pol   policy
	cfg   scheduler.Config
	sched *scheduler.Scheduler
	trace []TraceJob
	st    *state
	usage *scheduler.Usage
	ends  endHeap

	start    []int64 // ns since epoch; -1 before start
	finish   []int64
	gpusUsed []int // GPUs allocated (nodes x per node)
	unsched  []bool
	// never marks jobs that need more nodes than the cluster has: the
	// scheduler says NoNodeFits in the first pass that sees them, and a
	// PlacementsOnly pass may stop before it looks at them, so the
	// runner drops them after that first pass itself.
	never    []bool
	newNever bool // some job in pending is a never
	// freeGPUs is how many GPUs no job holds; gpuless counts the pending
	// jobs that ask for none. When both are zero no job can start, and
	// the pass is skipped (it would stop before looking at any job).
	freeGPUs int
	gpuless  int
	passes   int
	// held counts the GPUs each user holds now, for fair share
	held map[string]int
}

func newRunner(jobs []TraceJob, opt Options, pol policy) *runner {
	cfg := pol.cfg
	r := &runner{opt: opt, pol: pol, cfg: cfg, sched: scheduler.New(cfg), trace: jobs, st: &state{}}
	r.freeGPUs = opt.Nodes * opt.GPUsPerNode
	for i := 0; i < opt.Nodes; i++ {
		n := &structs.Node{ID: fmt.Sprintf("node%06d", i), Status: structs.NodeReady, Eligible: true}
		n.Name = n.ID
		for g := 0; g < opt.GPUsPerNode; g++ {
			n.GPUs = append(n.GPUs, structs.GPU{Index: g, Model: "sim", Healthy: true})
		}
		r.st.nodes = append(r.st.nodes, n)
	}
	r.st.jobs = make([]*structs.Job, len(jobs))
	r.start = make([]int64, len(jobs))
	r.finish = make([]int64, len(jobs))
	r.gpusUsed = make([]int, len(jobs))
	r.unsched = make([]bool, len(jobs))
	r.never = make([]bool, len(jobs))
	for i, tj := range jobs {
		nodes, per := r.shape(tj)
		r.gpusUsed[i] = nodes * per
		r.start[i] = -1
		r.never[i] = nodes > opt.Nodes
	}
	if cfg.Weights.FairShare != 0 {
		r.usage = scheduler.NewUsage(cfg.FairShare.HalfLife, epoch)
		r.held = map[string]int{}
	}
	return r
}

// shape is a job's node count and GPUs per node.
func (r *runner) shape(tj TraceJob) (nodes, per int) {
	nodes, per = 1, tj.GPUs
	if tj.GPUs > r.opt.GPUsPerNode {
		nodes = (tj.GPUs + r.opt.GPUsPerNode - 1) / r.opt.GPUsPerNode
		per = (tj.GPUs + nodes - 1) / nodes
	}
	return nodes, per
}

// submit makes job i's structs.Job when it is submitted; it is dropped
// when the job ends (state.end), so the live heap holds only the jobs
// that wait or run.
func (r *runner) submit(i int) {
	tj := r.trace[i]
	nodes, per := r.shape(tj)
	j := &structs.Job{
		ID: jobID(i), Name: tj.ID, User: tj.User, Queue: scheduler.DefaultQueue,
		Priority: structs.DefaultPriority, TimeLimit: structs.Duration(secs(r.limit(i))),
		Resources:  structs.Resources{Nodes: nodes, GPU: structs.GPURequest{Count: per}},
		Status:     structs.JobPending,
		SubmitTime: epoch.Add(secs(tj.Submit)),
	}
	r.st.jobs[i] = j
	r.st.pending = append(r.st.pending, j)
	if per == 0 {
		r.gpuless++
	}
	if r.never[i] {
		r.newNever = true
	}
}

// limit is job i's time limit in seconds: the trace's, or for an oracle
// its true run time (at least a second, as zero means none).
func (r *runner) limit(i int) float64 {
	if r.pol.exactLimits {
		return max(r.trace[i].Duration, 1)
	}
	return r.trace[i].Limit
}

func secs(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// jobID makes IDs that sort as the trace does, so the state's ID order is
// submit order and appending keeps it sorted.
func jobID(i int) string { return fmt.Sprintf("%0*d", idDigits, i) }

const idDigits = 9

func (r *runner) loop() {
	next := 0 // next job to submit
	for next < len(r.trace) || r.ends.Len() > 0 {
		var now int64 = math.MaxInt64
		if next < len(r.trace) {
			now = int64(secs(r.trace[next].Submit))
		}
		if r.ends.Len() > 0 && r.ends[0].at < now {
			now = r.ends[0].at
		}
		if r.usage != nil {
			// Before the jobs that end now let go: they ran until now.
			r.usage.AdvanceHeld(epoch.Add(time.Duration(now)), r.held, nil)
		}
		for r.ends.Len() > 0 && r.ends[0].at == now {
			e := heap.Pop(&r.ends).(endEvent)
			if r.held != nil {
				r.release(e.job)
			}
			r.st.end(e.job)
			r.finish[e.job] = now
			r.freeGPUs += r.gpusUsed[e.job]
		}
		for next < len(r.trace) && int64(secs(r.trace[next].Submit)) == now {
			r.submit(next)
			next++
		}
		if len(r.st.pending) == 0 || r.freeGPUs == 0 && r.gpuless == 0 && !r.newNever {
			continue
		}
		r.schedule(now)
		if next == len(r.trace) && r.ends.Len() == 0 && len(r.st.pending) > 0 {
			// Nothing will ever change again: what waits can never run.
			for _, j := range r.st.pending {
				i := r.index(j)
				r.unsched[i] = true
				r.st.jobs[i] = nil
			}
			r.st.pending = nil
		}
	}
}

// release takes an ending job's GPUs off its user's count.
func (r *runner) release(i int) {
	u := r.st.jobs[i].User
	if r.held[u] -= r.gpusUsed[i]; r.held[u] == 0 {
		delete(r.held, u)
	}
}

func (r *runner) index(j *structs.Job) int { return parseID(j.ID) }

// parseID is the trace position a jobID encodes, or -1.
func parseID(id string) int {
	if len(id) != idDigits {
		return -1
	}
	n := 0
	for k := 0; k < len(id); k++ {
		c := id[k]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func (r *runner) schedule(nowNs int64) {
	now := epoch.Add(time.Duration(nowNs))
	sched := r.sched
	if r.usage != nil {
		// loop advanced it to now: usage counts every GPU-second that ran.
		sched = sched.WithUsage(r.usage)
	}
	plan := sched.Plan(r.st, now)
	r.passes++
	changed := false
	for _, pl := range plan.Placements {
		i := parseID(pl.JobID)
		j := r.st.jobs[i]
		if j.Status == structs.JobPending {
			j.Status = structs.JobRunning
			r.start[i] = nowNs
			r.freeGPUs -= r.gpusUsed[i]
			if r.held != nil {
				r.held[j.User] += r.gpusUsed[i]
			}
			run := min(r.trace[i].Duration, r.limit(i))
			heap.Push(&r.ends, endEvent{at: nowNs + int64(secs(run)), job: i})
		}
		r.st.allocs = append(r.st.allocs, &structs.Allocation{
			ID: allocID(pl.JobID, pl.Rank), JobID: pl.JobID, NodeID: pl.NodeID, GPUs: pl.GPUs,
			Resources: j.Resources, DesiredStatus: structs.DesiredRun,
			ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: now},
			CreateTime:   now,
		})
		changed = true
	}
	for _, w := range plan.Waiting {
		if w.Code == structs.WaitNoNodeFits || w.Code == structs.WaitQueueLimit {
			i := parseID(w.JobID)
			r.st.jobs[i].Status = structs.JobFailed
			changed = true
		}
	}
	for _, w := range plan.Cancel {
		i := parseID(w.JobID)
		r.st.jobs[i].Status = structs.JobCancelled
		changed = true
	}
	if r.newNever {
		// Their first pass is over: a full pass would have said NoNodeFits.
		for _, j := range r.st.pending {
			if r.never[parseID(j.ID)] {
				j.Status = structs.JobFailed
				changed = true
			}
		}
		r.newNever = false
	}
	if changed {
		r.st.pending = slices.DeleteFunc(r.st.pending, func(j *structs.Job) bool {
			if j.Status == structs.JobPending {
				return false
			}
			if j.Resources.GPU.Count == 0 {
				r.gpuless--
			}
			if j.Status == structs.JobRunning {
				return true
			}
			i := parseID(j.ID) // failed or cancelled: it never runs
			r.unsched[i] = true
			r.st.jobs[i] = nil
			return true
		})
		slices.SortFunc(r.st.allocs, func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })
	}
}

// allocID names rank k of a job's allocations; IDs sort as (job, rank).
func allocID(job string, rank int) string {
	n := strconv.Itoa(rank)
	if len(n) < 4 {
		n = "0000"[len(n):] + n
	}
	return job + "." + n
}

func (r *runner) result() *Result {
	res := &Result{Policy: r.opt.Policy, Nodes: r.opt.Nodes, GPUsPerNode: r.opt.GPUsPerNode, Jobs: len(r.trace),
		WarmupJobs: r.opt.WarmupJobs, Passes: r.passes}
	var waits []float64
	var sumWait, sumJCT, sumBSD, gpuSec float64
	first, last := math.Inf(1), math.Inf(-1)
	for i, tj := range r.trace {
		measured := i >= r.opt.WarmupJobs
		if r.unsched[i] || r.start[i] < 0 {
			if measured {
				res.Unschedulable++
			}
			continue
		}
		start := float64(r.start[i]) / 1e9
		end := float64(r.finish[i]) / 1e9
		run := end - start
		gpuSec += float64(r.gpusUsed[i]) * run
		first = math.Min(first, tj.Submit)
		last = math.Max(last, end)
		if !measured {
			continue
		}
		wait := start - tj.Submit
		jct := end - tj.Submit
		waits = append(waits, wait)
		sumWait += wait
		sumJCT += jct
		sumBSD += math.Max(1, jct/math.Max(run, BoundedSlowdownThreshold))
	}
	if last > first {
		res.Makespan = round(last - first)
		res.GPUUtilization = round(gpuSec / (float64(r.opt.Nodes*r.opt.GPUsPerNode) * (last - first)))
	}
	n := float64(len(waits))
	if n == 0 {
		return res
	}
	slices.Sort(waits)
	res.AvgWait = round(sumWait / n)
	res.P50Wait = round(percentile(waits, 50))
	res.P99Wait = round(percentile(waits, 99))
	res.AvgJCT = round(sumJCT / n)
	res.AvgBoundedSlowdown = round(sumBSD / n)
	return res
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// round keeps results stable in text and JSON (1e-6 resolution).
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// state is the scheduler.State of a replay.
type state struct {
	nodes   []*structs.Node
	jobs    []*structs.Job
	pending []*structs.Job        // ID order
	allocs  []*structs.Allocation // ID order
}

func (s *state) Nodes() []*structs.Node            { return s.nodes }
func (s *state) PendingJobs() []*structs.Job       { return s.pending }
func (s *state) LiveAllocs() []*structs.Allocation { return s.allocs }

// ArrayJobs returns nil: a trace's jobs are not arrays.
func (s *state) ArrayJobs(string) []*structs.Job { return nil }

func (s *state) Job(id string) *structs.Job {
	i := parseID(id)
	if i < 0 || i >= len(s.jobs) {
		return nil
	}
	return s.jobs[i]
}

// end finishes job i: its allocations give their GPUs back, and the job
// leaves the state (nothing in a replay looks at finished jobs).
func (s *state) end(i int) {
	j := s.jobs[i]
	j.Status = structs.JobComplete
	s.allocs = slices.DeleteFunc(s.allocs, func(a *structs.Allocation) bool { return a.JobID == j.ID })
	s.jobs[i] = nil
}

type endEvent struct {
	at  int64
	job int
}

// endHeap orders completions by time, then by job, so a replay is
// deterministic.
type endHeap []endEvent

func (h endHeap) Len() int { return len(h) }
func (h endHeap) Less(a, b int) bool {
	if h[a].at != h[b].at {
		return h[a].at < h[b].at
	}
	return h[a].job < h[b].job
}
func (h endHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *endHeap) Push(x any)   { *h = append(*h, x.(endEvent)) }
func (h *endHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
