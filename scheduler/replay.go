package scheduler

import "cmp"

// A pass for Config.PlacementsOnly (a replay, where nobody reads why a job
// waits) makes the same placements as a full pass but stops as soon as no
// later job can start, so its cost follows the jobs that start rather than
// the length of the queue:
//
//   - the items form a heap and are taken out in the order sortItems
//     gives (that order is total, so the sequence is the same), so a pass
//     that stops after k jobs orders only those;
//   - the pass stops when strict priority holds every node (allBlocked) or
//     when no node has as many free GPUs as the smallest per-node request
//     of the jobs left. Neither can change for the rest of the pass: nodes
//     only fill up and blocks only grow. Preemption could still act for a
//     later job, so a pass with preemption on never stops early.
//
// The jobs after the stop get no WaitStatus and no cancellation; a later
// pass looks at them again.

// compareItems is the order of consideration: queue tier, then priority,
// both highest first, then earlier submit, then smaller ID (numerically
// when both are numbers). IDs are unique, so it is a total order.
func compareItems(a, b *item) int {
	if c := cmp.Compare(b.tier, a.tier); c != 0 {
		return c
	}
	if c := cmp.Compare(b.prio, a.prio); c != 0 {
		return c
	}
	if c := a.job.SubmitTime.Compare(b.job.SubmitTime); c != 0 {
		return c
	}
	return compareIDs(a.job.ID, b.job.ID)
}

// itemQueue hands out a pass's items in order. Sorted, it walks the
// slice; lazy, the slice is a binary min-heap by compareItems and each
// next pops its top, which it moves to the slice's tail, so the pointer
// it returns stays valid for the rest of the pass (unless the items came
// in order, when it walks them too).
type itemQueue struct {
	items []item
	n     int // sorted or walk: next index; else items left in the heap
	lazy  bool
	walk  bool // lazy, but the items came in order: no heap
	// GPUs per node of the jobs not yet handed out, by count, to know
	// the smallest one (minLeft); only when lazy. The last bucket holds
	// the requests larger than any node: they can never start.
	gpuCount []int
	minGPU   int
}

// newItemQueue orders a pass's items, lazily or not; maxGPUs is the most
// GPUs any node has.
func newItemQueue(items []item, lazy bool, maxGPUs int) *itemQueue {
	q := &itemQueue{items: items, lazy: lazy}
	if !lazy {
		sortItems(items)
		return q
	}
	q.n = len(items)
	q.gpuCount = make([]int, maxGPUs+2)
	q.minGPU = len(q.gpuCount) - 1
	for i := range items {
		g := q.gpuBucket(&items[i])
		q.gpuCount[g]++
		q.minGPU = min(q.minGPU, g)
	}
	// Often the State's order is already the pass's (FIFO: ID order is
	// submit order); then the slice is walked, which a heap would only
	// slow down.
	sorted := true
	for i := 1; i < len(items) && sorted; i++ {
		sorted = compareItems(&items[i-1], &items[i]) < 0
	}
	if sorted {
		q.n = 0
		q.walk = true
		return q
	}
	for i := q.n/2 - 1; i >= 0; i-- {
		q.down(i, q.n)
	}
	return q
}

// gpuBucket is a job's per-node GPU request as an index into gpuCount.
// A negative request (which the request gate holds) counts as zero, so it
// never lets a pass stop early.
func (q *itemQueue) gpuBucket(it *item) int {
	return min(max(it.job.Resources.GPU.Count, 0), len(q.gpuCount)-1)
}

// next returns the next item in order, or nil when none is left.
func (q *itemQueue) next() *item {
	if !q.lazy {
		if q.n == len(q.items) {
			return nil
		}
		q.n++
		return &q.items[q.n-1]
	}
	var it *item
	switch {
	case q.walk:
		if q.n == len(q.items) {
			return nil
		}
		it = &q.items[q.n]
		q.n++
	case q.n == 0:
		return nil
	default:
		q.n--
		q.items[0], q.items[q.n] = q.items[q.n], q.items[0]
		q.down(0, q.n)
		it = &q.items[q.n]
	}
	g := q.gpuBucket(it)
	q.gpuCount[g]--
	for q.minGPU < len(q.gpuCount)-1 && q.gpuCount[q.minGPU] == 0 {
		q.minGPU++
	}
	return it
}

// minLeft is the smallest per-node GPU request of the items not yet
// handed out, more than any node has when none is left; only for a lazy
// queue.
func (q *itemQueue) minLeft() int { return q.minGPU }

func (q *itemQueue) down(i, n int) {
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && compareItems(&q.items[r], &q.items[l]) < 0 {
			m = r
		}
		if compareItems(&q.items[m], &q.items[i]) >= 0 {
			return
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
}

// noneCanStart reports whether no job still to be considered could start
// in this pass: only ever true in a PlacementsOnly pass without
// preemption.
func (p *pass) noneCanStart(q *itemQueue) bool {
	if !q.lazy || p.s.cfg.Preemption {
		return false
	}
	return p.allBlocked || p.c.topFree() < q.minLeft()
}
