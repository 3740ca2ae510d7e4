package scheduler

import (
	"cmp"
	"slices"

	"github.com/nai-project/nai/structs"
)

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
		sh.est, _ = p.earliest(sh, false)
		sh.estDone = true
	}
	return sh.est
}

// earliest replays the running jobs' ends in time order on the nodes the
// shape may use until enough of them fit it. With pick it also chooses the
// nodes (best fit at that time) and what they keep spare.
//
// When exclusivity matters (the shape is exclusive, or an exclusive job
// holds some node) it also replays who holds each node: an exclusive shape
// fits a node once every holder has ended, any shape once its exclusive
// holders have.
func (p *pass) earliest(sh *shape, pick bool) (int64, *reservation) {
	c := p.c
	need := sh.key.gpu.Count
	fg := make([]int, len(c.nodes))
	fc := make([]float64, len(c.nodes))
	fm := make([]int64, len(c.nodes))
	excl := sh.key.exclusive || c.anyExcl
	var fh, fx []int32 // holders, exclusive holders
	if excl {
		fh = make([]int32, len(c.nodes))
		fx = make([]int32, len(c.nodes))
	}
	isElig := func(i int) bool { return sh.elig[i/64]&(1<<(uint(i)%64)) != 0 }
	fitsAt := func(i int) bool {
		return fg[i] >= need && fc[i]+cpuEpsilon >= sh.key.cpu && fm[i] >= sh.key.mem &&
			(!excl || fx[i] == 0 && (!sh.key.exclusive || fh[i] == 0))
	}
	fitting := 0
	for i := range c.nodes {
		if !isElig(i) {
			continue
		}
		fg[i], fc[i], fm[i] = c.freeMatching(i, sh), c.ns[i].cpu, c.ns[i].mem
		if excl {
			fh[i], fx[i] = c.ns[i].holders, c.ns[i].excl
		}
		if fitsAt(i) {
			fitting++
		}
	}
	at := int64(forever)
	if fitting >= sh.key.nodes {
		at = p.nowNs
	} else {
		run := p.sortedRun()
		for k, r := range run {
			if r.end == forever {
				break
			}
			if isElig(r.node) {
				before := fitsAt(r.node)
				fg[r.node] += c.matchCount(r.node, r.gpus, sh)
				fc[r.node] += r.cpu
				fm[r.node] += r.mem
				if excl {
					fh[r.node]--
					if r.excl {
						fx[r.node]--
					}
				}
				if !before && fitsAt(r.node) {
					fitting++
				}
			}
			if fitting >= sh.key.nodes && (k+1 == len(run) || run[k+1].end != r.end) {
				at = max(r.end, p.nowNs)
				break
			}
		}
	}
	if at == forever || !pick {
		return at, nil
	}
	var cand []int
	for i := range c.nodes {
		if isElig(i) && fitsAt(i) {
			cand = append(cand, i)
		}
	}
	slices.SortFunc(cand, func(a, b int) int {
		if x := cmp.Compare(fg[a], fg[b]); x != 0 {
			return x
		}
		return cmp.Compare(a, b)
	})
	cand = cand[:sh.key.nodes]
	r := &reservation{nodes: cand, exclusive: sh.key.exclusive}
	for _, i := range cand {
		r.spareGPU = append(r.spareGPU, fg[i]-need)
		r.spareCPU = append(r.spareCPU, fc[i]-sh.key.cpu)
		r.spareMem = append(r.spareMem, fm[i]-sh.key.mem)
	}
	return at, r
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
		p.run = append(p.run, runInfo{node: i, gpus: a.GPUs, cpu: a.Resources.CPU, mem: a.Resources.MemoryBytes, end: end, excl: a.Resources.Exclusive})
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
