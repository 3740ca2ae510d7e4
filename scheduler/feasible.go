package scheduler

import (
	"fmt"
	"strconv"

	"github.com/nai-project/nai/structs"
)

// shapeKey is what decides where a job could ever run. Jobs with the same
// key share one feasibility result per pass, which keeps a pass over
// thousands of similar jobs cheap.
type shapeKey struct {
	gpu   structs.GPURequest
	nodes int
	cpu   float64
	mem   int64
	queue string
}

// shape is the static feasibility of one shapeKey in one pass.
type shape struct {
	key         shapeKey
	elig        []uint64 // schedulable nodes of the queue that could hold one node's share
	eligCount   int
	constrained bool // asks for a GPU model or memory
	reason      string
	// est is the earliest time (unix nanos) the shape fits as running
	// jobs end, ignoring other pending jobs; estDone says it is computed.
	est     int64
	estDone bool
	// waitReason is the Resources reason as of cluster version waitVer.
	waitReason string
	waitVer    int
}

func keyOf(j *structs.Job, q *queueInfo) shapeKey {
	n := j.Resources.Nodes
	if n < 1 {
		n = 1
	}
	return shapeKey{gpu: j.Resources.GPU, nodes: n, cpu: j.Resources.CPU, mem: j.Resources.MemoryBytes, queue: q.cfg.Name}
}

// shapeOf returns the cached shape of a job, computing it on first use.
func (p *pass) shapeOf(j *structs.Job, q *queueInfo) *shape {
	k := keyOf(j, q)
	// A pass sees few shapes: a short list compares faster than hashing.
	for _, sh := range p.shapeList {
		if sh.key == k {
			return sh
		}
	}
	if sh, ok := p.shapes[k]; ok {
		return sh
	}
	sh := p.newShape(k, q)
	if len(p.shapeList) < 16 {
		p.shapeList = append(p.shapeList, sh)
	} else {
		p.shapes[k] = sh
	}
	return sh
}

func (p *pass) newShape(k shapeKey, q *queueInfo) *shape {
	c := p.c
	sh := &shape{key: k, elig: make([]uint64, c.words), constrained: k.gpu.Model != "" || k.gpu.MemoryBytes > 0, waitVer: -1}
	var inQueue, largestGPU, largestMatch int
	var largestCPU float64
	var largestMem int64
	for i, n := range c.nodes {
		s := &c.ns[i]
		if !s.sched || !q.hasNode(n) {
			continue
		}
		inQueue++
		match := 0
		for gi := range n.GPUs {
			if n.GPUs[gi].Healthy && gpuMatches(&n.GPUs[gi], &k.gpu) {
				match++
			}
		}
		largestGPU = max(largestGPU, s.healthy)
		largestMatch = max(largestMatch, match)
		largestCPU = max(largestCPU, n.CPU)
		largestMem = max(largestMem, n.MemoryBytes)
		if match >= k.gpu.Count && n.CPU+cpuEpsilon >= k.cpu && n.MemoryBytes >= k.mem {
			sh.elig[i/64] |= 1 << (uint(i) % 64)
			sh.eligCount++
		}
	}
	if sh.eligCount >= k.nodes {
		return sh
	}
	what := gpuWords(k.gpu)
	switch {
	case inQueue == 0:
		sh.reason = fmt.Sprintf("NoNodeFits: queue %q has no ready node", k.queue) + unreadyNote(c.nodes, q.hasNode)
	case largestMatch < k.gpu.Count:
		if k.gpu.Model != "" || k.gpu.MemoryBytes > 0 {
			sh.reason = fmt.Sprintf("NoNodeFits: needs %s, largest node has %d such GPUs (%d GPUs in all)", what, largestMatch, largestGPU)
		} else {
			sh.reason = fmt.Sprintf("NoNodeFits: needs %s, largest node has %d", what, largestGPU)
		}
	case largestCPU+cpuEpsilon < k.cpu:
		sh.reason = fmt.Sprintf("NoNodeFits: needs %s CPUs, largest node has %s", fmtCPU(k.cpu), fmtCPU(largestCPU))
	case largestMem < k.mem:
		sh.reason = fmt.Sprintf("NoNodeFits: needs %s of memory, largest node has %s", structs.FormatSize(k.mem), structs.FormatSize(largestMem))
	case sh.eligCount == 0:
		sh.reason = fmt.Sprintf("NoNodeFits: no node has %s, %s CPUs and %s together", what, fmtCPU(k.cpu), structs.FormatSize(k.mem))
	default:
		sh.reason = fmt.Sprintf("NoNodeFits: needs %d nodes with %s each, %d ready nodes have that", k.nodes, what, sh.eligCount)
	}
	return sh
}

func (q *queueInfo) hasNode(n *structs.Node) bool {
	return q.nodes == nil || q.nodes[n.ID] || q.nodes[n.Name]
}

// gpuWords says what a request asks for per node, for reasons.
func gpuWords(r structs.GPURequest) string {
	s := strconv.Itoa(r.Count)
	switch {
	case r.Model != "" && r.MemoryBytes > 0:
		s += " x " + r.Model + " with " + structs.FormatSize(r.MemoryBytes)
	case r.Model != "":
		s += " x " + r.Model
	case r.MemoryBytes > 0:
		s += " GPUs with " + structs.FormatSize(r.MemoryBytes)
	case r.Count == 1:
		s += " GPU"
	default:
		s += " GPUs"
	}
	return s
}

func fmtCPU(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
