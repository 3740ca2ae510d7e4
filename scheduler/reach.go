package scheduler

import (
	"slices"

	"github.com/nai-project/nai/structs"
)

// Reach is what the nodes a job's queue may use could give one node's
// share of the job (a rank of a gang) if they were idle: the most of each
// resource on one node, and how many nodes could hold a share. A pass
// reads the same from its shape (feasible.go) for the NoNodeFits reason;
// Reach lets the server say it at submit, before any pass.
type Reach struct {
	// Nodes are the nodes of the queue.
	Nodes int
	// Fit are the nodes of the queue that could hold one node's share of
	// the job, idle: the scheduler's own per-node test (staticFilterOf).
	Fit int
	// GPUs is the most GPUs on one node of the queue; ModelGPUs the most
	// of the GPU model asked, and MatchingGPUs the most of that model
	// with the GPU memory asked (both GPUs when the job asks for neither).
	GPUs, ModelGPUs, MatchingGPUs int
	// CPU and MemoryBytes are the most cores and memory of one node.
	CPU         float64
	MemoryBytes int64
	// GPUMemoryBytes is the most memory of one GPU of the model asked
	// (of any GPU when the job asks for no model).
	GPUMemoryBytes int64
	// Ports is the most service ports one node offers.
	Ports int
	// Models counts, by GPU model, the nodes of the queue that have one.
	Models map[string]int
}

// ReachOf computes the Reach of a job (as Canonicalize leaves it) in
// queue q (nil: every node, as the default queue when none is stored)
// over nodes. Unlike a pass, it counts every node it is given whatever its
// state, and every GPU whether healthy or not: a node that is down or
// draining, or a GPU marked unhealthy, may come back, and the caller asks
// whether the job could ever run, not whether it can now.
func ReachOf(j *structs.Job, q *structs.Queue, nodes []*structs.Node) Reach {
	qi := &queueInfo{}
	if q != nil {
		qi = newQueueInfo(*q)
	}
	k := keyOf(j, qi)
	var r Reach
	for _, n := range nodes {
		if !qi.hasNode(n) {
			continue
		}
		r.Nodes++
		model, match := matchingGPUs(n, &k.gpu, true)
		portCap := int32(min(n.ServicePorts.Count(), 1<<30))
		r.GPUs = max(r.GPUs, len(n.GPUs))
		r.ModelGPUs = max(r.ModelGPUs, model)
		r.MatchingGPUs = max(r.MatchingGPUs, match)
		r.CPU = max(r.CPU, n.CPU)
		r.MemoryBytes = max(r.MemoryBytes, n.MemoryBytes)
		r.Ports = max(r.Ports, int(portCap))
		for gi := range n.GPUs {
			g := &n.GPUs[gi]
			if modelMatches(g, &k.gpu) {
				r.GPUMemoryBytes = max(r.GPUMemoryBytes, g.MemoryBytes)
			}
			if r.Models == nil {
				r.Models = map[string]int{}
			}
			if !slices.ContainsFunc(n.GPUs[:gi], func(o structs.GPU) bool { return o.Model == g.Model }) {
				r.Models[g.Model]++
			}
		}
		if staticFilterOf(n, &k, len(n.GPUs), model, match, portCap) == numFilters {
			r.Fit++
		}
	}
	return r
}

// CPUShort reports whether cpu cores are more than have, as the
// scheduler compares them (with its tolerance for fractional cores).
func CPUShort(have, cpu float64) bool { return have+cpuEpsilon < cpu }
