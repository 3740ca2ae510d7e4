package scheduler

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
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

	// run lists what holds resources and when it is expected to give them
	// back: the live allocations, then this pass's placements.
	run       []runInfo
	runSorted bool
	runBuilt  bool
	placed    []runInfo // this pass's placements
	merged    int       // how many of placed are in run

	// strict priority: nodes a blocked higher job could use; allBlocked
	// when that is every schedulable node
	blocked      []uint64
	allBlocked   bool
	firstBlocker string
	blockerEst   int64

	resv *reservation

	prioReason, prioReasonFor string

	userGPUs, groupGPUs       map[string]int
	userPending, groupPending map[string]int
	arrayRunning              map[string]int
	quotas                    bool

	pre *preemptState

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
}

// Plan computes one scheduling pass: which pending jobs start where, which
// allocations are preempted, which jobs are cancelled, and why each other
// pending job waits. It reads st and now only, and returns the same plan
// for the same input.
func (s *Scheduler) Plan(st State, now time.Time) *structs.Plan {
	p := s.newPass(st, now, nil)
	plan := &structs.Plan{Waiting: make([]structs.WaitStatus, 0, len(p.items))}
	p.schedule(plan)
	return plan
}

func (s *Scheduler) newPass(st State, now time.Time, only []*structs.Job) *pass {
	p := &pass{s: s, st: st, now: now, nowNs: now.UnixNano(), shapes: map[shapeKey]*shape{}}
	p.pending = st.PendingJobs()
	list := p.pending
	if only != nil {
		list = only // Factors: one job, but fair share still sees every pending user
	}
	p.allocs = st.LiveAllocs()
	p.c = newCluster(st.Nodes(), p.allocs)
	p.items = make([]item, len(list))
	for i, j := range list {
		q := s.queue(j.Queue)
		it := item{job: j, q: q, limit: forever}
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
		p.items[i] = it
	}
	sortItems(p.items)
	return p
}

// limitOf is a job's time limit in nanoseconds: its own, else its queue's
// default, else the configured default, else forever.
func (s *Scheduler) limitOf(j *structs.Job, q *queueInfo) int64 {
	switch {
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

func (p *pass) schedule(plan *structs.Plan) {
	p.prepareCounters()
	for idx := range p.items {
		it := &p.items[idx]
		ws, cancel := p.consider(it, plan)
		if ws.Code == "" {
			continue // placed
		}
		ws.JobID = it.job.ID
		if cancel {
			plan.Cancel = append(plan.Cancel, ws)
		} else {
			plan.Waiting = append(plan.Waiting, ws)
		}
	}
}

// prepareCounters counts what quotas and sweeps need from the live
// allocations, only when some rule needs it.
func (p *pass) prepareCounters() {
	cfg := &p.s.cfg
	p.quotas = len(cfg.UserQuotas) > 0 || len(cfg.GroupQuotas) > 0 ||
		cfg.DefaultUserQuota != (structs.Quota{}) || cfg.DefaultGroupQuota != (structs.Quota{})
	arrays := false
	for _, j := range p.pending {
		if j.MaxParallel > 0 && j.ArrayID != "" {
			arrays = true
			break
		}
	}
	if !p.quotas && !arrays {
		return
	}
	p.userGPUs, p.groupGPUs = map[string]int{}, map[string]int{}
	p.userPending, p.groupPending = map[string]int{}, map[string]int{}
	p.arrayRunning = map[string]int{}
	seen := map[string]bool{}
	for _, a := range p.allocs {
		j := p.st.Job(a.JobID)
		if j == nil {
			continue
		}
		p.userGPUs[j.User] += len(a.GPUs)
		if j.Group != "" {
			p.groupGPUs[j.Group] += len(a.GPUs)
		}
		if j.ArrayID != "" && !seen[j.ID] {
			seen[j.ID] = true
			p.arrayRunning[j.ArrayID]++
		}
	}
}

func (p *pass) quotaOf(user, group string) (structs.Quota, structs.Quota) {
	cfg := &p.s.cfg
	uq, ok := cfg.UserQuotas[user]
	if !ok {
		uq = cfg.DefaultUserQuota
	}
	gq := structs.Quota{}
	if group != "" {
		if q, ok := cfg.GroupQuotas[group]; ok {
			gq = q
		} else {
			gq = cfg.DefaultGroupQuota
		}
	}
	return uq, gq
}

// consider decides one job: it is placed (zero WaitStatus returned), waits
// for one reason, or is cancelled (cancel true).
func (p *pass) consider(it *item, plan *structs.Plan) (structs.WaitStatus, bool) {
	j := it.job
	q := it.q
	if q == nil {
		return wait(structs.WaitNoNodeFits, fmt.Sprintf("NoNodeFits: queue %q does not exist", queueName(j.Queue))), false
	}
	if err := j.Resources.Validate(); err != nil {
		// The server validates jobs at submit; never trust it to have.
		return wait(structs.WaitNoNodeFits, "NoNodeFits: invalid request: "+err.Error()), false
	}
	if r := p.queueLimits(j, q); r != "" {
		return wait(structs.WaitNoNodeFits, r), false
	}
	if j.BeginTime.After(p.now) {
		ws := wait(structs.WaitBeginTime, "BeginTime: starts no earlier than "+j.BeginTime.UTC().Format(time.RFC3339))
		ws.EstimatedStart = j.BeginTime
		return ws, false
	}
	if r, cancel := p.dependencies(j); r != "" {
		return wait(structs.WaitDependency, r), cancel
	}
	nodes := max(j.Resources.Nodes, 1)
	gpus := j.Resources.GPU.Count * nodes
	if p.quotas {
		uq, gq := p.quotaOf(j.User, j.Group)
		p.userPending[j.User]++
		if j.Group != "" {
			p.groupPending[j.Group]++
		}
		if uq.MaxPending > 0 && p.userPending[j.User] > uq.MaxPending {
			return wait(structs.WaitQuota, fmt.Sprintf("QuotaExceeded: user %s may have %d pending jobs considered at once", j.User, uq.MaxPending)), false
		}
		if gq.MaxPending > 0 && p.groupPending[j.Group] > gq.MaxPending {
			return wait(structs.WaitQuota, fmt.Sprintf("QuotaExceeded: group %s may have %d pending jobs considered at once", j.Group, gq.MaxPending)), false
		}
		if uq.MaxGPUs > 0 && p.userGPUs[j.User]+gpus > uq.MaxGPUs {
			return wait(structs.WaitQuota, fmt.Sprintf("QuotaExceeded: user %s uses %d of %d GPUs, this job needs %d", j.User, p.userGPUs[j.User], uq.MaxGPUs, gpus)), false
		}
		if gq.MaxGPUs > 0 && p.groupGPUs[j.Group]+gpus > gq.MaxGPUs {
			return wait(structs.WaitQuota, fmt.Sprintf("QuotaExceeded: group %s uses %d of %d GPUs, this job needs %d", j.Group, p.groupGPUs[j.Group], gq.MaxGPUs, gpus)), false
		}
	}
	if j.MaxParallel > 0 && j.ArrayID != "" && p.arrayRunning[j.ArrayID] >= j.MaxParallel {
		return wait(structs.WaitParallel, fmt.Sprintf("ArrayLimit: sweep %s already runs %d jobs (max_parallel %d)", j.ArrayID, p.arrayRunning[j.ArrayID], j.MaxParallel)), false
	}
	if p.c.ready == 0 {
		return wait(structs.WaitNoNodes, "NoNodes: the cluster has no ready node"+unreadyNote(p.c.nodes, nil)), false
	}
	sh := p.shapeOf(j, q)
	if sh.eligCount < nodes {
		return wait(structs.WaitNoNodeFits, sh.reason), false
	}

	end := addNs(p.nowNs, it.limit)
	if !p.allBlocked { // else it cannot fit: every node is held for a higher job
		p.nodeBuf = p.c.find(sh, nodes, p.blocked, p.resv, end, p.nodeBuf[:0])
		if len(p.nodeBuf) == nodes {
			p.place(it, sh, end, plan)
			return structs.WaitStatus{}, false
		}
	}

	// It waits. Because of a higher job, or because there is no room?
	var ws structs.WaitStatus
	if (p.blocked != nil || p.resv != nil) && len(p.c.find(sh, nodes, nil, nil, 0, p.nodeBuf[:0])) == nodes {
		by := p.firstBlocker
		if p.resv != nil {
			by = p.resv.jobID
		}
		if p.prioReasonFor != by {
			p.prioReason, p.prioReasonFor = "Priority: waiting behind higher-priority job "+by, by
		}
		ws = wait(structs.WaitPriority, p.prioReason)
	} else {
		ws = wait(structs.WaitResources, p.resourcesReason(sh))
		if p.s.cfg.Preemption && nodes == 1 {
			if r := p.preempt(it, sh, plan); r != "" {
				ws.Reason = r
			}
		}
	}
	est := int64(0)
	if p.s.cfg.Backfill {
		if p.resv == nil && ws.Code == structs.WaitResources {
			p.resv = p.reserve(it, sh)
			if p.resv != nil {
				est = p.resv.start
			}
		}
	} else {
		if p.blocked == nil {
			p.blocked = make([]uint64, p.c.words)
			p.firstBlocker = j.ID
		}
		all := true
		for w := range p.blocked {
			p.blocked[w] |= sh.elig[w]
			if p.blocked[w] != p.c.schedMask[w] {
				all = false
			}
		}
		p.allBlocked = all
	}
	if est == 0 && !p.s.cfg.SkipEstimates {
		est = p.estimate(sh)
		if ws.Code == structs.WaitPriority {
			if p.resv != nil {
				est = max(est, p.resv.start)
			} else {
				est = max(est, p.blockerEst)
			}
		}
	}
	if !p.s.cfg.Backfill && est > p.blockerEst {
		p.blockerEst = est
	}
	if est > 0 && est != forever {
		ws.EstimatedStart = time.Unix(0, est).UTC()
	}
	return ws, false
}

func wait(code structs.WaitCode, reason string) structs.WaitStatus {
	return structs.WaitStatus{Code: code, Reason: reason}
}

func queueName(q string) string {
	if q == "" {
		return DefaultQueue
	}
	return q
}

// queueLimits returns why a job breaks its queue's limits, or "".
func (p *pass) queueLimits(j *structs.Job, q *queueInfo) string {
	c := &q.cfg
	if c.MaxTimeLimit > 0 && j.TimeLimit > c.MaxTimeLimit {
		return fmt.Sprintf("QueueLimit: time limit %s exceeds queue %s's maximum of %s", j.TimeLimit, c.Name, c.MaxTimeLimit)
	}
	if n := j.Resources.GPU.Count * max(j.Resources.Nodes, 1); c.MaxGPUsPerJob > 0 && n > c.MaxGPUsPerJob {
		return fmt.Sprintf("QueueLimit: needs %d GPUs, queue %s allows %d per job", n, c.Name, c.MaxGPUsPerJob)
	}
	if q.allowed != nil && !q.allowed[j.Group] {
		return fmt.Sprintf("QueueLimit: group %q may not use queue %s", j.Group, c.Name)
	}
	return ""
}

// dependencies returns why a job waits for others, or "" when they are
// satisfied; cancel is true when they never can be.
func (p *pass) dependencies(j *structs.Job) (string, bool) {
	waitFor := ""
	for _, d := range j.DependsOn {
		dj := p.st.Job(d.JobID)
		if dj == nil {
			return "DependencyNeverSatisfied", true
		}
		if !dj.Status.Terminal() {
			if waitFor == "" {
				waitFor = fmt.Sprintf("Dependency: waiting for job %s to end (%s)", d.JobID, d.Type)
			}
			continue
		}
		ok := dj.Status == structs.JobComplete
		switch d.Type {
		case structs.AfterOK:
			if !ok {
				return "DependencyNeverSatisfied", true
			}
		case structs.AfterNotOK:
			if ok {
				return "DependencyNeverSatisfied", true
			}
		}
	}
	return waitFor, false
}

// resourcesReason says what is missing on the best node now; it is cached
// per shape until the cluster changes.
func (p *pass) resourcesReason(sh *shape) string {
	if sh.waitVer != p.c.version {
		sh.waitReason = p.computeResourcesReason(sh)
		sh.waitVer = p.c.version
	}
	return sh.waitReason
}

func (p *pass) computeResourcesReason(sh *shape) string {
	c := p.c
	k := sh.key
	bestGPU, fitting := -1, 0
	var bestCPU float64
	var bestMem int64
	for w, word := range sh.elig {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			if c.fitsNow(i, sh) {
				fitting++
			}
			if f := c.freeMatching(i, sh); f > bestGPU {
				bestGPU, bestCPU, bestMem = f, c.ns[i].cpu, c.ns[i].mem
			}
		}
	}
	if k.nodes > 1 {
		return fmt.Sprintf("Resources: needs %d nodes with %s free, %d have them now", k.nodes, gpuWords(k.gpu), fitting)
	}
	switch {
	case bestGPU < k.gpu.Count:
		return fmt.Sprintf("Resources: needs %s, %d free on the best node", gpuWords(k.gpu), max(bestGPU, 0))
	case bestCPU+cpuEpsilon < k.cpu:
		return fmt.Sprintf("Resources: needs %s CPUs, %s free on the node with most free GPUs", fmtCPU(k.cpu), fmtCPU(max(bestCPU, 0)))
	case bestMem < k.mem:
		return fmt.Sprintf("Resources: needs %s of memory, %s free on the node with most free GPUs", structs.FormatSize(k.mem), structs.FormatSize(max(bestMem, 0)))
	}
	return fmt.Sprintf("Resources: no node has %s, %s CPUs and %s free together", gpuWords(k.gpu), fmtCPU(k.cpu), structs.FormatSize(k.mem))
}

// place commits the nodes in p.nodeBuf to the job.
func (p *pass) place(it *item, sh *shape, end int64, plan *structs.Plan) {
	j := it.job
	for rank, i := range p.nodeBuf {
		p.gpuBuf = p.c.pickGPUs(i, sh, sh.key.gpu.Count, p.gpuBuf[:0])
		idx := make([]int, len(p.gpuBuf))
		for k, pos := range p.gpuBuf {
			idx[k] = p.c.nodes[i].GPUs[pos].Index
		}
		p.c.take(i, p.gpuBuf, sh.key.cpu, sh.key.mem)
		if p.resv != nil {
			p.resv.consume(i, sh, end)
		}
		p.placed = append(p.placed, runInfo{node: i, gpus: idx, cpu: sh.key.cpu, mem: sh.key.mem, end: end})
		plan.Placements = append(plan.Placements, structs.Placement{JobID: j.ID, NodeID: p.c.nodes[i].ID, GPUs: idx, Rank: rank})
	}
	if p.userGPUs != nil {
		n := sh.key.gpu.Count * sh.key.nodes
		p.userGPUs[j.User] += n
		if j.Group != "" {
			p.groupGPUs[j.Group] += n
		}
		if j.ArrayID != "" {
			p.arrayRunning[j.ArrayID]++
		}
	}
}

// ensureRun builds the list of resource holders with their expected end
// times, once per pass.
func (p *pass) ensureRun() {
	if p.runBuilt {
		if p.merged < len(p.placed) {
			p.run = append(p.run, p.placed[p.merged:]...)
			p.merged = len(p.placed)
			p.runSorted = false
		}
		return
	}
	p.runBuilt = true
	p.run = make([]runInfo, 0, len(p.allocs)+16)
	var lastJob *structs.Job
	for _, a := range p.allocs {
		i, ok := p.c.index(a.NodeID)
		if !ok {
			continue
		}
		j := lastJob
		if j == nil || j.ID != a.JobID {
			j = p.st.Job(a.JobID)
			lastJob = j
		}
		limit := int64(forever)
		if j != nil {
			limit = p.s.limitOf(j, p.s.queue(j.Queue))
		}
		start := a.ClientStatus.StartTime
		if start.IsZero() {
			start = a.CreateTime
		}
		startNs := p.nowNs
		if !start.IsZero() {
			startNs = start.UnixNano()
		}
		end := addNs(startNs, limit)
		if end < p.nowNs || a.DesiredStatus == structs.DesiredStop {
			end = p.nowNs // over its limit or asked to stop: it ends soon
		}
		p.run = append(p.run, runInfo{node: i, gpus: a.GPUs, cpu: a.Resources.CPU, mem: a.Resources.MemoryBytes, end: end})
	}
	p.run = append(p.run, p.placed...)
	p.merged = len(p.placed)
}

func (p *pass) sortedRun() []runInfo {
	p.ensureRun()
	if !p.runSorted {
		slices.SortStableFunc(p.run, func(a, b runInfo) int {
			if a.end != b.end {
				if a.end < b.end {
					return -1
				}
				return 1
			}
			return a.node - b.node
		})
		p.runSorted = true
	}
	return p.run
}
