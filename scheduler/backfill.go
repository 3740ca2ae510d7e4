package scheduler

import (
	"cmp"
	"slices"
)

// reservation holds nodes for the top blocked job from the time enough of
// them will be free (EASY backfill). A lower job may start now on a
// reserved node only if it ends by start, or if it fits in what the
// reserved job leaves spare on that node.
type reservation struct {
	jobID    string
	start    int64 // unix nanos
	nodes    []int
	spareGPU []int
	spareCPU []float64
	spareMem []int64
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
// node i.
func (r *reservation) fits(i int, sh *shape) bool {
	k := r.index(i)
	if k < 0 {
		return true
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
func (p *pass) earliest(sh *shape, pick bool) (int64, *reservation) {
	c := p.c
	need := sh.key.gpu.Count
	fg := make([]int, len(c.nodes))
	fc := make([]float64, len(c.nodes))
	fm := make([]int64, len(c.nodes))
	isElig := func(i int) bool { return sh.elig[i/64]&(1<<(uint(i)%64)) != 0 }
	fitsAt := func(i int) bool { return fg[i] >= need && fc[i]+cpuEpsilon >= sh.key.cpu && fm[i] >= sh.key.mem }
	fitting := 0
	for i := range c.nodes {
		if !isElig(i) {
			continue
		}
		fg[i], fc[i], fm[i] = c.freeMatching(i, sh), c.ns[i].cpu, c.ns[i].mem
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
	r := &reservation{nodes: cand}
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
