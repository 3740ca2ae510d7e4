package scheduler

import (
	"cmp"
	"math/bits"
	"slices"
	"time"

	"github.com/nai-project/nai/structs"
)

// Estimates of the jobs queued behind others (conservative backfill's
// profile, used for estimates only).
//
// A waiting job's first estimate (estimate, wait.go) is when running jobs
// free enough room for it, as if no other job waited: two 4-GPU jobs
// behind a reserved one would both be told they start when it does. Here
// the waiting jobs are taken again in the order they were considered, and
// each is given the earliest time at which its nodes stay free for its
// whole time limit, given what the running jobs hold and what every job
// before it has already been given; it then claims that room. The plan's
// placements and reservation do not change: this only makes the estimates
// say who goes first.
//
// Left as they were: jobs held by a gate (dependencies, begin time,
// limits: they claim nothing), shapes asking for a GPU model or memory
// (which GPUs free up matters, not how many), and every estimate of a pass
// where some job wants its nodes to itself. The work is bounded
// (maxRefined jobs, refineBudget node steps; both count work, not time,
// so a plan stays the same for the same input), and the jobs past either
// bound keep their first estimate, which may be earlier than those of the
// jobs ahead of them. Neither a larger window nor clearing the estimates
// past it paid: in the 1,000-node benchmark (BENCH.md, the thirteenth
// pass) the scheduling passes' median went from 1.6 ms to 6.4 ms with a
// window of 256, and to 25.6 ms when the jobs past it lost their
// estimates (probably writes: as fair share reorders the queue, jobs
// cross the window's edge, and an estimate that appears or goes is
// written); with 128 it stayed at 1.6 ms, as without refining.
const (
	maxRefined   = 128
	refineBudget = 1 << 16
)

// estCand is a waiting job whose estimate the profile may refine: its
// position in plan.Waiting, its shape and its time limit.
type estCand struct {
	idx   int
	sh    *shape
	limit int64
}

// step is what one node has free from `at` until the next step's at (the
// last one: for ever).
type step struct {
	at   int64
	gpus int
	cpu  float64
	mem  int64
}

func (s *step) fits(sh *shape) bool {
	return s.gpus >= sh.key.gpu.Count && s.cpu+cpuEpsilon >= sh.key.cpu && s.mem >= sh.key.mem
}

// profile is, for the nodes that hold claims, their free room over time
// (nil for the others, whose room only grows as holders end), and the
// work done so far.
type profile struct {
	nodes  [][]step
	nClaim int
	work   int
	buf    []int // the nodes fitProfile returns
	// order is, per one-node shape, its nodes by the time they fit it as
	// the holders end (without claims: a bound below the time with them).
	order map[*shape][]nodeTime
}

type nodeTime struct {
	t    int64
	node int
}

// refineEstimates is the second look at the estimates described above.
func (p *pass) refineEstimates(plan *structs.Plan) {
	if len(p.estCands) < 2 || p.c.anyExcl {
		return
	}
	p.groupRun()
	pr := &profile{nodes: make([][]step, len(p.c.nodes)), order: map[*shape][]nodeTime{}}
	for _, cand := range p.estCands {
		if pr.work > refineBudget {
			return // out of work: the rest keep their first estimate
		}
		sh := cand.sh
		if sh.constrained || sh.key.exclusive {
			continue
		}
		ws := &plan.Waiting[cand.idx]
		from := ws.EstimatedStart.UnixNano()
		at, nodes := p.fitProfile(pr, sh, from, cand.limit)
		pr.buf = nodes
		if p.resv != nil && ws.JobID == p.resv.jobID && at == p.resv.start {
			nodes = p.resv.nodes // the nodes its reservation holds
		}
		if at == forever {
			// Jobs ahead of it hold what it needs for ever (no time
			// limit): when it starts is not known.
			ws.EstimatedStart = time.Time{}
			continue
		}
		if at != from {
			ws.EstimatedStart = time.Unix(0, at).UTC()
		}
		end := addNs(at, cand.limit)
		for _, i := range nodes {
			if pr.nodes[i] == nil {
				pr.nodes[i] = p.stepsOf(i, sh)
				pr.nClaim++
			}
			pr.nodes[i] = claim(pr.nodes[i], at, end, sh)
		}
	}
}

// fitsFrom is the earliest time from `from` at which node i holds the
// shape's room for dur, or forever.
func (p *pass) fitsFrom(pr *profile, i int, sh *shape, from, dur int64) int64 {
	pr.work++
	if pr.nodes[i] != nil {
		return earliestOn(pr.nodes[i], from, dur, sh, &pr.work)
	}
	// No claim: its room only grows, so it holds the shape for ever from
	// the end that makes it fit.
	t := p.fitTime(i, sh, false)
	if t == forever {
		return forever
	}
	return max(t, from)
}

// fitProfile is the earliest time from `from` at which sh.key.nodes of the
// shape's nodes have its room free for dur, and those nodes (the lowest
// numbered of those that fit then).
func (p *pass) fitProfile(pr *profile, sh *shape, from, dur int64) (int64, []int) {
	want := sh.key.nodes
	if want == 1 {
		// One node: the least of each node's own earliest fit; a node that
		// fits at `from` cannot be beaten. The node that gave the first
		// estimate is tried first: unless a job ahead claimed it, or a
		// job placed later in the pass took it, it still fits at `from`.
		if sh.estDone && sh.estNode >= 0 && p.fitsFrom(pr, sh.estNode, sh, from, dur) == from {
			return from, append(pr.buf[:0], sh.estNode)
		}
		// Else the nodes in the order they fit without claims, which no
		// claim makes earlier: once that bound reaches the best time
		// found, no later node can beat it.
		best, bestNode := int64(forever), -1
		for _, nt := range p.orderOf(pr, sh) {
			if max(nt.t, from) >= best {
				break
			}
			if t := p.fitsFrom(pr, nt.node, sh, from, dur); t < best {
				best, bestNode = t, nt.node
			}
		}
		if bestNode < 0 {
			return forever, nil
		}
		return best, append(pr.buf[:0], bestNode)
	}
	// Several nodes: the first of the times at which some node starts to
	// fit (from, a node without claims once it fits, a step of a node
	// with claims) at which enough of them fit.
	times := []int64{from}
	for w, word := range sh.elig {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			if pr.nodes[i] == nil {
				if t := p.fitsFrom(pr, i, sh, from, dur); t != forever {
					times = append(times, t)
				}
				continue
			}
			for _, s := range pr.nodes[i] {
				if s.at > from {
					times = append(times, s.at)
				}
			}
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	for _, t := range times {
		nodes := pr.buf[:0]
		for w, word := range sh.elig {
			for ; word != 0; word &= word - 1 {
				i := w*64 + bits.TrailingZeros64(word)
				if p.fitsFrom(pr, i, sh, t, dur) == t {
					if nodes = append(nodes, i); len(nodes) == want {
						return t, nodes
					}
				}
			}
		}
		if pr.work > refineBudget {
			break
		}
	}
	return forever, nil
}

// orderOf is the shape's eligible nodes that ever fit it, by the time
// they do without claims (ties by number), computed once per pass.
func (p *pass) orderOf(pr *profile, sh *shape) []nodeTime {
	if o, ok := pr.order[sh]; ok {
		return o
	}
	var o []nodeTime
	for w, word := range sh.elig {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			pr.work++
			if t := p.fitTime(i, sh, false); t != forever {
				o = append(o, nodeTime{t, i})
			}
		}
	}
	slices.SortFunc(o, func(a, b nodeTime) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return cmp.Compare(a.node, b.node)
	})
	pr.order[sh] = o
	return o
}

// stepsOf is node i's profile: what it has free now, then after each
// holder's end in end order. Holders that run for ever give nothing back.
func (p *pass) stepsOf(i int, sh *shape) []step {
	f := p.freeNow(i, sh)
	cur := step{at: p.nowNs, gpus: f.gpus, cpu: f.cpu, mem: f.mem}
	// Room for the holders' ends and for the two steps a claim adds.
	steps := make([]step, 1, 3+p.runOff[i+1]-p.runOff[i])
	steps[0] = cur
	for _, k := range p.runOrder[p.runOff[i]:p.runOff[i+1]] {
		r := &p.run[k]
		if r.end == forever {
			break
		}
		cur.gpus += p.c.matchCount(i, r.gpus, sh)
		cur.cpu += r.cpu
		cur.mem += r.mem
		if last := &steps[len(steps)-1]; r.end <= last.at {
			// Ends now (over its limit, or asked to stop) or with the
			// step before: one step.
			*last = step{at: last.at, gpus: cur.gpus, cpu: cur.cpu, mem: cur.mem}
			continue
		}
		cur.at = r.end
		steps = append(steps, cur)
	}
	return steps
}

// earliestOn is the earliest time from `from` at which the node's steps
// hold the shape's room for dur without a break, or forever.
func earliestOn(steps []step, from, dur int64, sh *shape, work *int) int64 {
	start := int64(-1)
	for k := range steps {
		*work++
		end := int64(forever)
		if k+1 < len(steps) {
			end = steps[k+1].at
		}
		if end <= from {
			continue
		}
		if !steps[k].fits(sh) {
			start = -1
			continue
		}
		if start < 0 {
			start = max(steps[k].at, from)
		}
		if addNs(start, dur) <= end || end == forever {
			return start
		}
	}
	return forever
}

// claim takes the shape's room from a node's steps over [from, to).
func claim(steps []step, from, to int64, sh *shape) []step {
	steps = split(steps, from)
	if to != forever {
		steps = split(steps, to)
	}
	for k := range steps {
		if steps[k].at >= from && (to == forever || steps[k].at < to) {
			steps[k].gpus -= sh.key.gpu.Count
			steps[k].cpu -= sh.key.cpu
			steps[k].mem -= sh.key.mem
		}
	}
	return steps
}

// split makes t the start of a step, copying the room of the step that
// holds it.
func split(steps []step, t int64) []step {
	for k := range steps {
		if steps[k].at == t {
			return steps
		}
		if steps[k].at > t {
			if k == 0 {
				return steps // before the profile's start: nothing to split
			}
			s := steps[k-1]
			s.at = t
			steps = append(steps, step{})
			copy(steps[k+1:], steps[k:])
			steps[k] = s
			return steps
		}
	}
	s := steps[len(steps)-1]
	s.at = t
	return append(steps, s)
}
