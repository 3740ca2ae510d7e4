package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// A node's long-poll asked "compact" sends the allocations created at or
// before the index it asks from without their jobs (the answer that gave
// the index had them in full), and newer ones whole; without "compact",
// or from index 0, every allocation comes with its job.
func TestNodeAllocsCompact(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}
	first, err := c.Register(ctx, gpuJob("first", 1))
	if err != nil {
		t.Fatal(err)
	}
	var idx uint64
	waitUntil(t, "the first job placed", func() bool {
		allocs, i, err := c.NodeAllocations(ctx, "n1", 0, 0)
		idx = i
		return err == nil && len(allocs) == 1
	})
	second, err := c.Register(ctx, gpuJob("second", 1))
	if err != nil {
		t.Fatal(err)
	}
	get := func(query string) []*structs.Allocation {
		t.Helper()
		resp, err := http.Get(c.Address() + "/v1/client/nodes/n1/allocations?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET ?%s: %s", query, resp.Status)
		}
		var out []*structs.Allocation
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var allocs []*structs.Allocation
	waitUntil(t, "the second job placed", func() bool {
		allocs = get(fmt.Sprintf("index=%d&compact", idx))
		return len(allocs) == 2
	})
	for _, a := range allocs {
		switch a.JobID {
		case first.JobIDs[0]:
			if a.Job != nil {
				t.Errorf("allocation %s, created at %d, came with its job from index %d", a.ID, a.CreateIndex, idx)
			}
		case second.JobIDs[0]:
			if a.Job == nil || a.Job.ID != a.JobID {
				t.Errorf("new allocation %s came without its job: %+v", a.ID, a.Job)
			}
		default:
			t.Errorf("unexpected allocation %s", a.ID)
		}
	}
	// A bad index is refused, compact or not, and says what it expected.
	resp, err := http.Get(c.Address() + "/v1/client/nodes/n1/allocations?index=x&compact")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "not a number") {
		t.Errorf("?index=x&compact: %s %s, want 400 naming the index", resp.Status, body)
	}
	for _, q := range []string{fmt.Sprintf("index=%d", idx), "index=0&compact"} {
		for _, a := range get(q) {
			if a.Job == nil {
				t.Errorf("?%s: allocation %s without its job", q, a.ID)
			}
		}
	}
}

// A node marked down has its allocations marked lost by the servers, which
// takes them out of its list. When the node comes back and polls from an
// index it had before, the answer must come at once and without them (it
// stops them), although no allocation it holds changed: the end of one
// counts as a change of the node's allocations. A poll from that answer's
// index then waits, as nothing more changed.
func TestNodePollSeesItsAllocationsLost(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	_, _, idx := oneJobOnNode(t, c, "n1")
	n, err := s.State().Snapshot().NodeByID(nil, "n1")
	if err != nil || n == nil {
		t.Fatalf("node n1: %v, %v", n, err)
	}
	s.setNodeStatus(n, structs.NodeDown, "a test", time.Now())

	start := time.Now()
	allocs, after, err := c.NodeAllocations(ctx, "n1", idx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 0 || after <= idx {
		t.Fatalf("poll from %d after the node was marked down: %d allocations at index %d, want none at a later index", idx, len(allocs), after)
	}
	// Not the wait's end: the answer came because the list changed.
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the poll answered after %s, at the end of its wait", waited)
	}
	again, same, err := c.NodeAllocations(ctx, "n1", after, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 || same != after {
		t.Errorf("poll from %d with nothing changed: %d allocations at index %d, want none at %d", after, len(again), same, after)
	}
}

// A node's own reports are not sent back to it: its poll answers for what
// the servers change (a placement, a stop), not for the running state and
// metrics it reported itself, which woke every poll of a busy node two or
// three times a job.
func TestNodePollSkipsItsOwnReports(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	jobID, allocID, idx := oneJobOnNode(t, c, "n1")
	err := c.UpdateAllocs(ctx, "n1", []*structs.AllocUpdate{{AllocID: allocID,
		Client: structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"loss": 0.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	// The report is in (the alloc says running) and the poll has nothing
	// new: it waits its whole wait and answers the same index.
	allocs, same, err := c.NodeAllocations(ctx, "n1", idx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if same != idx || len(allocs) != 1 || allocs[0].ClientStatus.Status != structs.AllocRunning {
		t.Fatalf("poll from %d after the node's own report: %d allocations at %d, want the running one at %d", idx, len(allocs), same, idx)
	}
	// A stop is news.
	if err := c.Cancel(ctx, jobID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	allocs, after, err := c.NodeAllocations(ctx, "n1", idx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if after <= idx || len(allocs) != 1 || allocs[0].DesiredStatus != structs.DesiredStop {
		t.Fatalf("poll from %d after a cancel: %d allocations at %d, want the one asked to stop at a later index", idx, len(allocs), after)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the poll answered the stop after %s, at the end of its wait", waited)
	}
}

// oneJobOnNode registers node id with 4 GPUs and a one-GPU job, waits
// until the node's poll lists the job's allocation, and returns the job,
// the allocation and the index of that answer.
func oneJobOnNode(t *testing.T, c *api.Client, id string) (jobID, allocID string, idx uint64) {
	t.Helper()
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode(id, 4), ""); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Register(ctx, gpuJob("held", 1))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the job placed", func() bool {
		allocs, i, err := c.NodeAllocations(ctx, id, 0, 0)
		if err != nil || len(allocs) != 1 {
			return false
		}
		idx, allocID = i, allocs[0].ID
		return true
	})
	return resp.JobIDs[0], allocID, idx
}

// A snapshot restore moves a node's allocations, and their index, back
// to what they were when the snapshot was taken. A node polling from an
// index it had before the restore must be answered at once with the
// restored list, at an index below the one it asked from (it then asks
// again from 0, stops what the servers no longer have and settles what
// they have), whether its poll was waiting when the restore came or came
// after it. It used to wait until the node's allocations changed past
// that index: minutes, while it ran jobs the servers had forgotten.
func TestNodePollAfterRestore(t *testing.T) {
	for _, waiting := range []bool{true, false} {
		name := map[bool]string{true: "poll waiting during the restore", false: "poll after the restore"}[waiting]
		t.Run(name, func(t *testing.T) {
			_, c := testServer(t, t.TempDir())
			ctx := context.Background()
			_, first, _ := oneJobOnNode(t, c, "n1")
			archive := saveSnapshot(t, c)
			if _, err := c.Register(ctx, gpuJob("after", 1)); err != nil {
				t.Fatal(err)
			}
			var idx uint64
			waitUntil(t, "the second job placed", func() bool {
				allocs, i, err := c.NodeAllocations(ctx, "n1", 0, 0)
				idx = i
				return err == nil && len(allocs) == 2
			})
			type answer struct {
				allocs []*structs.Allocation
				idx    uint64
				err    error
				took   time.Duration
			}
			done := make(chan answer, 1)
			poll := func() {
				start := time.Now()
				allocs, i, err := c.NodeAllocations(ctx, "n1", idx, time.Minute)
				done <- answer{allocs, i, err, time.Since(start)}
			}
			if waiting {
				go poll()
				// The poll waits: nothing of n1 changes.
				select {
				case a := <-done:
					t.Fatalf("the poll from %d answered before the restore: %+v", idx, a)
				case <-time.After(300 * time.Millisecond):
				}
			}
			if _, err := c.RestoreSnapshot(ctx, bytes.NewReader(archive), false); err != nil {
				t.Fatal(err)
			}
			if !waiting {
				go poll()
			}
			var a answer
			select {
			case a = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("no answer 20s after the restore (the poll waits a minute)")
			}
			if a.err != nil {
				t.Fatal(a.err)
			}
			if len(a.allocs) != 1 || a.allocs[0].ID != first || a.idx >= idx {
				t.Errorf("answer after the restore: %d allocations at index %d (asked from %d), want only %s at a lower index", len(a.allocs), a.idx, idx, first)
			}
		})
	}
}
