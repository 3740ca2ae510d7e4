package scheduler

import "github.com/nai-project/nai/structs"

// placeOrWait is the stage after the gates. A job whose shape no node
// could ever hold waits NoNodeFits; one that finds room now on nodes no
// higher job holds starts; any other waits (wait.go).
func (p *pass) placeOrWait(it *item, plan *structs.Plan) (structs.WaitStatus, verdict) {
	sh := p.shapeOf(it.job, it.q)
	if sh.eligCount < sh.key.nodes {
		return sh.never, hold
	}
	end := addNs(p.nowNs, it.limit)
	if !p.allBlocked { // else it cannot fit: every node is held for a higher job
		p.nodeBuf = p.c.find(sh, sh.key.nodes, p.blocked, p.resv, end, p.nodeBuf[:0])
		if len(p.nodeBuf) == sh.key.nodes {
			p.place(it, sh, end, plan)
			return structs.WaitStatus{}, starts
		}
	}
	return p.wait(it, sh, plan), hold
}

// place commits the nodes in p.nodeBuf to the job: best-connected GPUs on
// each, one placement per node and rank, and the counts the gates keep.
func (p *pass) place(it *item, sh *shape, end int64, plan *structs.Plan) {
	j := it.job
	for rank, i := range p.nodeBuf {
		p.gpuBuf = p.c.pickGPUs(i, sh, sh.key.gpu.Count, p.gpuBuf[:0])
		idx := make([]int, len(p.gpuBuf))
		for k, pos := range p.gpuBuf {
			idx[k] = p.c.nodes[i].GPUs[pos].Index
		}
		p.c.take(i, p.gpuBuf, sh.key.cpu, sh.key.mem, sh.key.exclusive, sh.key.ports)
		if p.resv != nil {
			p.resv.consume(i, sh, end)
		}
		p.placed = append(p.placed, runInfo{node: i, gpus: idx, cpu: sh.key.cpu, mem: sh.key.mem, end: end, excl: sh.key.exclusive})
		if j.IsService() && len(it.slots) > 0 {
			rank, it.slots = it.slots[0], it.slots[1:] // a service's Rank is the replica number
		}
		plan.Placements = append(plan.Placements, structs.Placement{JobID: j.ID, NodeID: p.c.nodes[i].ID, GPUs: idx, Rank: rank})
	}
	if p.userGPUs != nil {
		p.placedQuota(j, sh.key.gpu.Count*sh.key.nodes)
	}
	if p.arrayRunning != nil && j.ArrayID != "" {
		p.arrayRunning[j.ArrayID]++
	}
	if p.single != nil {
		p.placedSingleton(j)
	}
}
