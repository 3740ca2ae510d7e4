package state

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// A sweep registered as one spec stores the same jobs as its members
// written out, and its members share the template's unchanged slices.
func TestRegisterSweepSpec(t *testing.T) {
	jobs := sweepJobs(4)
	for _, j := range jobs {
		j.Labels = map[string]string{"team": "vision"}
	}
	jobs[2].Labels = map[string]string{"odd": "one"}
	spec, err := structs.NewSweepSpec(jobs)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(req *structs.JobRegisterRequest) []*structs.Job {
		s, err := NewStore()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.RegisterJobs(7, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ArrayID != "1" || len(resp.JobIDs) != 4 {
			t.Fatalf("response %+v", resp)
		}
		out, err := s.Snapshot().JobsByArray(nil, "1")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := stored(&structs.JobRegisterRequest{Jobs: jobs, Now: t0})
	got := stored(&structs.JobRegisterRequest{Sweep: spec, Now: t0})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("spec registers differently from the jobs (-jobs +spec):\n%s", d)
	}
	if reflect.ValueOf(got[1].Labels).Pointer() != reflect.ValueOf(got[3].Labels).Pointer() {
		t.Error("members 1 and 3 hold copies of the template's labels")
	}
	s, err := NewStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJobs(1, &structs.JobRegisterRequest{Sweep: spec, Jobs: jobs}); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("jobs and a sweep together: %v, want invalid", err)
	}
	if _, err := s.RegisterJobs(1, &structs.JobRegisterRequest{Sweep: &structs.SweepSpec{Template: jobs[0]}}); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("a sweep of no members: %v, want invalid", err)
	}
}
