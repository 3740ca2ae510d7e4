package scheduler

import (
	"cmp"
	"slices"

	"github.com/nai-project/nai/structs"
)

// filter indexes the node filters in the order the scheduler applies
// them: a node that fails several counts under the first. The first eleven
// depend only on the node and the job's shape (counted once per shape,
// feasible.go); the rest on what runs now (counted when the job waits,
// wait.go).
type filter uint8

const (
	fQueue filter = iota
	fDown
	fUnreachable
	fDraining
	fIneligible
	fGPUs
	fGPUModel
	fGPUMemory
	fCPU
	fMemory
	fPorts
	fExclusive
	fBusy
	fFreeGPUs
	fFreeCPU
	fFreeMemory
	fFreePorts
	numFilters
)

var filterNames = [numFilters]structs.NodeFilter{
	fQueue:       structs.FilterQueue,
	fDown:        structs.FilterDown,
	fUnreachable: structs.FilterUnreachable,
	fDraining:    structs.FilterDraining,
	fIneligible:  structs.FilterIneligible,
	fGPUs:        structs.FilterGPUs,
	fGPUModel:    structs.FilterGPUModel,
	fGPUMemory:   structs.FilterGPUMemory,
	fCPU:         structs.FilterCPU,
	fMemory:      structs.FilterMemory,
	fPorts:       structs.FilterPorts,
	fExclusive:   structs.FilterExclusive,
	fBusy:        structs.FilterBusy,
	fFreeGPUs:    structs.FilterFreeGPUs,
	fFreeCPU:     structs.FilterFreeCPU,
	fFreeMemory:  structs.FilterFreeMemory,
	fFreePorts:   structs.FilterFreePorts,
}

// filterCounts counts nodes per filter. A flat array: adding counts up
// costs no allocation.
type filterCounts [numFilters]int32

// list returns the non-zero counts, most nodes first, ties in the order
// the filters apply; nil when none.
func (fc *filterCounts) list() []structs.NodeFilterCount {
	n := 0
	for _, v := range fc {
		if v > 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]structs.NodeFilterCount, 0, n)
	for f, v := range fc {
		if v > 0 {
			out = append(out, structs.NodeFilterCount{Filter: filterNames[f], Nodes: int(v)})
		}
	}
	slices.SortStableFunc(out, func(a, b structs.NodeFilterCount) int { return cmp.Compare(b.Nodes, a.Nodes) })
	return out
}

// unready says why a node takes no work.
func unready(n *structs.Node) filter {
	switch {
	case n.Status != structs.NodeReady:
		return fDown
	case !n.UnreachableSince.IsZero():
		return fUnreachable
	case n.Drain:
		return fDraining
	}
	return fIneligible
}

// staticFilter is the first filter schedulable node i fails for the shape
// whatever runs on it, or numFilters when it passes them all. model and
// match are its healthy GPUs of the model asked, and of the model and
// memory asked.
func (c *cluster) staticFilter(i int, k *shapeKey, model, match int) filter {
	return staticFilterOf(c.nodes[i], k, c.ns[i].healthy, model, match, c.ns[i].portCap)
}

// staticFilterOf is staticFilter for node n with gpus GPUs, model and
// match as there, and portCap service ports: the one test of whether an
// idle node could hold one node's share of a shape, which the
// scheduler's passes and Reach (reach.go) share.
func staticFilterOf(n *structs.Node, k *shapeKey, gpus, model, match int, portCap int32) filter {
	switch {
	case gpus < k.gpu.Count:
		return fGPUs
	case model < k.gpu.Count:
		return fGPUModel
	case match < k.gpu.Count:
		return fGPUMemory
	case n.CPU+cpuEpsilon < k.cpu:
		return fCPU
	case n.MemoryBytes < k.mem:
		return fMemory
	case portCap < int32(k.ports):
		return fPorts
	}
	return numFilters
}

// nowFilter is the first filter eligible node i fails for the shape given
// what runs on it now, or numFilters when the shape fits it now. free is
// its free GPUs that match the shape.
func (c *cluster) nowFilter(i int, sh *shape, free int) filter {
	s := &c.ns[i]
	switch {
	case s.excl > 0:
		return fExclusive
	case sh.key.exclusive && s.holders > 0:
		return fBusy
	case free < sh.key.gpu.Count:
		return fFreeGPUs
	case s.cpu+cpuEpsilon < sh.key.cpu:
		return fFreeCPU
	case s.mem < sh.key.mem:
		return fFreeMemory
	case s.ports < int32(sh.key.ports):
		return fFreePorts
	}
	return numFilters
}
