package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// Updates with ACLs: the owner changes a pending job; others may not; an
// update that a submission would refuse, or of a job that is not
// pending, changes nothing.
func TestUpdateJobs(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	as := func(caller string) *api.Client { return f.as(t, caller) }
	owner, op, stranger, member := as("owner"), as("operator"), as("stranger"), as("member")
	id, job := f.pendingJob(t, owner)
	target := []structs.CancelTarget{{ID: id}}
	before := job()
	limit := structs.Duration(30 * time.Minute)
	gpus, tiny, tooMany, bad := 2, int64(1<<20), 5000, "no spaces allowed"
	for _, tc := range []struct {
		name   string
		cl     *api.Client
		u      structs.JobUpdate
		target []structs.CancelTarget
		want   structs.ErrorCode
	}{
		{"a stranger (who may not see the job: to it, there is none)", stranger, structs.JobUpdate{GPUs: &gpus}, target, structs.CodeNotFound},
		{"a member of the group", member, structs.JobUpdate{GPUs: &gpus}, target, structs.CodeForbidden},
		{"an operator", op, structs.JobUpdate{GPUs: &gpus}, target, structs.CodeForbidden},
		{"nothing to change", owner, structs.JobUpdate{}, target, structs.CodeInvalid},
		{"no target", owner, structs.JobUpdate{GPUs: &gpus}, nil, structs.CodeInvalid},
		{"memory below the minimum", owner, structs.JobUpdate{MemoryBytes: &tiny}, target, structs.CodeInvalid},
		{"more GPUs than a node may have", owner, structs.JobUpdate{GPUs: &tooMany}, target, structs.CodeInvalid},
		{"a bad name", owner, structs.JobUpdate{Name: &bad}, target, structs.CodeInvalid},
		{"an unknown job", owner, structs.JobUpdate{GPUs: &gpus}, []structs.CancelTarget{{ID: "999"}}, structs.CodeNotFound},
	} {
		if _, err := tc.cl.UpdateJobs(ctx, tc.target, tc.u); structs.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	// (The scheduler may have given it a reason meanwhile: compare what
	// an update could change.)
	if j := job(); j.Resources != before.Resources || j.Name != before.Name || j.TimeLimit != before.TimeLimit || j.Priority != before.Priority {
		t.Fatalf("changed by a refused update: %+v", j)
	}

	resp, err := owner.UpdateJobs(ctx, target, structs.JobUpdate{GPUs: &gpus, TimeLimit: &limit})
	if err != nil || !slices.Equal(resp.JobIDs, []string{id}) {
		t.Fatalf("owner's update = %+v, %v", resp, err)
	}
	if j := job(); j.Resources.GPU.Count != 2 || j.TimeLimit != limit || j.Name != "big" {
		t.Errorf("after the owner's update: %+v", j)
	}
}

// An array id updates its pending members only; a job that is not
// pending, named alone, refuses the whole request.
func TestUpdateArrayAndRunning(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
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
	if _, err := c.CancelJob(ctx, r.JobIDs[2], true); err != nil {
		t.Fatal(err)
	}
	prio := 90
	resp, err := c.UpdateJobs(ctx, []structs.CancelTarget{{ID: r.ArrayID}}, structs.JobUpdate{Priority: &prio})
	if err != nil || !slices.Equal(resp.JobIDs, r.JobIDs[:2]) {
		t.Fatalf("array update = %+v, %v; want the two pending members %v", resp, err, r.JobIDs[:2])
	}
	if want := []string{r.ArrayID + "_0", r.ArrayID + "_1"}; !slices.Equal(resp.Refs, want) {
		t.Errorf("refs %v, want the members as people name them, %v", resp.Refs, want)
	}
	for i, id := range r.JobIDs {
		j, _, err := c.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 90, false: structs.DefaultPriority}[i < 2]; j.Priority != want {
			t.Errorf("member %s: priority %d, want %d", id, j.Priority, want)
		}
	}
	_, err = c.UpdateJobs(ctx, []structs.CancelTarget{{ID: r.JobIDs[0]}, {ID: r.JobIDs[2]}}, structs.JobUpdate{Priority: &prio})
	if structs.CodeOf(err) != structs.CodeConflict {
		t.Errorf("update naming a cancelled job: %v, want conflict", err)
	}
}

// A job that reads a model's "latest" while a job it waits for will
// register a newer version of that model is warned at submit; pinned
// versions, finished dependencies and other models are not.
func TestLatestBeforeDependencyWarns(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	pushModel(t, c, "toy", nil)
	train := gpuJob("train", 1)
	train.Output = &structs.OutputSpec{Model: "toy"}
	r, err := c.Register(ctx, train)
	if err != nil {
		t.Fatal(err)
	}
	trainID := r.JobIDs[0]
	for _, tc := range []struct {
		name    string
		version string
		model   string
		warn    bool
	}{
		{"latest of the model it makes", "latest", "toy", true},
		{"no version: latest too", "", "toy", true},
		{"a version pinned", "1", "toy", false},
	} {
		ft := gpuJob("finetune", 1)
		ft.Models = []structs.ArtifactRef{{Name: tc.model, Version: tc.version}}
		ft.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: trainID}}
		r, err := c.Register(ctx, ft)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := strings.Join(r.Warnings, "\n")
		want := "job " + r.JobIDs[0] + " reads model toy \"latest\", which means its newest version now, at submit; job " + trainID + ", which it waits for, will register a newer version of toy"
		if tc.warn != strings.Contains(got, want) {
			t.Errorf("%s: warnings %q; want one saying %q: %v", tc.name, got, want, tc.warn)
		}
	}
}

// An update passes the queue's checks as a submission does, and refuses
// what Canonicalize would have filled in at submit (cpu 0, nodes 0,
// memory 0): the smoke test's ways around a queue's limits.
func TestUpdateQueueChecks(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	debug := &structs.Queue{Name: "debug", MaxTimeLimit: structs.Duration(30 * time.Minute), MaxGPUsPerJob: 1}
	if _, err := c.ApplyQueue(ctx, debug); err != nil {
		t.Fatal(err)
	}
	only := &structs.Queue{Name: "ml-only", AllowedGroups: []string{"ml"}}
	if _, err := c.ApplyQueue(ctx, only); err != nil {
		t.Fatal(err)
	}
	// No node: everything stays pending. One job in debug with a limit,
	// one in the default queue without.
	inDebug := gpuJob("d", 1)
	inDebug.Queue, inDebug.TimeLimit = "debug", structs.Duration(10*time.Minute)
	open := gpuJob("o", 1)
	r, err := c.Register(ctx, inDebug, open)
	if err != nil {
		t.Fatal(err)
	}
	d, o := r.JobIDs[0], r.JobIDs[1]
	zero := structs.Duration(0)
	hour := structs.Duration(time.Hour)
	two, zeroN := 2, 0
	zeroCPU, zeroMem := 0.0, int64(0)
	debugQ, nosuch, mlOnly := "debug", "nosuch", "ml-only"
	for _, tc := range []struct {
		name string
		id   string
		u    structs.JobUpdate
		want string
	}{
		{"no limit in a queue with a maximum", d, structs.JobUpdate{TimeLimit: &zero}, "has no time limit, and queue debug gives every job one (30m0s)"},
		{"over the queue's maximum", d, structs.JobUpdate{TimeLimit: &hour}, "exceeds queue debug's max_time_limit"},
		{"more GPUs than the queue allows", d, structs.JobUpdate{GPUs: &two}, "queue debug allows at most 1 per job"},
		{"an unlimited job moved into it", o, structs.JobUpdate{Queue: &debugQ}, "has no time limit, and queue debug gives every job one"},
		{"a queue that does not exist", o, structs.JobUpdate{Queue: &nosuch}, `queue "nosuch" does not exist`},
		{"a queue the group may not use", o, structs.JobUpdate{Queue: &mlOnly}, "may not use queue ml-only"},
		{"no CPU", o, structs.JobUpdate{CPU: &zeroCPU}, "cpu 0: expected more than 0 cores"},
		{"no nodes", o, structs.JobUpdate{Nodes: &zeroN}, "nodes 0: expected 1 or more"},
		{"no memory limit", o, structs.JobUpdate{MemoryBytes: &zeroMem}, "memory 0B: expected at least 4MiB"},
	} {
		_, err := c.UpdateJobs(ctx, []structs.CancelTarget{{ID: tc.id}}, tc.u)
		if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want invalid saying %q", tc.name, err, tc.want)
		}
	}
	// Within the queue's limits it goes through.
	ok := structs.Duration(20 * time.Minute)
	if _, err := c.UpdateJobs(ctx, []structs.CancelTarget{{ID: o}}, structs.JobUpdate{Queue: &debugQ, TimeLimit: &ok}); err != nil {
		t.Errorf("moving a job into debug with a 20m limit: %v", err)
	}
}
