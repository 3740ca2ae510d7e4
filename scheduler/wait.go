package scheduler

import (
	"math/bits"
	"time"

	"github.com/nai-project/nai/structs"
)

// wait decides why a job that fits some node, but cannot start now, waits,
// and what it holds back from the jobs after it:
//
//   - Priority when it would fit but a higher blocked job holds the nodes
//     (strict blocking or the backfill reservation); else Resources, with
//     the per-node filter counts, and a preemption when it may stop
//     lower-tier jobs (preempt.go).
//   - Blocking: with backfill the first job waiting for resources gets the
//     reservation (backfill.go); without, every job that waits holds the
//     nodes it could use against all lower jobs.
//   - The estimated start from the running jobs' time limits.
func (p *pass) wait(it *item, sh *shape, plan *structs.Plan) structs.WaitStatus {
	var ws structs.WaitStatus
	if (p.blocked != nil || p.resv != nil) && len(p.c.find(sh, sh.key.nodes, nil, nil, 0, p.nodeBuf[:0])) == sh.key.nodes {
		by := p.firstBlocker
		if p.resv != nil {
			by = p.resv.jobID
		}
		if p.prioFor != by {
			p.prioWait, p.prioFor = structs.WaitBehind(by), by
		}
		ws = p.prioWait
	} else {
		ws = p.resourcesWait(sh)
		if p.s.cfg.Preemption && sh.key.nodes == 1 {
			if pw, ok := p.preempt(it, sh, plan); ok {
				pw.NodeFilters = ws.NodeFilters
				ws = pw
			}
		}
	}
	est := p.hold(it, sh, ws.Code)
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
		p.cand = sh
	}
	return ws
}

// hold keeps what a waiting job may claim away from lower jobs: the
// backfill reservation for the first job waiting for resources, or, with
// strict priority, every node it could use. It returns the reservation's
// start when it made one, else 0.
func (p *pass) hold(it *item, sh *shape, code structs.WaitCode) int64 {
	if p.s.cfg.Backfill {
		if p.resv == nil && code == structs.WaitResources {
			if p.resv = p.reserve(it, sh); p.resv != nil {
				return p.resv.start
			}
		}
		return 0
	}
	if p.blocked == nil {
		p.blocked = make([]uint64, p.c.words)
		p.firstBlocker = it.job.ID
	}
	all := true
	for w := range p.blocked {
		p.blocked[w] |= sh.elig[w]
		if p.blocked[w] != p.c.schedMask[w] {
			all = false
		}
	}
	p.allBlocked = all
	return 0
}

// resourcesWait says what is missing on the best node now and counts the
// nodes by the filter they fail; cached per shape until the cluster
// changes.
func (p *pass) resourcesWait(sh *shape) structs.WaitStatus {
	if sh.waitVer != p.c.version {
		sh.wait = p.computeResourcesWait(sh)
		sh.waitVer = p.c.version
	}
	return sh.wait
}

func (p *pass) computeResourcesWait(sh *shape) structs.WaitStatus {
	c := p.c
	k := sh.key
	fc := sh.static
	bestGPU, fitting := -1, 0
	var bestCPU float64
	var bestMem int64
	for w, word := range sh.elig {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			free := c.freeMatching(i, sh)
			if f := c.nowFilter(i, sh, free); f < numFilters {
				fc[f]++
			} else {
				fitting++
			}
			if c.shareable(i, sh) && free > bestGPU {
				bestGPU, bestCPU, bestMem = free, c.ns[i].cpu, c.ns[i].mem
			}
		}
	}
	var ws structs.WaitStatus
	switch {
	case k.nodes > 1:
		ws = structs.WaitGangResources(k.nodes, k.gpu, fitting)
	case bestGPU < 0 && k.exclusive:
		ws = structs.WaitNoIdleNode(sh.eligCount)
	case bestGPU < 0:
		ws = structs.WaitExclusiveHeld()
	case bestGPU < k.gpu.Count:
		ws = structs.WaitFreeGPUs(k.gpu, bestGPU)
	case bestCPU+cpuEpsilon < k.cpu:
		ws = structs.WaitFreeCPUs(k.cpu, max(bestCPU, 0))
	case bestMem < k.mem:
		ws = structs.WaitFreeMemory(k.mem, max(bestMem, 0))
	case k.ports > 0 && fc[fFreePorts] > 0:
		ws = structs.WaitFreePorts(int(fc[fFreePorts]))
	default:
		ws = structs.WaitNoNodeHasAllFree(k.gpu, k.cpu, k.mem)
	}
	ws.NodeFilters = fc.list()
	return ws
}
