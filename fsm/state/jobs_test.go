package state

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestRegisterJobs(t *testing.T) {
	tests := []struct {
		name        string
		jobs        []*structs.Job
		array       bool // JobRegisterRequest.Array
		wantIDs     []string
		wantArray   string
		wantErr     structs.ErrorCode
		wantWarning bool
	}{
		{name: "one job", jobs: []*structs.Job{newJob("a").Build()}, wantIDs: []string{"2"}},
		{name: "several without sweep values are not an array",
			jobs: []*structs.Job{newJob("a").Build(), newJob("b").Build()}, wantIDs: []string{"2", "3"}},
		{name: "sweep becomes an array",
			jobs:    []*structs.Job{newJob("s").Sweep("lr", "0.1").Build(), newJob("s").Sweep("lr", "0.01").Build(), newJob("s").Sweep("lr", "0.001").Build()},
			wantIDs: []string{"2", "3", "4"}, wantArray: "2"},
		{name: "one job with sweep values is no array without Array (format 6)",
			jobs: []*structs.Job{newJob("s").Sweep(structs.ArrayTaskIDKey, "5").Build()}, wantIDs: []string{"2"}},
		{name: "one job with sweep values and Array is an array of one",
			jobs: []*structs.Job{newJob("s").Sweep(structs.ArrayTaskIDKey, "5").Build()}, array: true, wantIDs: []string{"2"}, wantArray: "2"},
		{name: "Array makes no array of a job without sweep values",
			jobs: []*structs.Job{newJob("a").Build()}, array: true, wantIDs: []string{"2"}},
		{name: "dependency on a known job", jobs: []*structs.Job{newJob("a").DependsOn("1").Build()}, wantIDs: []string{"2"}},
		// The server warns of a job no node fits (server/unfit.go); the
		// state store's answer carries no warning of its own.
		{name: "more GPUs than any node registers without a warning", jobs: []*structs.Job{newJob("big").GPUs(8).Build()}, wantIDs: []string{"2"}},
		{name: "invalid name refuses all", jobs: []*structs.Job{newJob("ok").Build(), newJob("bad name!").Build()}, wantErr: structs.CodeInvalid},
		{name: "no command refuses", jobs: []*structs.Job{{Name: "x"}}, wantErr: structs.CodeInvalid},
		{name: "negative gpus refuses", jobs: []*structs.Job{newJob("a").GPUs(-1).Build()}, wantErr: structs.CodeInvalid},
		{name: "unknown dependency refuses", jobs: []*structs.Job{newJob("a").DependsOn("99").Build()}, wantErr: structs.CodeInvalid},
		{name: "nil job refuses", jobs: []*structs.Job{nil}, wantErr: structs.CodeInvalid},
		{name: "empty request refuses", jobs: nil, wantErr: structs.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			f.register(newJob("first").Build()) // job 1
			before := f.s.Snapshot()

			resp, err := f.s.RegisterJobs(10, &structs.JobRegisterRequest{Jobs: tt.jobs, Array: tt.array, Now: t0})
			if tt.wantErr != "" {
				if structs.CodeOf(err) != tt.wantErr {
					t.Fatalf("err = %v, want code %s", err, tt.wantErr)
				}
				after := f.s.Snapshot()
				if after.Index() != before.Index() {
					t.Errorf("index moved from %d to %d on a refused request", before.Index(), after.Index())
				}
				// The counter did not move either: the next job still gets id 2.
				if ids := f.register(newJob("next").Build()); ids[0] != "2" {
					t.Errorf("next id after refusal = %s, want 2", ids[0])
				}
				return
			}
			if err != nil {
				t.Fatalf("register: %v", err)
			}
			if diff := cmp.Diff(tt.wantIDs, resp.JobIDs); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if resp.ArrayID != tt.wantArray || resp.Index != 10 {
				t.Errorf("array %q index %d, want %q 10", resp.ArrayID, resp.Index, tt.wantArray)
			}
			if got := len(resp.Warnings) > 0; got != tt.wantWarning {
				t.Errorf("warnings %v, want some: %v", resp.Warnings, tt.wantWarning)
			}
			for i, id := range resp.JobIDs {
				j := f.job(id)
				if j.Status != structs.JobPending || !j.SubmitTime.Equal(t0) || j.CreateIndex != 10 || j.ModifyIndex != 10 ||
					j.Attempt != 0 || j.GPUs == nil || len(j.GPUs) != 0 || j.Queue != "default" || j.Priority != structs.DefaultPriority {
					t.Errorf("job %s stored as %+v", id, j)
				}
				if tt.wantArray != "" && (j.ArrayID != tt.wantArray || j.ArrayIndex != i) {
					t.Errorf("job %s array %q/%d, want %q/%d", id, j.ArrayID, j.ArrayIndex, tt.wantArray, i)
				}
			}
			if tt.jobs[0].ID != "" || tt.jobs[0].Status != "" {
				t.Error("RegisterJobs changed the caller's job")
			}
		})
	}
}

func TestRegisterIgnoresSubmittedState(t *testing.T) {
	f := newFixture(t)
	j := newJob("sneaky").Build()
	j.ID, j.Status, j.NodeID, j.Attempt, j.ExitCode = "77", structs.JobComplete, "n9", 4, exit(0)
	id := f.register(j)[0]
	got := f.job(id)
	if id != "1" || got.Status != structs.JobPending || got.NodeID != "" || got.Attempt != 0 || got.ExitCode != nil {
		t.Errorf("stored %+v", got)
	}
}

func TestCancelJobs(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the ids to cancel and checks the result.
		run func(t *testing.T, f *fixture)
	}{
		{name: "pending job ends at once", run: func(t *testing.T, f *fixture) {
			id := f.register(newJob("a").Build())[0]
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
				t.Fatal(err)
			}
			j := f.job(id)
			if j.Status != structs.JobCancelled || j.ExitReason != structs.ExitCancelled || j.Reason != "cancelled by user" || !j.EndTime.Equal(t0) || j.ModifyIndex != f.index {
				t.Errorf("job after cancel: %+v", j)
			}
		}},
		{name: "running job asks its alloc to stop", run: func(t *testing.T, f *fixture) {
			id, allocID := f.start(newJob("a").GPUs(1).Build(), "n1", 0)
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
				t.Fatal(err)
			}
			a := f.allocByID(allocID)
			if a.DesiredStatus != structs.DesiredStop || a.DesiredReason != structs.ExitCancelled {
				t.Errorf("alloc desired %s/%s, want stop/cancelled", a.DesiredStatus, a.DesiredReason)
			}
			if j := f.job(id); j.Status != structs.JobRunning {
				t.Errorf("job status %s, want running until the client reports", j.Status)
			}
		}},
		{name: "unknown id changes nothing", run: func(t *testing.T, f *fixture) {
			id := f.register(newJob("a").Build())[0]
			before := f.s.LatestIndex()
			err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id, "404"}, Now: t0})
			if !errors.Is(err, structs.ErrNotFound) {
				t.Fatalf("err = %v, want not found", err)
			}
			if j := f.job(id); j.Status != structs.JobPending || f.s.LatestIndex() != before {
				t.Errorf("job %s is %s, index %d->%d", id, j.Status, before, f.s.LatestIndex())
			}
		}},
		{name: "non-numeric id is not found", run: func(t *testing.T, f *fixture) {
			err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{"../etc"}, Now: t0})
			if !errors.Is(err, structs.ErrNotFound) {
				t.Fatalf("err = %v, want not found", err)
			}
		}},
		{name: "terminal job is left alone", run: func(t *testing.T, f *fixture) {
			id := f.register(newJob("a").Build())[0]
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
				t.Fatal(err)
			}
			before := f.job(id)
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0.Add(time.Hour)}); err != nil {
				t.Fatalf("cancel of a cancelled job: %v", err)
			}
			if diff := cmp.Diff(before, f.job(id)); diff != "" {
				t.Errorf("terminal job changed (-before +after):\n%s", diff)
			}
		}},
		{name: "array id cancels every live member", run: func(t *testing.T, f *fixture) {
			ids := f.register(newJob("s").Sweep("lr", "1").GPUs(1).Build(), newJob("s").Sweep("lr", "2").Build(), newJob("s").Sweep("lr", "3").Build())
			a := f.alloc(ids[0], "n1", 0)
			f.plan(a)
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{ids[2]}, Now: t0}); err != nil {
				t.Fatal(err)
			}
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{ids[0]}, Now: t0}); err != nil {
				t.Fatal(err)
			}
			if got := f.job(ids[1]).Status; got != structs.JobCancelled {
				t.Errorf("member 1 is %s, want cancelled", got)
			}
			if got := f.allocByID(a.ID).DesiredStatus; got != structs.DesiredStop {
				t.Errorf("running member's alloc desired %s, want stop", got)
			}
		}},
		{name: "scheduler's reason becomes the job's reason", run: func(t *testing.T, f *fixture) {
			id := f.register(newJob("a").Build())[0]
			why := structs.ExitReason("DependencyNeverSatisfied: job 1 failed")
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Reason: why, Now: t0}); err != nil {
				t.Fatal(err)
			}
			if j := f.job(id); j.Status != structs.JobCancelled || j.Reason != string(why) || j.ExitReason != structs.ExitCancelled {
				t.Errorf("job %s %q %q", j.Status, j.Reason, j.ExitReason)
			}
		}},
		{name: "preemption stops one running job and spares pending ones", run: func(t *testing.T, f *fixture) {
			ids := f.register(newJob("s").Sweep("lr", "1").GPUs(1).Build(), newJob("s").Sweep("lr", "2").Build())
			a := f.alloc(ids[0], "n1", 0)
			f.plan(a)
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: ids, Reason: structs.ExitPreempted, Now: t0}); err != nil {
				t.Fatal(err)
			}
			if got := f.allocByID(a.ID); got.DesiredStatus != structs.DesiredStop || got.DesiredReason != structs.ExitPreempted {
				t.Errorf("alloc desired %s/%s, want stop/preempted", got.DesiredStatus, got.DesiredReason)
			}
			if got := f.job(ids[1]).Status; got != structs.JobPending {
				t.Errorf("pending member became %s", got)
			}
			if err := f.report(a.ID, structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(-1), ExitReason: "signal:SIGTERM"}); err != nil {
				t.Fatal(err)
			}
			if j := f.job(ids[0]); j.Status != structs.JobPending || j.Reason != "requeued after preempted" {
				t.Errorf("preempted job %s %q, want requeued", j.Status, j.Reason)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			tt.run(t, f)
		})
	}
}

func TestJobsOrderedNumerically(t *testing.T) {
	f := newFixture(t)
	var jobs []*structs.Job
	for range 12 {
		jobs = append(jobs, newJob("j").Build())
	}
	f.register(jobs...)
	got, err := f.s.Snapshot().Jobs(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range got {
		ids = append(ids, j.ID)
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}
	if !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
}
