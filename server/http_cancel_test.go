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
