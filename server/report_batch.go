package server

import (
	"fmt"
	"slices"
	"sync"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// maxReportCommits is how many report entries may be in flight at once:
// raft pipelines them and shares fsyncs among them, and a report that
// arrives while they commit waits for a free one rather than for all of
// them. With one at a time the reports' latency doubled under load, and
// a node reports its next allocation only when its last report is
// answered, so fewer jobs ended per second (TestBench/Scale: 806 per
// second against about 1,000 before batches).
const maxReportCommits = 4

// maxReportBatch bounds how many nodes' reports one raft entry carries.
// Raft keeps its last entries in memory (its log cache, 128 entries since
// 2026-12-03, server.go) however old they are, so an entry's size is
// memory held for as long as the cluster is quiet: with a cache of 512
// entries of up to 32 reports the leader's heap after a 1,000-node run
// held 48 MB of cached entries, with 16 about 25 MB; with 128 entries of
// up to 64 reports the live heap after 100,000 jobs was 19-22 MB in all
// (TestBench/Scale, "flat"). Batches already save most of what one
// transaction per report costs (fsm/state BenchmarkReports: 200 reports
// 8.2-9.1 ms and 4.6 MB one by one, 4.4-4.7 ms and 2.2 MB in batches of
// 16, 3.9-4.9 ms and 1.9 MB as one batch).
const maxReportBatch = 64

// reportBatcher folds the clients' allocation reports that arrive while
// earlier ones commit into one AllocUpdates entry, as a plan folds a
// whole scheduling pass: with a thousand nodes finishing short jobs, the
// servers apply one entry and one state-store transaction per commit
// instead of one per node (about half the state store's CPU and memory,
// below). A lone report goes as an
// AllocUpdate entry, as before, and so does every report while a server
// of the cluster is too old to read AllocUpdates (a rolling upgrade).
type reportBatcher struct {
	s *Server
	// format is the log format the leader writes (s.logFormat; tests
	// set an older one).
	format func() fsm.Format

	mu       sync.Mutex
	queue    []*pendingReport
	inflight int // goroutines committing what is queued
}

type pendingReport struct {
	req  *structs.AllocUpdateRequest
	done chan reportResult
}

type reportResult struct {
	index uint64
	err   error
}

// apply commits one node's report, alone or with others, and returns the
// index of the entry that carried it.
func (b *reportBatcher) apply(req *structs.AllocUpdateRequest) (uint64, error) {
	p := &pendingReport{req: req, done: make(chan reportResult, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.inflight < maxReportCommits {
		b.inflight++
		go b.run()
	}
	b.mu.Unlock()
	r := <-p.done
	return r.index, r.err
}

// run commits what is queued, batch after batch, until the queue is
// empty; reports that arrive while every committer is busy wait for the
// next batch.
func (b *reportBatcher) run() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxReportBatch)
		if n == 0 {
			b.inflight--
			b.mu.Unlock()
			return
		}
		// A copy, and the taken slots cleared: the queue's array must
		// not keep answered reports reachable.
		batch := slices.Clone(b.queue[:n])
		clear(b.queue[:n])
		b.queue = b.queue[n:]
		if len(b.queue) == 0 {
			b.queue = nil
		}
		b.mu.Unlock()
		b.commit(batch)
	}
}

func (b *reportBatcher) commit(batch []*pendingReport) {
	if len(batch) == 1 || b.format() < fsm.Format4 {
		// One entry per report (some server may read only older
		// formats), committed together as before the batches.
		var wg sync.WaitGroup
		for _, p := range batch {
			wg.Go(func() { b.commitOne(p) })
		}
		wg.Wait()
		return
	}
	req := &structs.AllocUpdatesRequest{Requests: make([]*structs.AllocUpdateRequest, len(batch))}
	for i, p := range batch {
		req.Requests[i] = p.req
	}
	resp, idx, err := b.s.apply(fsm.AllocUpdates, req)
	if err == nil {
		errs, ok := resp.([]error)
		if ok && len(errs) == len(batch) {
			for i, p := range batch {
				p.done <- reportResult{index: idx, err: errs[i]}
			}
			return
		}
		err = fmt.Errorf("raft answered %d reports with %T", len(batch), resp)
	}
	for _, p := range batch {
		p.done <- reportResult{err: err}
	}
}

func (b *reportBatcher) commitOne(p *pendingReport) {
	_, idx, err := b.s.apply(fsm.AllocUpdate, p.req)
	p.done <- reportResult{index: idx, err: err}
}
