package scheduler

import (
	"math"
	"time"

	"github.com/nai-project/nai/structs"
)

const forever = math.MaxInt64

// pass is the working state of one Plan call.
type pass struct {
	s         *Scheduler
	st        State
	now       time.Time
	nowNs     int64
	pending   []*structs.Job
	allocs    []*structs.Allocation
	c         *cluster
	shapes    map[shapeKey]*shape
	shapeList []*shape
	items     []item
	users     *shareTable
	groups    *shareTable

	// checks are the gates that can hold a job in this pass, in order.
	checks []gateCheck

	// run lists what holds resources and when it is expected to give them
	// back: the live allocations, then this pass's placements.
	run      []runInfo
	runBuilt bool
	placed   []runInfo // this pass's placements
	merged   int       // how many of placed are in run
	// run grouped by node, each node's in end order (earliest.go)
	runGrouped bool
	runOff     []int32
	runOrder   []int32

	// strict priority: nodes a blocked higher job could use; allBlocked
	// when that is every schedulable node
	blocked      []uint64
	allBlocked   bool
	firstBlocker string
	blockerEst   int64

	resv *reservation

	// the Priority wait of the last blocker, reused by every job behind it
	prioWait structs.WaitStatus
	prioFor  string
	// the NoNodes wait, computed once
	noNodes *structs.WaitStatus
	// the begin-time wait of the last begin time seen (gate_begin.go)
	beginAt   time.Time
	beginWait structs.WaitStatus
	beginSet  bool

	// quota gate: GPUs in use and jobs considered, per account
	userGPUs, groupGPUs       map[string]int
	userPending, groupPending map[string]int
	// array limit gate: running members per sweep
	arrayRunning map[string]int
	// singleton gate: who runs or waits first, per name and user
	single map[nameUser]*singleInfo
	// dependency gate: the members of the arrays depended on, read once
	arrayDeps map[string][]*structs.Job

	pre *preemptState

	// estCands are the waiting jobs whose estimates refineEstimates may
	// refine (profile.go); cand is the one wait() just gave an estimate.
	estCands []estCand
	cand     *shape

	nodeBuf []int
	gpuBuf  []int
}

// runInfo is one holder of resources on one node.
type runInfo struct {
	node int
	gpus []int // GPU indices as the fingerprint numbers them
	cpu  float64
	mem  int64
	end  int64 // unix nanos; forever when unknown
	excl bool  // an exclusive job: nothing else shares the node
}

// Plan computes one scheduling pass: which pending jobs start where, which
// allocations are preempted, which jobs are cancelled, and why each other
// pending job waits. It reads st and now only, and returns the same plan
// for the same input.
func (s *Scheduler) Plan(st State, now time.Time) *structs.Plan {
	lazy := s.cfg.PlacementsOnly
	p := s.buildPass(st, now, nil)
	plan := &structs.Plan{}
	if !lazy {
		plan.Waiting = make([]structs.WaitStatus, 0, len(p.items))
	}
	p.schedule(plan, newItemQueue(p.items, lazy, p.c.maxGPUs))
	if !lazy && !s.cfg.SkipEstimates && !s.cfg.firstEstimates {
		p.refineEstimates(plan)
	}
	return plan
}

// newPass builds a pass with its items in the order of consideration.
func (s *Scheduler) newPass(st State, now time.Time, only []*structs.Job) *pass {
	p := s.buildPass(st, now, only)
	sortItems(p.items)
	return p
}

// buildPass builds a pass with its items in State order.
func (s *Scheduler) buildPass(st State, now time.Time, only []*structs.Job) *pass {
	p := &pass{s: s, st: st, now: now, nowNs: now.UnixNano(), shapes: map[shapeKey]*shape{}}
	p.pending = st.PendingJobs()
	list := p.pending
	if only != nil {
		list = only // Factors: one job, but fair share still sees every pending user
	}
	p.allocs = st.LiveAllocs()
	p.c = newCluster(st.Nodes(), p.allocs)
	held := heldReplicas(list, p.allocs)
	p.items = make([]item, 0, len(list))
	for _, j := range list {
		q := s.queue(j.Queue)
		it := item{job: j, q: q, limit: forever}
		if j.IsService() {
			// A service is considered once per replica it lacks (service.go).
			if it.slots = missingReplicas(j, held[j.ID]); len(it.slots) == 0 {
				continue
			}
		}
		switch {
		case q == nil:
		case s.cfg.Weights == (structs.PriorityWeights{Age: s.cfg.Weights.Age}):
			// Age alone orders exactly as submit time does, which breaks
			// the ties anyway: skip computing factors (FIFO replays).
			it.tier = q.cfg.PriorityTier
		default:
			f := p.factors(j, q)
			it.tier, it.prio = f.Tier, f.Priority
		}
		it.limit = s.limitOf(j, q)
		p.items = append(p.items, it)
	}
	return p
}

// limitOf is a job's time limit in nanoseconds: its own, else its queue's
// default, else the configured default, else forever.
func (s *Scheduler) limitOf(j *structs.Job, q *queueInfo) int64 {
	switch {
	case j.IsService():
		return forever // runs until it is stopped
	case j.TimeLimit > 0:
		return int64(j.TimeLimit)
	case q != nil && q.cfg.DefaultTimeLimit > 0:
		return int64(q.cfg.DefaultTimeLimit)
	case s.cfg.DefaultTimeLimit > 0:
		return int64(s.cfg.DefaultTimeLimit)
	}
	return forever
}

func addNs(a, b int64) int64 {
	if b == forever || a > forever-b {
		return forever
	}
	return a + b
}

// schedule considers every pending job once, in priority order, and a
// service once for each replica it lacks until one cannot start (in a
// PlacementsOnly pass, until none can start: replay.go).
func (p *pass) schedule(plan *structs.Plan, q *itemQueue) {
	p.checks = p.setupGates()
	for {
		if p.noneCanStart(q) {
			return
		}
		it := q.next()
		if it == nil {
			return
		}
		p.cand = nil
		ws, v := p.consider(it, plan)
		for v == starts && len(it.slots) > 0 {
			ws, v = p.consider(it, plan)
		}
		switch v {
		case starts:
			continue
		case cancel:
			ws.JobID = it.job.ID
			plan.Cancel = append(plan.Cancel, ws)
		default:
			ws.JobID = it.job.ID
			plan.Waiting = append(plan.Waiting, ws)
			if p.cand != nil && len(p.estCands) < maxRefined && !ws.EstimatedStart.IsZero() && (ws.Code == structs.WaitResources || ws.Code == structs.WaitPriority) {
				p.estCands = append(p.estCands, estCand{idx: len(plan.Waiting) - 1, sh: p.cand, limit: it.limit})
			}
		}
	}
}

// consider decides one job: the gates in order (gate.go), then placement
// (place.go), then, if it cannot start, why it waits (wait.go).
func (p *pass) consider(it *item, plan *structs.Plan) (structs.WaitStatus, verdict) {
	for _, check := range p.checks {
		if ws, v := check(p, it); v != admit {
			return ws, v
		}
	}
	return p.placeOrWait(it, plan)
}

func queueName(q string) string {
	if q == "" {
		return DefaultQueue
	}
	return q
}
