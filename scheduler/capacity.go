package scheduler

import (
	"math/bits"
	"strings"

	"github.com/nai-project/nai/structs"
)

// cluster is the free capacity of every node for one pass, built from the
// nodes and the live allocations and changed as the pass places jobs.
//
// Best fit needs "the schedulable node with the fewest free GPUs that
// still fits", so nodes sit in buckets by free-GPU count, each bucket a
// bitset over node positions. Finding a node is a scan of a few words, and
// all of it lives in a handful of flat slices, so the allocations of a
// pass do not grow with the number of idle nodes.
type cluster struct {
	nodes   []*structs.Node
	ns      []nodeState
	gpuFree []bool         // flat over every node's GPUs; healthy and unallocated
	byID    map[string]int // only when nodes are not in ID order
	ids     idIndex        // when they are (nodeindex.go)
	// allocNode is the node position of each live allocation (the
	// State's order), -1 when its node is unknown.
	allocNode []int32
	words     int      // uint64 words per node bitset
	buckets   []uint64 // (maxGPUs+1) bitsets: schedulable nodes by free GPUs
	schedMask []uint64 // schedulable nodes
	maxGPUs   int
	ready     int // schedulable nodes
	// largest healthy GPU count on a schedulable node, for reasons
	largestGPUs int
	totalGPUs   int // healthy GPUs on schedulable nodes (job size factor)
	top         int // no schedulable node has more free GPUs (see topFree)
	version     int // bumped on every change, to know when cached reasons are stale
	// unready counts the nodes that take no work, by why (for NoNodes)
	unready filterCounts
	// anyExcl: some node is held by an exclusive job, so estimates must
	// replay who holds each node and not only what is free
	anyExcl bool
}

type nodeState struct {
	off     int // first GPU in cluster.gpuFree
	free    int // free healthy GPUs
	healthy int
	cpu     float64 // free cores
	mem     int64   // free memory
	sched   bool
	ident   bool  // node.GPUs[k].Index == k for every k
	holders int32 // live allocations and this pass's placements
	excl    int32 // those of them that are exclusive
	ports   int32 // free service ports
	portCap int32 // service ports the node offers
}

const cpuEpsilon = 1e-9

func newCluster(nodes []*structs.Node, allocs []*structs.Allocation) *cluster {
	c := &cluster{nodes: nodes, ns: make([]nodeState, len(nodes))}
	total := 0
	for _, n := range nodes {
		total += len(n.GPUs)
		c.maxGPUs = max(c.maxGPUs, len(n.GPUs))
	}
	c.gpuFree = make([]bool, total)
	c.words = (len(nodes) + 63) / 64
	off := 0
	for i, n := range nodes {
		if i > 0 && nodes[i-1].ID >= n.ID && c.byID == nil {
			// State promises ID order; cope if an implementation breaks it.
			c.byID = make(map[string]int, len(nodes))
			for k, m := range nodes {
				c.byID[m.ID] = k
			}
		}
		s := &c.ns[i]
		s.off = off
		s.cpu = n.CPU
		s.mem = n.MemoryBytes
		s.portCap = int32(min(n.ServicePorts.Count(), 1<<30))
		s.ports = s.portCap
		s.sched = n.Schedulable()
		if !s.sched {
			c.unready[unready(n)]++
		}
		s.ident = true
		for k := range n.GPUs {
			g := &n.GPUs[k]
			if g.Index != k {
				s.ident = false
			}
			if g.Healthy {
				c.gpuFree[off+k] = true
				s.healthy++
			}
		}
		s.free = s.healthy
		off += len(n.GPUs)
	}
	if c.byID == nil {
		c.ids = newIDIndex(nodes)
	}
	c.allocNode = make([]int32, len(allocs))
	for k, a := range allocs {
		i, ok := c.index(a.NodeID)
		if !ok {
			c.allocNode[k] = -1
			continue
		}
		c.allocNode[k] = int32(i)
		s := &c.ns[i]
		s.cpu -= a.Resources.CPU
		s.mem -= a.Resources.MemoryBytes
		s.ports -= int32(a.Resources.Ports)
		s.holders++
		if a.Resources.Exclusive {
			s.excl++
			c.anyExcl = true
		}
		for _, gi := range a.GPUs {
			if p := c.gpuPos(i, gi); p >= 0 && c.gpuFree[s.off+p] {
				c.gpuFree[s.off+p] = false
				s.free--
			}
		}
	}
	c.buckets = make([]uint64, (c.maxGPUs+2)*c.words)
	c.schedMask = c.buckets[(c.maxGPUs+1)*c.words:]
	c.top = c.maxGPUs
	c.buckets = c.buckets[:(c.maxGPUs+1)*c.words]
	for i := range c.ns {
		s := &c.ns[i]
		if !s.sched {
			continue
		}
		c.schedMask[i/64] |= 1 << (uint(i) % 64)
		c.ready++
		c.largestGPUs = max(c.largestGPUs, s.healthy)
		c.totalGPUs += s.healthy
		c.setBit(s.free, i)
	}
	return c
}

// index finds a node's position by ID: a search of the nodes' ID keys, as
// nodes come in ID order, which spares a map per pass.
func (c *cluster) index(id string) (int, bool) {
	if c.byID != nil {
		i, ok := c.byID[id]
		return i, ok
	}
	return c.ids.find(c.nodes, id)
}

// gpuPos maps a GPU index (as the fingerprint numbers it) to its position
// in node.GPUs, or -1.
func (c *cluster) gpuPos(i, index int) int {
	n := c.nodes[i]
	if c.ns[i].ident {
		if index >= 0 && index < len(n.GPUs) {
			return index
		}
		return -1
	}
	for k, g := range n.GPUs {
		if g.Index == index {
			return k
		}
	}
	return -1
}

func (c *cluster) setBit(bucket, i int) {
	c.buckets[bucket*c.words+i/64] |= 1 << (uint(i) % 64)
}

func (c *cluster) clearBit(bucket, i int) {
	c.buckets[bucket*c.words+i/64] &^= 1 << (uint(i) % 64)
}

// take marks GPUs (positions in node.GPUs), cores, memory and service
// ports as used by one more holder, exclusive or not.
func (c *cluster) take(i int, pos []int, cpu float64, mem int64, exclusive bool, ports int) {
	s := &c.ns[i]
	c.version++
	s.holders++
	s.ports -= int32(ports)
	if exclusive {
		s.excl++
		c.anyExcl = true
	}
	if s.sched {
		c.clearBit(s.free, i)
	}
	for _, p := range pos {
		if c.gpuFree[s.off+p] {
			c.gpuFree[s.off+p] = false
			s.free--
		}
	}
	s.cpu -= cpu
	s.mem -= mem
	if s.sched {
		c.setBit(s.free, i)
	}
}

// topFree is the most free GPUs on any schedulable node. Nodes only lose
// free GPUs during a pass, so the top bucket only moves down.
func (c *cluster) topFree() int {
	for c.top > 0 {
		row := c.buckets[c.top*c.words : (c.top+1)*c.words]
		for _, w := range row {
			if w != 0 {
				return c.top
			}
		}
		c.top--
	}
	return c.top
}

// gpuMatches reports whether a GPU satisfies a request's model and memory.
func gpuMatches(g *structs.GPU, r *structs.GPURequest) bool {
	return modelMatches(g, r) && (r.MemoryBytes == 0 || g.MemoryBytes >= r.MemoryBytes)
}

// modelMatches reports whether a GPU is of the model asked (a
// case-insensitive part of its product name), whatever its memory.
func modelMatches(g *structs.GPU, r *structs.GPURequest) bool {
	return r.Model == "" || strings.Contains(strings.ToLower(g.Model), strings.ToLower(r.Model))
}

// freeMatching counts a node's free GPUs that satisfy the shape.
func (c *cluster) freeMatching(i int, sh *shape) int {
	s := &c.ns[i]
	if !sh.constrained {
		return s.free
	}
	n := 0
	for k := range c.nodes[i].GPUs {
		if c.gpuFree[s.off+k] && gpuMatches(&c.nodes[i].GPUs[k], &sh.key.gpu) {
			n++
		}
	}
	return n
}

// fitsNow reports whether node i has room for one node's share of the
// shape now.
func (c *cluster) fitsNow(i int, sh *shape) bool {
	s := &c.ns[i]
	if s.free < sh.key.gpu.Count || s.cpu+cpuEpsilon < sh.key.cpu || s.mem < sh.key.mem || !c.shareable(i, sh) ||
		(sh.key.ports > 0 && s.ports < int32(sh.key.ports)) {
		return false
	}
	return !sh.constrained || c.freeMatching(i, sh) >= sh.key.gpu.Count
}

// shareable reports whether exclusivity lets the shape onto node i: no
// exclusive job holds it, and it is idle if the shape is exclusive.
func (c *cluster) shareable(i int, sh *shape) bool {
	s := &c.ns[i]
	return s.excl == 0 && (!sh.key.exclusive || s.holders == 0)
}

// find appends to out up to want nodes that fit the shape now, best fit
// first (fewest free GPUs, then lowest position), skipping nodes set in
// skip (may be nil) and those where a job ending at end would delay the
// reservation resv (may be nil).
func (c *cluster) find(sh *shape, want int, skip []uint64, resv *reservation, end int64, out []int) []int {
	if resv != nil && end <= resv.start {
		resv = nil // it is gone before the reservation begins
	}
	for b := sh.key.gpu.Count; b <= c.topFree(); b++ {
		row := c.buckets[b*c.words : (b+1)*c.words]
		for w, word := range row {
			word &= sh.elig[w]
			if skip != nil {
				word &^= skip[w]
			}
			for word != 0 {
				t := bits.TrailingZeros64(word)
				word &^= 1 << uint(t)
				i := w*64 + t
				if !c.fitsNow(i, sh) || (resv != nil && !resv.fits(i, sh)) {
					continue
				}
				out = append(out, i)
				if len(out) == want {
					return out
				}
			}
		}
	}
	return out
}
