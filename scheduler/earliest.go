package scheduler

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// earliest is the earliest time (unix nanos) at which sh.key.nodes of the
// shape's nodes fit it, as the running jobs reach their time limits and
// nothing else starts; forever when their limits never free enough. With
// pick it also chooses the nodes (best fit at that time) and what they
// keep spare.
//
// Each node's holders are replayed in end order on that node alone: a
// node fits from the end at which enough of its holders are gone (fitTime),
// and the shape fits when the nodes-th node does. That is what a replay of
// every holder in end order across the cluster finds, without sorting
// them all. When exclusivity matters (the shape is exclusive, or an
// exclusive job holds some node) the replay also counts who holds the
// node: an exclusive shape fits a node once every holder has ended, any
// shape once its exclusive holders have.
func (p *pass) earliest(sh *shape, pick bool) (int64, *reservation) {
	at, _, r := p.earliestBy(sh, pick)
	return at, r
}

// earliestBy is earliest, and a node that fits the shape by then: of
// those that fit first, the lowest numbered (-1 when none does).
func (p *pass) earliestBy(sh *shape, pick bool) (int64, int, *reservation) {
	c := p.c
	p.groupRun()
	excl := sh.key.exclusive || c.anyExcl
	want := sh.key.nodes
	fitNow := 0
	first, firstT := -1, int64(forever)
	var times []int64
	for w, word := range sh.elig {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			t := p.fitTime(i, sh, excl)
			if t < firstT {
				first, firstT = i, t
			}
			if t == math.MinInt64 {
				fitNow++
			} else {
				times = append(times, t)
			}
		}
	}
	at := int64(forever)
	switch {
	case fitNow >= want:
		at = p.nowNs
	case want-fitNow <= len(times):
		slices.Sort(times)
		if t := times[want-fitNow-1]; t != forever {
			at = max(t, p.nowNs)
		}
	}
	if at == forever {
		first = -1
	}
	if at == forever || !pick {
		return at, first, nil
	}
	// The nodes that fit at `at`: now, when enough fit now (nothing has
	// ended yet); else once every holder that ends by then has.
	until := at
	if fitNow >= want {
		until = math.MinInt64
	}
	type candidate struct {
		i int
		s nodeFree
	}
	var cand []candidate
	for w, word := range sh.elig {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			s := p.freeAt(i, sh, excl, until)
			if s.fits(sh, excl) {
				cand = append(cand, candidate{i, s})
			}
		}
	}
	slices.SortFunc(cand, func(a, b candidate) int {
		if x := cmp.Compare(a.s.gpus, b.s.gpus); x != 0 {
			return x
		}
		return cmp.Compare(a.i, b.i)
	})
	cand = cand[:want]
	r := &reservation{exclusive: sh.key.exclusive}
	for _, x := range cand {
		r.nodes = append(r.nodes, x.i)
		r.spareGPU = append(r.spareGPU, x.s.gpus-sh.key.gpu.Count)
		r.spareCPU = append(r.spareCPU, x.s.cpu-sh.key.cpu)
		r.spareMem = append(r.spareMem, x.s.mem-sh.key.mem)
	}
	return at, first, r
}

// nodeFree is what one node has free for a shape at some time, and who
// still holds it.
type nodeFree struct {
	gpus    int // free GPUs that match the shape
	cpu     float64
	mem     int64
	holders int32
	excl    int32
}

func (s *nodeFree) fits(sh *shape, excl bool) bool {
	return s.gpus >= sh.key.gpu.Count && s.cpu+cpuEpsilon >= sh.key.cpu && s.mem >= sh.key.mem &&
		(!excl || s.excl == 0 && (!sh.key.exclusive || s.holders == 0))
}

// release adds what run r gives back when it ends.
func (s *nodeFree) release(c *cluster, r *runInfo, sh *shape, excl bool) {
	s.gpus += c.matchCount(r.node, r.gpus, sh)
	s.cpu += r.cpu
	s.mem += r.mem
	if excl {
		s.holders--
		if r.excl {
			s.excl--
		}
	}
}

func (p *pass) freeNow(i int, sh *shape) nodeFree {
	c := p.c
	return nodeFree{gpus: c.freeMatching(i, sh), cpu: c.ns[i].cpu, mem: c.ns[i].mem, holders: c.ns[i].holders, excl: c.ns[i].excl}
}

// fitTime is when node i first fits the shape: math.MinInt64 when it fits
// now, else the end of the holder whose leaving makes it fit, or forever.
// Holders that run forever give nothing back.
func (p *pass) fitTime(i int, sh *shape, excl bool) int64 {
	s := p.freeNow(i, sh)
	if s.fits(sh, excl) {
		return math.MinInt64
	}
	for _, k := range p.runOrder[p.runOff[i]:p.runOff[i+1]] {
		r := &p.run[k]
		if r.end == forever {
			break
		}
		s.release(p.c, r, sh, excl)
		if s.fits(sh, excl) {
			return r.end
		}
	}
	return forever
}

// freeAt is node i's state for the shape once every holder that ends by
// until has ended.
func (p *pass) freeAt(i int, sh *shape, excl bool, until int64) nodeFree {
	s := p.freeNow(i, sh)
	for _, k := range p.runOrder[p.runOff[i]:p.runOff[i+1]] {
		r := &p.run[k]
		if r.end > until || r.end == forever {
			break
		}
		s.release(p.c, r, sh, excl)
	}
	return s
}

// groupRun indexes the resource holders by node, each node's in end
// order (ties in run order, so sums of cores come out the same every
// time): runOrder[runOff[i]:runOff[i+1]] are node i's positions in run.
// Built once per pass, again after placements join run.
func (p *pass) groupRun() {
	p.ensureRun()
	if p.runGrouped {
		return
	}
	p.runGrouped = true
	n := len(p.c.nodes)
	off := make([]int32, n+1)
	for k := range p.run {
		off[p.run[k].node+1]++
	}
	for i := 0; i < n; i++ {
		off[i+1] += off[i]
	}
	order := make([]int32, len(p.run))
	next := slices.Clone(off[:n])
	for k := range p.run {
		nd := p.run[k].node
		order[next[nd]] = int32(k)
		next[nd]++
	}
	byEnd := func(a, b int32) int {
		if x := cmp.Compare(p.run[a].end, p.run[b].end); x != 0 {
			return x
		}
		return cmp.Compare(a, b)
	}
	for i := 0; i < n; i++ {
		s := order[off[i]:off[i+1]]
		if len(s) <= 12 {
			// few holders per node: insertion sort beats the general one
			for x := 1; x < len(s); x++ {
				for y := x; y > 0 && byEnd(s[y-1], s[y]) > 0; y-- {
					s[y-1], s[y] = s[y], s[y-1]
				}
			}
			continue
		}
		slices.SortFunc(s, byEnd)
	}
	p.runOff, p.runOrder = off, order
}
