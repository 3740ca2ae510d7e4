package server

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// After job GC drops thousands of finished jobs, the heap they used is
// garbage, but Go collects it only when the heap next grows to twice its
// live size, and gives pages back to the system slowly: a server that ran
// 100,000 jobs kept several hundred megabytes resident for minutes. So a
// large GC entry, once applied, is followed by a collection that returns
// the freed memory at once (debug.FreeOSMemory). It runs outside the FSM,
// at most once per freeMemoryEvery, and never blocks raft.

const (
	// freeMemoryAfter is how many jobs GC entries must have removed since
	// the last collection for another to be worth it.
	freeMemoryAfter = 1000
	// freeMemoryEvery spaces the collections when GC entries come in a
	// row (a backlog goes in batches of jobGCBatch).
	freeMemoryEvery = 10 * time.Second
)

// memoryReturner runs debug.FreeOSMemory when asked, coalescing requests.
type memoryReturner struct {
	ask chan struct{}
	// drop, when set, forgets caches that may hold collected jobs (the
	// listings' encodings) just before the collection.
	drop func()
	// collected counts the jobs removed since the last collection: small
	// GC entries in a row add up to one worth collecting.
	collected atomic.Int64
}

func newMemoryReturner(stop <-chan struct{}, drop func()) *memoryReturner {
	m := &memoryReturner{ask: make(chan struct{}, 1), drop: drop}
	go m.run(stop)
	return m
}

// jobsCollected is told how many jobs an applied GC entry removed.
func (m *memoryReturner) jobsCollected(n int) {
	if m == nil || m.collected.Add(int64(n)) < freeMemoryAfter {
		return
	}
	select {
	case m.ask <- struct{}{}:
	default:
	}
}

func (m *memoryReturner) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-m.ask:
		}
		// Let the rest of a backlog's batches land first.
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
		m.collected.Store(0)
		if m.drop != nil {
			m.drop()
		}
		debug.FreeOSMemory()
		select {
		case <-stop:
			return
		case <-time.After(freeMemoryEvery):
		}
	}
}
