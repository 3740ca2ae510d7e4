package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// BenchmarkLifecycle is the state machine's share of the scale benchmark
// (e2e TestBench/Scale), one op per job: a store holding 1000 nodes and
// the history the servers keep until job GC (warm finished jobs) takes
// rounds of one-GPU jobs (256, or 2048) through registration, one plan, a running
// report and a completion report, each report as UpdateAllocsBatch gets
// it (16 nodes' requests to an entry). Every server applies this for
// every job, so its ns and bytes per job bound the cluster's placements
// per second on shared cores.
//
// 2 shared cores, finished=50000, -benchtime 20000x: with ids keyed as 8
// bytes, an index of allocations by job and a job copied on every report
// 171-176 us, 88 KB, 585 allocs a job; ids as 16 nibbles (appendIDKey)
// 128-136 us, 51 KB; without the job index (allocsOfJob) 110-126 us,
// 46 KB; copying the job only for new metrics 107-112 us, 45 KB, 578
// allocs. finished=0: 120 us and 70 KB a job before, 86 us and 42 KB after.
// Plans of 2048: 109 us against 92-95 us in plans of 256 or 1024 (memdb's
// tracking of a transaction's changes overflows; server/leader.go
// maxPlanEntryAllocs). With a node's index of live allocations only
// (node_live), finished=100000: 114-125 -> 91-103 us, 47.1 -> 45.3 KB,
// 622 -> 605 allocs a job; finished=50000 94-101 -> 88 us.
func BenchmarkLifecycle(b *testing.B) {
	for _, c := range []struct{ warm, round int }{{0, 256}, {50000, 256}, {100000, 256}, {50000, 2048}} {
		b.Run(fmt.Sprintf("finished=%d/plan=%d", c.warm, c.round), func(b *testing.B) {
			warm, round := c.warm, c.round
			f := newFixture(b)
			const nodes = 1000
			for i := range nodes {
				f.node(testNode(fmt.Sprintf("n%04d", i), 8))
			}
			next := 0
			lifecycle := func() {
				jobs := make([]*structs.Job, round)
				for k := range jobs {
					jobs[k] = newJob("scale").GPUs(1).Build()
				}
				ids := f.register(jobs...)
				allocs := make([]*structs.Allocation, round)
				for k, id := range ids {
					node, gpu := fmt.Sprintf("n%04d", next%nodes), next/nodes%8
					next++
					allocs[k] = &structs.Allocation{ID: id + ".1", JobID: id, NodeID: node, GPUs: []int{gpu}, Attempt: 1}
				}
				if got := f.plan(allocs...); len(got) != round {
					b.Fatalf("placed %d of %d", len(got), round)
				}
				for _, st := range []structs.AllocStatus{structs.AllocRunning, structs.AllocComplete} {
					for k := 0; k+16 <= round; k += 16 {
						reqs := make([]*structs.AllocUpdateRequest, 0, 16)
						for _, a := range allocs[k : k+16] {
							cs := structs.ClientStatusFields{Status: st}
							if st == structs.AllocComplete {
								cs.ExitCode = exit(0)
							}
							reqs = append(reqs, &structs.AllocUpdateRequest{NodeID: a.NodeID, Now: t0.Add(time.Hour),
								Updates: []*structs.AllocUpdate{{AllocID: a.ID, Client: cs}}})
						}
						if _, err := f.s.UpdateAllocsBatch(f.next(), reqs); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			for range warm / round {
				lifecycle()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += round {
				lifecycle()
			}
		})
	}
}
