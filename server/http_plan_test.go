package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A dry run places a job that fits, explains one that waits with an
// estimated start from the running job's time limit, and writes nothing.
func TestJobPlan(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}

	t.Run("fits", func(t *testing.T) {
		resp, err := c.PlanJobs(ctx, gpuJob("fits", 2))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Jobs) != 1 {
			t.Fatalf("%d results, want 1", len(resp.Jobs))
		}
		r := resp.Jobs[0]
		if !r.StartsNow() || len(r.Placements) != 1 || r.Placements[0].NodeName != "node-n1" || len(r.Placements[0].GPUs) != 2 {
			t.Fatalf("plan = %+v, want a start now on node-n1 with 2 GPUs", r)
		}
		if r.Name != "fits" || r.Position != 1 || resp.Pending != 1 {
			t.Errorf("name %q position %d of %d, want fits at 1 of 1", r.Name, r.Position, resp.Pending)
		}
		if jobs, _ := c.Jobs(ctx, true); len(jobs) != 0 {
			t.Fatalf("a plan registered %d jobs", len(jobs))
		}
	})

	// A 4-GPU job with a one-hour limit takes the whole node.
	big := gpuJob("big", 4)
	big.TimeLimit = structs.Duration(time.Hour)
	reg, err := c.Register(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the 4-GPU job runs", func() bool {
		j, _, err := c.Job(ctx, reg.JobIDs[0])
		return err == nil && j.Status == structs.JobRunning
	})

	t.Run("waits", func(t *testing.T) {
		before := time.Now()
		resp, err := c.PlanJobs(ctx, gpuJob("later", 1))
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Jobs[0]
		if r.StartsNow() || r.Wait == nil || r.Wait.Code != structs.WaitResources {
			t.Fatalf("plan = %+v, want a wait for resources", r)
		}
		est := r.Wait.EstimatedStart
		if est.Before(before.Add(59*time.Minute)) || est.After(time.Now().Add(61*time.Minute)) {
			t.Errorf("estimated start %s, want about an hour from %s", est, before)
		}
	})

	t.Run("sweep respects max_parallel", func(t *testing.T) {
		if err := c.Cancel(ctx, reg.JobIDs[0]); err != nil {
			t.Fatal(err)
		}
		// The cancelled job keeps its GPUs until its client reports it
		// ended; report that.
		allocs, _, err := c.NodeAllocations(ctx, "n1", 0, 0)
		if err != nil || len(allocs) != 1 {
			t.Fatalf("allocations %v, %v", allocs, err)
		}
		err = c.UpdateAllocs(ctx, "n1", []*structs.AllocUpdate{{AllocID: allocs[0].ID, Client: structs.ClientStatusFields{
			Status: structs.AllocFailed, ExitReason: structs.ExitCancelled}}})
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the big job ends", func() bool {
			j, _, err := c.Job(ctx, reg.JobIDs[0])
			return err == nil && j.Status.Terminal()
		})
		var jobs []*structs.Job
		for i, lr := range []string{"0.1", "0.01", "0.001"} {
			j := gpuJob("sweep", 1)
			j.MaxParallel, j.ArrayIndex, j.SweepValues = 2, i, map[string]string{"lr": lr}
			jobs = append(jobs, j)
		}
		resp, err := c.PlanJobs(ctx, jobs...)
		if err != nil {
			t.Fatal(err)
		}
		starts, limited := 0, 0
		for _, r := range resp.Jobs {
			switch {
			case r.StartsNow():
				starts++
			case r.Wait.Code == structs.WaitParallel:
				limited++
			}
		}
		if starts != 2 || limited != 1 || resp.Jobs[2].SweepValues["lr"] != "0.001" {
			t.Fatalf("sweep plan %+v: %d start, %d wait for max_parallel; want 2 and 1", resp.Jobs, starts, limited)
		}
		// The sweep has no id yet: the reason does not show the
		// temporary one.
		if w := resp.Jobs[2].Wait; w == nil || w.Reason != "ArrayLimit: its sweep would already run 2 jobs (max_parallel 2)" {
			t.Errorf("wait %+v, want the sweep's limit without a temporary id", w)
		}
	})

	t.Run("dependency on a cancelled job", func(t *testing.T) {
		// Refused as a registration is (Slurm: "Job dependency problem"),
		// rather than planned as cancelled at once.
		j := gpuJob("after", 1)
		j.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: reg.JobIDs[0]}}
		_, err := c.PlanJobs(ctx, j)
		want := "dependency afterok:" + reg.JobIDs[0] + " can never be satisfied: job " + reg.JobIDs[0] + " ended cancelled"
		if structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), want) {
			t.Fatalf("plan: %v, want invalid saying %q", err, want)
		}
	})

	t.Run("refused like a registration", func(t *testing.T) {
		bad := gpuJob("bad", 1)
		bad.Task.Command = ""
		if _, err := c.PlanJobs(ctx, bad); structs.CodeOf(err) != structs.CodeInvalid {
			t.Errorf("job without a command: %v, want invalid", err)
		}
		dep := gpuJob("dep", 1)
		dep.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: "404"}}
		if _, err := c.PlanJobs(ctx, dep); structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), `"404"`) {
			t.Errorf("unknown dependency: %v, want invalid naming 404", err)
		}
		postRefused(t, c, "/v1/jobs/plan", "not json", `{"jobs": []}`, `{"jobs": [null]}`)
	})
}
