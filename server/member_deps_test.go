package server

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
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

// A dependency that can never be satisfied, given how the job it names
// has already ended, is refused at submit (and by a dry run), as Slurm
// refuses it; one that still can be is accepted. A whole array follows
// the scheduler's rule: afterok fails once one member did not complete,
// afternotok once every member completed.
func TestUnsatisfiableDependencies(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 8), ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	ok := runFor(t, c, gpuJob("ok", 1), "n1", start, start.Add(time.Second), structs.AllocComplete)
	failed := runFor(t, c, gpuJob("bad", 1), "n1", start, start.Add(time.Second), structs.AllocFailed)
	waiting, err := c.Register(ctx, gpuJob("huge", 64)) // no node fits: pending
	if err != nil {
		t.Fatal(err)
	}
	pending := waiting.JobIDs[0]
	// A service: it runs until it is stopped, and ends cancelled.
	svc := gpuJob("api", 0)
	svc.Type, svc.Resources.Ports = structs.JobService, 1
	svc.Service = &structs.ServiceSpec{Replicas: 1}
	svc.Service.Canonicalize()
	served, err := c.Register(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	service := served.JobIDs[0]

	register := func(t *testing.T, members []*structs.Job) string {
		t.Helper()
		resp, err := c.Register(ctx, members...)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ArrayID
	}
	sweep := func(name string, gpus ...int) []*structs.Job {
		var out []*structs.Job
		for i, g := range gpus {
			j := gpuJob(name, g)
			j.SetSweepMember(i, len(gpus), 0, map[string]string{"i": strconv.Itoa(i)})
			out = append(out, j)
		}
		return out
	}
	// Array "done": both members complete. Array "mixed": member 0 failed,
	// member 1 still pending.
	// Array "alone": an array of one (--array=5) whose member failed.
	done := register(t, sweep("done", 1, 1))
	mixed := register(t, sweep("mixed", 1, 64))
	alone := register(t, sweep("alone", 1))
	for _, a := range []struct {
		id     string
		status structs.AllocStatus
		n      int
	}{{done, structs.AllocComplete, 2}, {mixed, structs.AllocFailed, 1}, {alone, structs.AllocFailed, 1}} {
		first, _ := strconv.Atoi(a.id)
		for i := range a.n {
			endRunning(t, c, strconv.Itoa(first+i), "n1", a.status)
		}
	}

	for _, tc := range []struct {
		name string
		dep  structs.Dependency
		err  string // "": accepted
	}{
		{"afterok on a failed job", structs.Dependency{Type: structs.AfterOK, JobID: failed},
			"dependency afterok:" + failed + " can never be satisfied: job " + failed + " ended failed"},
		{"afterok on a complete job", structs.Dependency{Type: structs.AfterOK, JobID: ok}, ""},
		{"afterok on a service", structs.Dependency{Type: structs.AfterOK, JobID: service},
			"dependency afterok:" + service + " can never be satisfied: job " + service + " is a service (api)"},
		{"afterany on a service", structs.Dependency{Type: structs.AfterAny, JobID: service}, ""},
		{"afterok on a pending job", structs.Dependency{Type: structs.AfterOK, JobID: pending}, ""},
		{"afternotok on a complete job", structs.Dependency{Type: structs.AfterNotOK, JobID: ok},
			"dependency afternotok:" + ok + " can never be satisfied: job " + ok + " ended complete"},
		{"afternotok on a failed job", structs.Dependency{Type: structs.AfterNotOK, JobID: failed}, ""},
		{"afterany on a failed job", structs.Dependency{Type: structs.AfterAny, JobID: failed}, ""},
		{"afterok on an array with a failed member", structs.Dependency{Type: structs.AfterOK, JobID: mixed},
			"dependency afterok:" + mixed + " can never be satisfied: member " + mixed + "_0 of job array " + mixed + " ended failed"},
		{"afternotok on an array with a member left", structs.Dependency{Type: structs.AfterNotOK, JobID: mixed}, ""},
		{"afternotok on a complete array", structs.Dependency{Type: structs.AfterNotOK, JobID: done},
			"dependency afternotok:" + done + " can never be satisfied: every member of job array " + done + " ended complete"},
		{"afterok on a complete array", structs.Dependency{Type: structs.AfterOK, JobID: done}, ""},
		{"afterok on an array of one that failed", structs.Dependency{Type: structs.AfterOK, JobID: alone},
			"dependency afterok:" + alone + " can never be satisfied: member " + alone + "_0 of job array " + alone + " ended failed"},
		{"afterok on the pending member alone", structs.Dependency{Type: structs.AfterOK, JobID: mixed + "_1"}, ""},
		{"afterok on the failed member alone", structs.Dependency{Type: structs.AfterOK, JobID: mixed + "_0"},
			"dependency afterok:" + mixed + "_0 can never be satisfied: job " + mixed + "_0 ended failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := gpuJob("after", 0)
			j.DependsOn = []structs.Dependency{tc.dep}
			_, err := c.Register(ctx, j)
			_, perr := c.PlanJobs(ctx, j)
			if tc.err == "" {
				if err != nil || perr != nil {
					t.Errorf("register: %v; plan: %v; want both accepted", err, perr)
				}
				return
			}
			for what, err := range map[string]error{"register": err, "plan": perr} {
				if structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("%s: %v, want invalid saying %q", what, err, tc.err)
				}
			}
		})
	}

	t.Run("a sweep sent as one spec", func(t *testing.T) {
		spec, err := structs.NewSweepSpec(sweep("after-sweep", 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		spec.Template.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: failed}}
		_, err = c.RegisterSweep(ctx, spec)
		if structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), "job "+failed+" ended failed") {
			t.Errorf("register: %v, want invalid naming job %s", err, failed)
		}
	})
}

// endRunning waits until job id runs, then ends its allocation with status.
func endRunning(t *testing.T, c *api.Client, id, node string, status structs.AllocStatus) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, _, err := c.Job(ctx, id)
		if err == nil && j.Status == structs.JobRunning {
			code := 0
			if status != structs.AllocComplete {
				code = 1
			}
			now := time.Now()
			if err := c.UpdateAllocs(ctx, node, []*structs.AllocUpdate{{AllocID: j.AllocID, Client: structs.ClientStatusFields{
				Status: status, ExitCode: &code, ExitReason: structs.ExitExited, StartTime: now.Add(-time.Second), EndTime: now}}}); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s was not placed", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
