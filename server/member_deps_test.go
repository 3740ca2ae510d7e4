package server

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// A dependency on "A_N" is on the member of array A whose number
// (structs.Job.ArrayTask: an --array task id, else a sweep index) is N:
// the servers store that member's job id (marked Member where it is the
// array's first, whose id is the array's), for a job, a sweep sent as one
// spec and a dry run alike.
func TestMemberDependencies(t *testing.T) {
	_, c := testServer(t, t.TempDir(), multifactor)
	ctx := context.Background()
	// No node: everything stays pending. Array A has task ids 1, 3, 5.
	var members []*structs.Job
	for i, task := range []string{"1", "3", "5"} {
		j := gpuJob("a.sh", 0)
		j.SetSweepMember(i, 3, 0, map[string]string{structs.ArrayTaskIDKey: task})
		members = append(members, j)
	}
	arr, err := c.Register(ctx, members...)
	if err != nil {
		t.Fatal(err)
	}
	a := arr.ArrayID
	first, _ := strconv.Atoi(a)
	id := func(i int) string { return strconv.Itoa(first + i) }

	for _, tc := range []struct {
		name, ref string
		want      structs.Dependency // JobID empty: refused
		err       string
	}{
		{"task 3", a + "_3", structs.Dependency{Type: structs.AfterAny, JobID: id(1)}, ""},
		{"task 1, the array's first", a + "_1", structs.Dependency{Type: structs.AfterAny, JobID: a, Member: true}, ""},
		{"the array", a, structs.Dependency{Type: structs.AfterAny, JobID: a}, ""},
		{"a position that is no task id", a + "_2", structs.Dependency{}, "job array " + a + " has no member 2 (members 1,3,5)"},
		{"no such array", "999_1", structs.Dependency{}, "there is no job array 999"},
		{"not a number", a + "_x", structs.Dependency{}, "expected a job id (12) or an array member (12_3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := gpuJob("after", 0)
			j.DependsOn = []structs.Dependency{{Type: structs.AfterAny, JobID: tc.ref}}
			resp, err := c.Register(ctx, j)
			if tc.err != "" {
				if structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("register: %v, want invalid saying %q", err, tc.err)
				}
				if _, err := c.PlanJobs(ctx, j); structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("plan: %v, want invalid saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := c.Job(ctx, resp.JobIDs[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(got.DependsOn) != 1 || got.DependsOn[0] != tc.want {
				t.Errorf("stored %+v, want %+v", got.DependsOn, tc.want)
			}
			if _, err := c.PlanJobs(ctx, j); err != nil {
				t.Errorf("plan: %v", err)
			}
		})
	}

	t.Run("a sweep sent as one spec", func(t *testing.T) {
		var sweep []*structs.Job
		for i := range 2 {
			j := gpuJob("after-sweep", 0)
			j.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: a + "_5"}}
			j.SetSweepMember(i, 2, 0, map[string]string{"lr": strconv.Itoa(i)})
			sweep = append(sweep, j)
		}
		spec, err := structs.NewSweepSpec(sweep)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.RegisterSweep(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		want := structs.Dependency{Type: structs.AfterOK, JobID: id(2)}
		for _, mid := range resp.JobIDs {
			got, _, err := c.Job(ctx, mid)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.DependsOn) != 1 || got.DependsOn[0] != want {
				t.Errorf("member %s stored %+v, want %+v", mid, got.DependsOn, want)
			}
		}
	})
}
