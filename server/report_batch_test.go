package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// Reports that arrive while an entry commits go together in the next
// one, and each still gets its own answer: a node reporting an allocation
// of another node is refused alone. While a server of the cluster reads
// only older formats, each report is an entry of its own.
func TestReportBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format fsm.Format
	}{
		{"one entry", fsm.LogFormat},
		{"an older server in the cluster", fsm.Format3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := testServer(t, t.TempDir())
			s.reports.format = func() fsm.Format { return tc.format }
			ctx := context.Background()
			const nodes = 8
			var jobIDs []string
			for i := range nodes {
				if err := c.RegisterNode(ctx, testNode(fmt.Sprintf("n%d", i), 1), ""); err != nil {
					t.Fatal(err)
				}
				resp, err := c.Register(ctx, gpuJob(fmt.Sprintf("j%d", i), 1))
				if err != nil {
					t.Fatal(err)
				}
				jobIDs = append(jobIDs, resp.JobIDs...)
			}
			allocOf := map[string]string{} // node -> its allocation
			waitUntil(t, "every job placed", func() bool {
				for i := range nodes {
					node := fmt.Sprintf("n%d", i)
					allocs, _, err := c.NodeAllocations(ctx, node, 0, 0)
					if err != nil || len(allocs) != 1 {
						return false
					}
					allocOf[node] = allocs[0].ID
				}
				return true
			})

			// Hold the committer so that every report below queues,
			// then let it go: they commit together (or, for an older
			// cluster, one entry each).
			s.reports.mu.Lock()
			s.reports.inflight = maxReportCommits
			s.reports.mu.Unlock()
			zero := 0
			errs := make([]error, nodes+1)
			index := make([]uint64, nodes+1)
			report := func(i int, node, alloc string, st structs.AllocStatus) {
				index[i], errs[i] = s.reports.apply(&structs.AllocUpdateRequest{NodeID: node, Now: time.Now().UTC(),
					Updates: []*structs.AllocUpdate{{AllocID: alloc, Client: structs.ClientStatusFields{
						Status: st, ExitCode: &zero, ExitReason: structs.ExitExited}}}})
			}
			var wg sync.WaitGroup
			for i := range nodes {
				node := fmt.Sprintf("n%d", i)
				wg.Go(func() { report(i, node, allocOf[node], structs.AllocComplete) })
			}
			wg.Go(func() { report(nodes, "n0", allocOf["n1"], structs.AllocFailed) }) // n0 reports n1's allocation
			waitUntil(t, "every report queued", func() bool {
				s.reports.mu.Lock()
				defer s.reports.mu.Unlock()
				return len(s.reports.queue) == nodes+1
			})
			s.reports.mu.Lock()
			s.reports.inflight = 1
			s.reports.mu.Unlock()
			go s.reports.run()
			wg.Wait()

			for i := range nodes {
				if errs[i] != nil {
					t.Errorf("report of n%d: %v", i, errs[i])
				}
			}
			if !errors.Is(errs[nodes], structs.ErrNotFound) {
				t.Errorf("n0 reporting n1's allocation: %v, want not found", errs[nodes])
			}
			entries := map[uint64]bool{}
			for i := range nodes {
				entries[index[i]] = true
			}
			if want := map[bool]int{true: 1, false: nodes}[tc.format >= fsm.Format4]; len(entries) != want {
				t.Errorf("%d reports took %d raft entries, want %d", nodes, len(entries), want)
			}
			for _, id := range jobIDs {
				if j, _, err := c.Job(ctx, id); err != nil || j.Status != structs.JobComplete {
					t.Errorf("job %s: %v %v, want complete", id, j.Status, err)
				}
			}
		})
	}
}
