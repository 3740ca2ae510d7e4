package scheduler

import (
	"cmp"
	"math/bits"
	"slices"

	"github.com/nai-project/nai/structs"
)

// preemptState lists, per node, the running allocations a higher job may
// stop, and what is already being stopped.
type preemptState struct {
	victims  map[int][]victim
	stopping map[int]*held
	chosen   map[string]bool
	any      bool
}

type victim struct {
	alloc *structs.Allocation
	tier  int
	cost  float64 // GPU-hours of work lost if stopped now
}

// held is what the allocations already stopping on a node will give back.
type held struct {
	gpus    []int
	cpu     float64
	mem     int64
	holders int32
	excl    int32
	ports   int32
}

func (p *pass) preemptInfo() *preemptState {
	if p.pre != nil {
		return p.pre
	}
	ps := &preemptState{victims: map[int][]victim{}, stopping: map[int]*held{}, chosen: map[string]bool{}}
	p.pre = ps
	for k, a := range p.allocs {
		i := int(p.c.allocNode[k])
		if i < 0 {
			continue
		}
		if a.DesiredStatus == structs.DesiredStop {
			h := ps.stopping[i]
			if h == nil {
				h = &held{}
				ps.stopping[i] = h
			}
			h.gpus = append(h.gpus, a.GPUs...)
			h.cpu += a.Resources.CPU
			h.mem += a.Resources.MemoryBytes
			h.ports += int32(a.Resources.Ports)
			h.holders++
			if a.Resources.Exclusive {
				h.excl++
			}
			continue
		}
		j := p.st.Job(a.JobID)
		if j == nil || !j.Preemptible || (j.Resources.Nodes > 1) {
			continue
		}
		q := p.s.queue(j.Queue)
		tier := 0
		if q != nil {
			tier = q.cfg.PriorityTier
		}
		start := a.ClientStatus.StartTime
		if start.IsZero() {
			start = a.CreateTime
		}
		cost := 0.0
		if !start.IsZero() && p.now.After(start) {
			cost = float64(len(a.GPUs)) * p.now.Sub(start).Hours()
		}
		ps.victims[i] = append(ps.victims[i], victim{alloc: a, tier: tier, cost: cost})
		ps.any = true
	}
	return ps
}

// preempt chooses running preemptible jobs of lower queue tiers to stop so
// that the job fits on one node, picking the node and victims that lose
// the least GPU-time. Exclusivity counts: an exclusive job needs every
// other holder of the node gone, any job needs the node's exclusive
// holder gone. It returns the job's wait, and false when preemption
// cannot help.
func (p *pass) preempt(it *item, sh *shape, plan *structs.Plan) (structs.WaitStatus, bool) {
	ps := p.preemptInfo()
	if !ps.any && len(ps.stopping) == 0 {
		return structs.WaitStatus{}, false
	}
	c := p.c
	k := sh.key
	bestNode, bestCost := -1, 0.0
	var best, cands []victim
	for w, word := range sh.elig {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			if p.blocked != nil && p.blocked[w]&(word&-word) != 0 {
				continue
			}
			g, cpu, mem := c.freeMatching(i, sh), c.ns[i].cpu, c.ns[i].mem
			hs, xs := c.ns[i].holders, c.ns[i].excl // holders that stay, exclusive ones among them
			pt := c.ns[i].ports
			if h := ps.stopping[i]; h != nil {
				g += c.matchCount(i, h.gpus, sh)
				cpu += h.cpu
				mem += h.mem
				hs -= h.holders
				xs -= h.excl
				pt += h.ports
			}
			fits := func() bool {
				return g >= k.gpu.Count && cpu+cpuEpsilon >= k.cpu && mem >= k.mem && xs == 0 && (!k.exclusive || hs == 0) &&
					pt >= int32(k.ports)
			}
			if fits() {
				return structs.WaitPreemptionStopping(c.nodes[i].Name), true
			}
			cands = cands[:0]
			for _, v := range ps.victims[i] {
				if v.tier < it.tier && !ps.chosen[v.alloc.ID] {
					cands = append(cands, v)
				}
			}
			slices.SortFunc(cands, func(a, b victim) int {
				if x := cmp.Compare(a.cost, b.cost); x != 0 {
					return x
				}
				return cmp.Compare(a.alloc.ID, b.alloc.ID)
			})
			n := 0
			for n < len(cands) && !fits() {
				v := cands[n]
				g += c.matchCount(i, v.alloc.GPUs, sh)
				cpu += v.alloc.Resources.CPU
				mem += v.alloc.Resources.MemoryBytes
				pt += int32(v.alloc.Resources.Ports)
				hs, xs = hs-1, xs-exclusiveCount(v.alloc)
				n++
			}
			if !fits() {
				continue
			}
			// Drop victims that turned out unneeded, dearest first.
			chosen := slices.Clone(cands[:n])
			for x := len(chosen) - 1; x >= 0; x-- {
				v := chosen[x]
				dg, dx := c.matchCount(i, v.alloc.GPUs, sh), exclusiveCount(v.alloc)
				dp := int32(v.alloc.Resources.Ports)
				g, cpu, mem, pt = g-dg, cpu-v.alloc.Resources.CPU, mem-v.alloc.Resources.MemoryBytes, pt-dp
				hs, xs = hs+1, xs+dx
				if fits() {
					chosen = slices.Delete(chosen, x, x+1)
					continue
				}
				g, cpu, mem, pt = g+dg, cpu+v.alloc.Resources.CPU, mem+v.alloc.Resources.MemoryBytes, pt+dp
				hs, xs = hs-1, xs-dx
			}
			cost := 0.0
			for _, v := range chosen {
				cost += v.cost
			}
			if bestNode < 0 || cost < bestCost || (cost == bestCost && len(chosen) < len(best)) {
				bestNode, bestCost, best = i, cost, chosen
			}
		}
	}
	if bestNode < 0 {
		return structs.WaitStatus{}, false
	}
	for _, v := range best {
		ps.chosen[v.alloc.ID] = true
		plan.Preempt = append(plan.Preempt, structs.Preemption{AllocID: v.alloc.ID, JobID: v.alloc.JobID, ForJobID: it.job.ID})
	}
	return structs.WaitPreempting(len(best), c.nodes[bestNode].Name), true
}

func exclusiveCount(a *structs.Allocation) int32 {
	if a.Resources.Exclusive {
		return 1
	}
	return 0
}
