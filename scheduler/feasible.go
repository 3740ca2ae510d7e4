package scheduler

import (
	"github.com/nai-project/nai/structs"
)

// shapeKey is what decides where a job could ever run. Jobs with the same
// key share one feasibility result per pass, which keeps a pass over
// thousands of similar jobs cheap.
type shapeKey struct {
	gpu       structs.GPURequest
	nodes     int
	cpu       float64
	mem       int64
	queue     string
	exclusive bool
	ports     int // service ports per node (1 for a service replica)
}

// shape is the static feasibility of one shapeKey in one pass.
type shape struct {
	key         shapeKey
	elig        []uint64 // schedulable nodes of the queue that could hold one node's share
	eligCount   int
	constrained bool // asks for a GPU model or memory
	// static counts the nodes outside elig by the filter they fail.
	static filterCounts
	// never is the NoNodeFits wait when fewer than key.nodes nodes are
	// eligible.
	never structs.WaitStatus
	// est is the earliest time (unix nanos) the shape fits as running
	// jobs end, ignoring other pending jobs; estDone says it is computed.
	est     int64
	estDone bool
	// estNode is a node that fits it by est, -1 if none (profile.go).
	estNode int
	// wait is the Resources wait as of cluster version waitVer.
	wait    structs.WaitStatus
	waitVer int
}

func keyOf(j *structs.Job, q *queueInfo) shapeKey {
	n := j.Resources.Nodes
	if n < 1 {
		n = 1
	}
	return shapeKey{gpu: j.Resources.GPU, nodes: n, cpu: j.Resources.CPU, mem: j.Resources.MemoryBytes,
		queue: q.cfg.Name, exclusive: j.Resources.Exclusive, ports: j.Resources.Ports}
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

// newShape filters every node for the shape: the queue, the node's state,
// then GPUs, GPU model and memory, CPU and memory of the idle node. Nodes
// that pass are eligible; the others are counted by the filter they fail.
func (p *pass) newShape(k shapeKey, q *queueInfo) *shape {
	c := p.c
	sh := &shape{key: k, elig: make([]uint64, c.words), constrained: k.gpu.Model != "" || k.gpu.MemoryBytes > 0, waitVer: -1}
	var inQueue, largestGPU, largestMatch int
	var largestCPU float64
	var largestMem int64
	var largestPorts int32
	for i, n := range c.nodes {
		if !q.hasNode(n) {
			sh.static[fQueue]++
			continue
		}
		s := &c.ns[i]
		if !s.sched {
			sh.static[unready(n)]++
			continue
		}
		inQueue++
		model, match := s.healthy, s.healthy
		if sh.constrained {
			model, match = matchingGPUs(n, &k.gpu, false)
		}
		largestGPU = max(largestGPU, s.healthy)
		largestMatch = max(largestMatch, match)
		largestCPU = max(largestCPU, n.CPU)
		largestMem = max(largestMem, n.MemoryBytes)
		largestPorts = max(largestPorts, s.portCap)
		if f := c.staticFilter(i, &k, model, match); f < numFilters {
			sh.static[f]++
			continue
		}
		sh.elig[i/64] |= 1 << (uint(i) % 64)
		sh.eligCount++
	}
	if sh.eligCount >= k.nodes {
		return sh
	}
	filters := sh.static.list()
	switch {
	case inQueue == 0:
		sh.never = structs.WaitQueueNoNode(k.queue, filters)
	case largestMatch < k.gpu.Count:
		sh.never = structs.WaitTooFewGPUs(k.gpu, largestMatch, largestGPU)
	case largestCPU+cpuEpsilon < k.cpu:
		sh.never = structs.WaitTooFewCPUs(k.cpu, largestCPU)
	case largestMem < k.mem:
		sh.never = structs.WaitTooLittleMemory(k.mem, largestMem)
	case largestPorts < int32(k.ports):
		sh.never = structs.WaitNoServicePorts()
	case sh.eligCount == 0:
		sh.never = structs.WaitNoNodeHasAll(k.gpu, k.cpu, k.mem)
	default:
		sh.never = structs.WaitTooFewNodes(k.nodes, k.gpu, sh.eligCount)
	}
	sh.never.NodeFilters = filters
	return sh
}

func (q *queueInfo) hasNode(n *structs.Node) bool {
	return q.nodes == nil || q.nodes[n.ID] || q.nodes[n.Name]
}

// matchingGPUs counts a node's GPUs of the model asked, and of those the
// ones with the memory asked; healthy ones only, unless all.
func matchingGPUs(n *structs.Node, r *structs.GPURequest, all bool) (model, match int) {
	for gi := range n.GPUs {
		g := &n.GPUs[gi]
		if (all || g.Healthy) && modelMatches(g, r) {
			model++
			if g.MemoryBytes >= r.MemoryBytes {
				match++
			}
		}
	}
	return model, match
}
