package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// Drain the dev agent's node with a job running: a new job waits saying
// the node drains, the running job keeps running until the deadline and is
// then stopped and requeued, the drain completes with the node ineligible,
// and `nai node eligibility -enable` lets both jobs run to completion.
func TestNodeDrain(t *testing.T) {
	dir := t.TempDir()
	a := startAgent(t, filepath.Join(dir, "data"), 1)
	ctx := context.Background()
	runs, done := filepath.Join(dir, "runs"), filepath.Join(dir, "done")
	// The first attempt runs until it is stopped; later ones end at once.
	long := shellJob("long", runs, `if [ "$NAI_ATTEMPT" = 1 ]; then sleep 120; fi; echo "$NAI_JOB_ID $NAI_ATTEMPT" >> `+done)
	resp, err := a.api().Register(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	longID := resp.JobIDs[0]
	waitFor(t, 60*time.Second, "the long job runs", func() bool {
		j, _, err := a.api().Job(ctx, longID)
		return err == nil && j.Status == structs.JobRunning && readRuns(t, runs)[longID+" 1"] == 1
	})

	const deadline = 3 * time.Second
	var n structs.Node
	if err := json.Unmarshal([]byte(a.mustNai("node", "drain", "-json", "-deadline", deadline.String(), "e2e-node")), &n); err != nil {
		t.Fatal(err)
	}
	if !n.Drain || n.Eligible || n.DrainDeadline.IsZero() {
		t.Fatalf("drained node: drain %t eligible %t deadline %v", n.Drain, n.Eligible, n.DrainDeadline)
	}
	resp, err = a.api().Register(ctx, shellJob("short", runs, `echo "$NAI_JOB_ID $NAI_ATTEMPT" >> `+done))
	if err != nil {
		t.Fatal(err)
	}
	shortID := resp.JobIDs[0]
	waitFor(t, 30*time.Second, "the new job waits with a reason naming the drain", func() bool {
		j, _, err := a.api().Job(ctx, shortID)
		return err == nil && j.Status == structs.JobPending && strings.Contains(j.Reason, "draining")
	})

	waitFor(t, 60*time.Second, "the drain completes and leaves the node ineligible", func() bool {
		n, err := a.api().Node(ctx, "e2e-node")
		return err == nil && !n.Drain && !n.Eligible
	})
	allocs, err := a.api().JobAllocations(ctx, longID)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("allocations of the long job: %v, %v", allocs, err)
	}
	first := allocs[0]
	if first.DesiredReason != structs.ExitNodeDrained || first.ClientStatus.Status != structs.AllocFailed || first.ClientStatus.ExitReason != structs.ExitNodeDrained {
		t.Errorf("drained allocation: desired %s (%s), client %s (%s); want stop (node-drained), failed (node-drained)",
			first.DesiredStatus, first.DesiredReason, first.ClientStatus.Status, first.ClientStatus.ExitReason)
	}
	if first.ClientStatus.EndTime.Before(n.DrainDeadline) {
		t.Errorf("the running job ended at %v, before the drain deadline %v", first.ClientStatus.EndTime, n.DrainDeadline)
	}
	if j, _, err := a.api().Job(ctx, longID); err != nil || j.Status != structs.JobPending || j.Attempt != 1 {
		t.Fatalf("the stopped job: %+v, %v; want pending after attempt 1 (requeued)", j, err)
	}

	out := a.mustNai("node", "eligibility", "-enable", "e2e-node")
	if !strings.Contains(out, "is eligible") {
		t.Errorf("nai node eligibility -enable said %q", out)
	}
	for _, id := range []string{longID, shortID} {
		if j := a.waitJob(id, 60*time.Second); j.Status != structs.JobComplete {
			t.Errorf("job %s ended %s (%s) after the node was enabled", id, j.Status, j.ExitReason)
		}
	}
	wantRuns := map[string]int{longID + " 1": 1, longID + " 2": 1, shortID + " 1": 1}
	if got := readRuns(t, runs); !equalCounts(got, wantRuns) {
		t.Errorf("runs %v, want %v", got, wantRuns)
	}
	wantDone := map[string]int{longID + " 2": 1, shortID + " 1": 1}
	if got := readRuns(t, done); !equalCounts(got, wantDone) {
		t.Errorf("completed runs %v, want %v (the drained attempt must not complete)", got, wantDone)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
