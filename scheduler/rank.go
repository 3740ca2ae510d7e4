package scheduler

import (
	"math/bits"
)

// pickGPUs chooses k free GPUs of node i that satisfy the shape and
// appends their positions in node.GPUs to out, ascending.
//
// Within a node the choice follows NVLink: a set whose GPUs are joined to
// each other is preferred (more links inside the set), and among equals
// the one that cuts fewest links to the GPUs left free, so the next job
// still finds a connected block. Without topology it takes the lowest
// indices.
func (c *cluster) pickGPUs(i int, sh *shape, k int, out []int) []int {
	if k <= 0 {
		return out
	}
	n := c.nodes[i]
	s := &c.ns[i]
	g := len(n.GPUs)
	var cand uint64 // free, matching positions (only for g <= 64)
	linked := false
	if g <= 64 {
		for p := 0; p < g; p++ {
			if c.gpuFree[s.off+p] && (!sh.constrained || gpuMatches(&n.GPUs[p], &sh.key.gpu)) {
				cand |= 1 << uint(p)
				if len(n.GPUs[p].NVLinkPeers) > 0 {
					linked = true
				}
			}
		}
	}
	if g > 64 || !linked || bits.OnesCount64(cand) == k {
		for p := 0; p < g && k > 0; p++ {
			if c.gpuFree[s.off+p] && (!sh.constrained || gpuMatches(&n.GPUs[p], &sh.key.gpu)) {
				out = append(out, p)
				k--
			}
		}
		return out
	}
	var adj [64]uint64
	for p := 0; p < g; p++ {
		for _, peer := range n.GPUs[p].NVLinkPeers {
			if q := c.gpuPos(i, peer); q >= 0 && q != p {
				adj[p] |= 1 << uint(q)
				adj[q] |= 1 << uint(p)
			}
		}
	}
	var best uint64
	bestIn, bestOut := -1, 0
	for start := cand; start != 0; start &= start - 1 {
		set := uint64(1) << uint(bits.TrailingZeros64(start))
		in := 0
		for size := 1; size < k; size++ {
			// Grow by the candidate with most links into the set; ties go
			// to the one with fewest links to GPUs left outside.
			var pick uint64
			pickIn, pickOut := -1, 0
			for rest := cand &^ set; rest != 0; rest &= rest - 1 {
				b := rest & -rest
				p := bits.TrailingZeros64(rest)
				li := bits.OnesCount64(adj[p] & set)
				lo := bits.OnesCount64(adj[p] & cand &^ set &^ b)
				if li > pickIn || (li == pickIn && lo < pickOut) {
					pick, pickIn, pickOut = b, li, lo
				}
			}
			set |= pick
			in += pickIn
		}
		cut := 0
		for m := set; m != 0; m &= m - 1 {
			cut += bits.OnesCount64(adj[bits.TrailingZeros64(m)] & cand &^ set)
		}
		if in > bestIn || (in == bestIn && cut < bestOut) {
			best, bestIn, bestOut = set, in, cut
		}
	}
	for m := best; m != 0; m &= m - 1 {
		out = append(out, bits.TrailingZeros64(m))
	}
	return out
}
