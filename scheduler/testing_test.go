package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

// t0 is the harness's "now" unless a test moves it.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// memState is a real in-memory State: the harness adds nodes, jobs and
// allocations and applies plans to it, as the leader would.
type memState struct {
	nodes  []*structs.Node
	jobs   map[string]*structs.Job
	allocs []*structs.Allocation
}

func (m *memState) Nodes() []*structs.Node { return m.nodes }

func (m *memState) PendingJobs() []*structs.Job {
	var out []*structs.Job
	for _, j := range m.jobs {
		if j.Status == structs.JobPending || (j.IsService() && j.Status == structs.JobRunning) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *structs.Job) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (m *memState) LiveAllocs() []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range m.allocs {
		if !a.Terminal() {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *structs.Allocation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (m *memState) Job(id string) *structs.Job { return m.jobs[id] }

func (m *memState) ArrayJobs(arrayID string) []*structs.Job {
	var out []*structs.Job
	for _, j := range m.jobs {
		if j.ArrayID == arrayID {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *structs.Job) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// harness holds a memState and a clock, and records every plan.
type harness struct {
	t     *testing.T
	st    *memState
	now   time.Time
	seq   int
	plans []*structs.Plan
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{t: t, st: &memState{jobs: map[string]*structs.Job{}}, now: t0}
}

// addNodes adds nodes built from b, named b's name plus 1..n.
func (h *harness) addNodes(n int, b *nodeBuilder) *harness {
	for i := 1; i <= n; i++ {
		nd := b.BuildAs(fmt.Sprintf("%s%d", b.ID(), i))
		h.st.nodes = append(h.st.nodes, nd)
	}
	slices.SortFunc(h.st.nodes, func(a, b *structs.Node) int { return cmp.Compare(a.ID, b.ID) })
	return h
}

// submit adds pending jobs; each gets the next ID and a submit time one
// second after the previous one (unless the builder set one).
func (h *harness) submit(bs ...*jobBuilder) []*structs.Job {
	var out []*structs.Job
	for _, b := range bs {
		h.seq++
		j := b.Build()
		if j.ID == "" {
			j.ID = strconv.Itoa(h.seq)
		}
		if j.Name == "" {
			j.Name = "job" + j.ID
		}
		if j.SubmitTime.IsZero() {
			j.SubmitTime = t0.Add(-time.Hour + time.Duration(h.seq)*time.Second)
		}
		j.Status = structs.JobPending
		h.st.jobs[j.ID] = j
		out = append(out, j)
	}
	return out
}

// running adds a job that already runs on node with the given GPUs since
// started.
func (h *harness) running(b *jobBuilder, node string, gpus []int, started time.Time) *structs.Job {
	j := h.submit(b)[0]
	j.Status = structs.JobRunning
	j.StartTime = started
	a := &structs.Allocation{
		ID: j.ID + ".0", JobID: j.ID, NodeID: node, NodeName: node, GPUs: gpus,
		Resources: j.Resources, DesiredStatus: structs.DesiredRun,
		ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: started},
		CreateTime:   started,
	}
	h.st.allocs = append(h.st.allocs, a)
	return j
}

// finish ends a job with a status.
func (h *harness) finish(id string, status structs.JobStatus) {
	h.st.jobs[id].Status = status
	for _, a := range h.st.allocs {
		if a.JobID == id {
			a.ClientStatus.Status = structs.AllocComplete
		}
	}
}

// plan runs one pass with cfg at h.now, records it and checks the
// invariants every plan must keep.
func (h *harness) plan(cfg Config) *structs.Plan {
	h.t.Helper()
	p := New(cfg).Plan(h.st, h.now)
	h.plans = append(h.plans, p)
	h.checkPlan(p)
	return p
}

// apply turns a plan's placements into running allocations.
func (h *harness) apply(p *structs.Plan) {
	for _, pl := range p.Placements {
		j := h.st.jobs[pl.JobID]
		j.Status = structs.JobRunning
		j.StartTime = h.now
		a := &structs.Allocation{
			ID: fmt.Sprintf("%s.%d", pl.JobID, pl.Rank), JobID: pl.JobID, NodeID: pl.NodeID, GPUs: pl.GPUs,
			Resources: j.Resources, DesiredStatus: structs.DesiredRun, CreateTime: h.now,
			ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: h.now},
		}
		if j.IsService() {
			j.Attempt++
			a.ID = fmt.Sprintf("%s.%d", pl.JobID, j.Attempt)
			a.Replica, a.JobVersion = pl.Rank, j.Version
		}
		h.st.allocs = append(h.st.allocs, a)
	}
	for _, pr := range p.Preempt {
		for _, a := range h.st.allocs {
			if a.ID == pr.AllocID {
				a.DesiredStatus = structs.DesiredStop
			}
		}
	}
}

// checkPlan asserts what holds for every plan: each pending job appears
// exactly once (placed, waiting or cancelled), every wait has a code and a
// reason, and no GPU is given twice or given while in use.
func (h *harness) checkPlan(p *structs.Plan) {
	h.t.Helper()
	seen := map[string]string{}
	mark := func(id, where string) {
		if j := h.st.jobs[id]; j != nil && j.IsService() && seen[id] == "placed" && where == "waiting" {
			seen[id] = where // some replicas start, the rest wait
			return
		}
		if prev, ok := seen[id]; ok && prev != where || ok && where != "placed" {
			h.t.Errorf("job %s appears in the plan as %s and %s", id, prev, where)
		}
		seen[id] = where
	}
	used := map[string]bool{}
	for _, a := range h.st.LiveAllocs() {
		for _, g := range a.GPUs {
			used[fmt.Sprintf("%s/%d", a.NodeID, g)] = true
		}
	}
	for _, pl := range p.Placements {
		mark(pl.JobID, "placed")
		for _, g := range pl.GPUs {
			k := fmt.Sprintf("%s/%d", pl.NodeID, g)
			if used[k] {
				h.t.Errorf("GPU %s given twice (job %s)", k, pl.JobID)
			}
			used[k] = true
		}
	}
	for _, w := range p.Waiting {
		mark(w.JobID, "waiting")
		if w.Code == "" || w.Reason == "" {
			h.t.Errorf("job %s waits without code or reason: %+v", w.JobID, w)
		}
	}
	for _, w := range p.Cancel {
		mark(w.JobID, "cancelled")
	}
	for _, j := range h.st.PendingJobs() {
		if j.IsService() && j.Status == structs.JobRunning {
			continue // in the plan only when it lacks replicas
		}
		if _, ok := seen[j.ID]; !ok {
			h.t.Errorf("pending job %s is missing from the plan", j.ID)
		}
	}
}

// placed returns job id -> "node:gpus" for a plan's placements.
func placed(p *structs.Plan) map[string]string {
	out := map[string]string{}
	for _, pl := range p.Placements {
		s := fmt.Sprintf("%s:%v", pl.NodeID, pl.GPUs)
		if prev, ok := out[pl.JobID]; ok {
			s = prev + " " + s
		}
		out[pl.JobID] = s
	}
	return out
}

// waits returns job id -> code for a plan's waiting jobs.
func waits(p *structs.Plan) map[string]structs.WaitCode {
	out := map[string]structs.WaitCode{}
	for _, w := range p.Waiting {
		out[w.JobID] = w.Code
	}
	return out
}

func waitOf(t *testing.T, p *structs.Plan, id string) structs.WaitStatus {
	t.Helper()
	for _, w := range p.Waiting {
		if w.JobID == id {
			return w
		}
	}
	t.Fatalf("job %s is not waiting in plan %+v", id, p)
	return structs.WaitStatus{}
}

// Jobs and nodes come from the shared builders: newJob().GPUs(2).Priority(80),
// newNode("n").GPUs(8).NVLinkPairs() (addNodes names them n1, n2, ...).
type (
	jobBuilder  = builders.JobBuilder
	nodeBuilder = builders.NodeBuilder
)

func newJob() *jobBuilder              { return builders.Job("") }
func newNode(name string) *nodeBuilder { return builders.Node(name) }

// strict is issue 2's first scheduler: priority then submit order, no
// backfill, no preemption.
func strict() Config {
	c := DefaultConfig()
	c.Backfill = false
	c.Preemption = false
	return c
}

// gateRun is one job's outcome at one gate.
type gateRun struct {
	v      verdict
	code   structs.WaitCode
	reason string
}

func (g gateRun) String() string { return fmt.Sprintf("%s %s %q", g.v, g.code, g.reason) }

// runGate runs the named gate alone over every pending job in the order a
// pass considers them, after the gate's setup, as a pass would if every
// gate before it let every job through. An off gate admits every job.
func (h *harness) runGate(cfg Config, name string) map[string]gateRun {
	h.t.Helper()
	var g *gate
	for i := range gates {
		if gates[i].name == name {
			g = &gates[i]
		}
	}
	if g == nil {
		h.t.Fatalf("no gate named %q", name)
	}
	p := New(cfg).newPass(h.st, h.now, nil)
	on := g.setup == nil || g.setup(p)
	out := map[string]gateRun{}
	for i := range p.items {
		it := &p.items[i]
		r := gateRun{v: admit}
		if on {
			ws, v := g.check(p, it)
			r = gateRun{v: v, code: ws.Code, reason: ws.Reason}
			if (v == admit) != (ws.Code == "") {
				h.t.Errorf("gate %s: job %s %s with wait %+v", name, it.job.ID, v, ws)
			}
		}
		out[it.job.ID] = r
	}
	return out
}

// admitted is what runGate reports for a job the gate lets through.
var admitted = gateRun{v: admit}
