package server

import (
	"context"
	"slices"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// A bulk cancel stops single jobs, whole sweeps and member 0 of a sweep
// alone, in one request, and reports the ids that name no job.
func TestCancelMany(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	// No node: everything stays pending.
	var singles []string
	for range 3 {
		r, err := c.Register(ctx, gpuJob("one", 1))
		if err != nil {
			t.Fatal(err)
		}
		singles = append(singles, r.JobIDs[0])
	}
	sweep := func() *structs.JobRegisterResponse {
		var members []*structs.Job
		for i := range 3 {
			j := gpuJob("sweep", 1)
			j.SweepValues = map[string]string{"i": string(rune('0' + i))}
			members = append(members, j)
		}
		r, err := c.Register(ctx, members...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	whole, zero := sweep(), sweep()

	resp, err := c.CancelMany(ctx, []structs.CancelTarget{
		{ID: singles[0]}, {ID: singles[2]}, {ID: "999"}, {ID: whole.ArrayID}, {ID: zero.ArrayID, Only: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{singles[0], singles[2], whole.ArrayID, zero.ArrayID}; !slices.Equal(resp.Cancelled, want) {
		t.Errorf("cancelled %v, want %v", resp.Cancelled, want)
	}
	if !slices.Equal(resp.NotFound, []string{"999"}) {
		t.Errorf("not found %v, want [999]", resp.NotFound)
	}
	jobs, err := c.Jobs(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	cancelled := map[string]bool{}
	for _, j := range jobs {
		cancelled[j.ID] = j.Status == structs.JobCancelled
	}
	want := map[string]bool{singles[0]: true, singles[1]: false, singles[2]: true}
	for _, id := range whole.JobIDs {
		want[id] = true
	}
	for i, id := range zero.JobIDs {
		want[id] = i == 0
	}
	for id, w := range want {
		if cancelled[id] != w {
			t.Errorf("job %s cancelled = %v, want %v", id, cancelled[id], w)
		}
	}

	t.Run("no target", func(t *testing.T) {
		if _, err := c.CancelMany(ctx, nil); !errorsIsInvalid(err) {
			t.Errorf("err = %v, want invalid", err)
		}
	})
}

func errorsIsInvalid(err error) bool {
	return err != nil && structs.CodeOf(err) == structs.CodeInvalid && !api.IsNotFound(err)
}

// Cancelling jobs that have already ended changes nothing and says so:
// the answer lists them as ended, with their state, and not as cancelled.
func TestCancelEnded(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	register := func(jobs ...*structs.Job) *structs.JobRegisterResponse {
		t.Helper()
		r, err := c.Register(ctx, jobs...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	sweepJobs := func() []*structs.Job {
		var members []*structs.Job
		for i := range 2 {
			j := gpuJob("sweep", 1)
			j.SweepValues = map[string]string{"i": string(rune('0' + i))}
			members = append(members, j)
		}
		return members
	}
	done := register(gpuJob("done", 1)).JobIDs[0]
	live := register(gpuJob("live", 1)).JobIDs[0]
	sweep := register(sweepJobs()...)
	half := register(sweepJobs()...) // member 0 ends, member 1 stays pending
	for _, id := range []string{done, sweep.ArrayID} {
		if err := c.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CancelOnly(ctx, half.ArrayID); err != nil {
		t.Fatal(err)
	}
	ended := func(target string, ids ...string) []structs.EndedJob {
		var out []structs.EndedJob
		for _, id := range ids {
			out = append(out, structs.EndedJob{JobID: id, Status: structs.JobCancelled, Target: target})
		}
		return out
	}

	t.Run("delete", func(t *testing.T) {
		for _, tc := range []struct {
			name          string
			id            string
			only          bool
			wantCancelled []string
			wantEnded     []structs.EndedJob
		}{
			{name: "an ended job", id: done, wantEnded: ended("", done)},
			{name: "an ended sweep", id: sweep.ArrayID, wantEnded: ended("", sweep.JobIDs...)},
			{name: "an ended member 0 alone", id: half.ArrayID, only: true, wantEnded: ended("", half.JobIDs[0])},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, _, err := c.Job(ctx, tc.id)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := c.CancelJob(ctx, tc.id, tc.only)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(resp.Cancelled, tc.wantCancelled) || !slices.Equal(resp.Ended, tc.wantEnded) {
					t.Errorf("cancelled %v, ended %v; want %v, %v", resp.Cancelled, resp.Ended, tc.wantCancelled, tc.wantEnded)
				}
				after, _, err := c.Job(ctx, tc.id)
				if err != nil {
					t.Fatal(err)
				}
				if after.ModifyIndex != before.ModifyIndex || after.Status != before.Status {
					t.Errorf("job %s changed: %s at %d, was %s at %d", tc.id, after.Status, after.ModifyIndex, before.Status, before.ModifyIndex)
				}
			})
		}
	})

	t.Run("bulk", func(t *testing.T) {
		resp, err := c.CancelMany(ctx, []structs.CancelTarget{{ID: done}, {ID: sweep.ArrayID}, {ID: half.ArrayID}})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{half.ArrayID}; !slices.Equal(resp.Cancelled, want) {
			t.Errorf("cancelled %v, want %v", resp.Cancelled, want)
		}
		want := append(append(ended(done, done), ended(sweep.ArrayID, sweep.JobIDs...)...), ended(half.ArrayID, half.JobIDs[0])...)
		if !slices.Equal(resp.Ended, want) {
			t.Errorf("ended %v, want %v", resp.Ended, want)
		}
		j, _, err := c.Job(ctx, half.JobIDs[1])
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != structs.JobCancelled {
			t.Errorf("the live member of %s is %s, want cancelled", half.ArrayID, j.Status)
		}
	})

	t.Run("live job", func(t *testing.T) {
		resp, err := c.CancelJob(ctx, live, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(resp.Cancelled, []string{live}) || len(resp.Ended) != 0 {
			t.Errorf("cancelled %v, ended %v; want [%s], none", resp.Cancelled, resp.Ended, live)
		}
	})
}
