package scheduler

import "github.com/nai-project/nai/structs"

// reservation holds nodes for the top blocked job from the time enough of
// them will be free (EASY backfill). A lower job may start now on a
// reserved node only if it ends by start, or if it fits in what the
// reserved job leaves spare on that node.
type reservation struct {
	jobID     string
	start     int64 // unix nanos
	exclusive bool  // the reserved job wants its nodes to itself
	nodes     []int
	spareGPU  []int
	spareCPU  []float64
	spareMem  []int64
}

func (r *reservation) index(i int) int {
	for k, n := range r.nodes {
		if n == i {
			return k
		}
	}
	return -1
}

// fits reports whether a job that outlives the reservation's start may use
// node i. Nothing shares a reserved node with an exclusive job, whichever
// of the two is exclusive.
func (r *reservation) fits(i int, sh *shape) bool {
	k := r.index(i)
	if k < 0 {
		return true
	}
	if r.exclusive || sh.key.exclusive {
		return false
	}
	return r.spareGPU[k] >= sh.key.gpu.Count && r.spareCPU[k]+cpuEpsilon >= sh.key.cpu && r.spareMem[k] >= sh.key.mem
}

// consume records a backfilled job on node i that ends at end.
func (r *reservation) consume(i int, sh *shape, end int64) {
	if end <= r.start {
		return
	}
	if k := r.index(i); k >= 0 {
		r.spareGPU[k] -= sh.key.gpu.Count
		r.spareCPU[k] -= sh.key.cpu
		r.spareMem[k] -= sh.key.mem
	}
}

// reserve computes the reservation of a blocked job, or nil when the
// running jobs' limits never free enough room (they run forever).
func (p *pass) reserve(it *item, sh *shape) *reservation {
	at, r := p.earliest(sh, true)
	if r == nil {
		return nil
	}
	r.jobID = it.job.ID
	r.start = at
	return r
}

// estimate is the earliest time the shape fits as running jobs reach their
// time limits, ignoring other pending jobs; cached per shape and pass.
func (p *pass) estimate(sh *shape) int64 {
	if !sh.estDone {
		sh.est, sh.estNode, _ = p.earliestBy(sh, false)
		sh.estDone = true
	}
	return sh.est
}

// matchCount counts the GPUs (by index) of node i that satisfy the shape.
func (c *cluster) matchCount(i int, gpus []int, sh *shape) int {
	n := 0
	for _, g := range gpus {
		if p := c.gpuPos(i, g); p >= 0 && c.nodes[i].GPUs[p].Healthy && (!sh.constrained || gpuMatches(&c.nodes[i].GPUs[p], &sh.key.gpu)) {
			n++
		}
	}
	return n
}

// ensureRun builds the list of resource holders with their expected end
// times, once per pass.
func (p *pass) ensureRun() {
	if p.runBuilt {
		if p.merged < len(p.placed) {
			p.run = append(p.run, p.placed[p.merged:]...)
			p.merged = len(p.placed)
			p.runGrouped = false
		}
		return
	}
	p.runBuilt = true
	p.run = make([]runInfo, 0, len(p.allocs)+16)
	var lastJob *structs.Job
	for k, a := range p.allocs {
		i := int(p.c.allocNode[k])
		if i < 0 {
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
		p.run = append(p.run, runInfo{node: i, gpus: a.GPUs, cpu: a.Resources.CPU, mem: a.Resources.MemoryBytes, end: end, excl: a.Resources.Exclusive})
	}
	p.run = append(p.run, p.placed...)
	p.merged = len(p.placed)
}
