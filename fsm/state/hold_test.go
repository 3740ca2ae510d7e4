package state

import (
	"errors"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestHoldJobs(t *testing.T) {
	hold := func(ids ...string) *structs.JobHoldRequest {
		return &structs.JobHoldRequest{JobIDs: ids, Now: t0}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{name: "a user hold, then its owner's release", run: func(t *testing.T, f *fixture) {
			id := f.register(newJob("a").User("alice").Build())[0]
			got, err := f.s.HoldJobs(f.next(), hold(id))
			if err != nil || len(got) != 1 || got[0] != id {
				t.Fatalf("hold = %v, %v", got, err)
			}
			j := f.job(id)
			if j.Hold == nil || j.Hold.Admin || j.Hold.By != "alice" || !j.Hold.Time.Equal(t0) ||
				j.Reason != "JobHeldUser: held by alice until nai job release" || j.ModifyIndex != f.index {
				t.Errorf("held job: hold %+v, reason %q", j.Hold, j.Reason)
			}
			if _, err := f.s.HoldJobs(f.next(), &structs.JobHoldRequest{JobIDs: []string{id}, Release: true}); err != nil {
				t.Fatal(err)
			}
			if j := f.job(id); j.Hold != nil || j.Reason != "" || j.Status != structs.JobPending {
				t.Errorf("released job: hold %+v, reason %q, %s", j.Hold, j.Reason, j.Status)
			}
		}},
		{name: "an admin hold only an operator releases", run: func(t *testing.T, f *fixture) {
			id := f.register(newJob("a").User("alice").Build())[0]
			if _, err := f.s.HoldJobs(f.next(), &structs.JobHoldRequest{JobIDs: []string{id}, Admin: true, By: "ops", Now: t0}); err != nil {
				t.Fatal(err)
			}
			if j := f.job(id); j.Hold == nil || !j.Hold.Admin || j.Reason != "JobHeldAdmin: held by ops until an operator's nai job release" {
				t.Fatalf("admin hold: %+v %q", j.Hold, j.Reason)
			}
			before := f.s.LatestIndex()
			_, err := f.s.HoldJobs(f.next(), &structs.JobHoldRequest{JobIDs: []string{id}, Release: true})
			if !errors.Is(err, structs.ErrForbidden) {
				t.Fatalf("user release of an admin hold: %v", err)
			}
			// A user hold asked of it keeps the admin hold.
			if got, err := f.s.HoldJobs(f.next(), hold(id)); err != nil || len(got) != 0 {
				t.Fatalf("user hold of an admin-held job = %v, %v", got, err)
			}
			if j := f.job(id); !j.Hold.Admin || f.s.LatestIndex() != before {
				t.Errorf("changed: %+v, index %d -> %d", j.Hold, before, f.s.LatestIndex())
			}
			if _, err := f.s.HoldJobs(f.next(), &structs.JobHoldRequest{JobIDs: []string{id}, Release: true, Admin: true}); err != nil {
				t.Fatal(err)
			}
			if j := f.job(id); j.Hold != nil {
				t.Errorf("still held: %+v", j.Hold)
			}
		}},
		{name: "an operator's hold of a user-held job makes it an admin hold", run: func(t *testing.T, f *fixture) {
			id := f.register(newJob("a").User("alice").Build())[0]
			if _, err := f.s.HoldJobs(f.next(), hold(id)); err != nil {
				t.Fatal(err)
			}
			if got, err := f.s.HoldJobs(f.next(), &structs.JobHoldRequest{JobIDs: []string{id}, Admin: true, By: "ops", Now: t0}); err != nil || len(got) != 1 {
				t.Fatalf("admin hold = %v, %v", got, err)
			}
			if j := f.job(id); !j.Hold.Admin || j.Hold.By != "ops" {
				t.Errorf("hold %+v", j.Hold)
			}
		}},
		{name: "refused whole: running, unknown, not held", run: func(t *testing.T, f *fixture) {
			pending := f.register(newJob("a").Build())[0]
			running, _ := f.start(newJob("b").GPUs(1).Build(), "n1", 0)
			before := f.s.LatestIndex()
			for _, tc := range []struct {
				req  *structs.JobHoldRequest
				want error
			}{
				{hold(pending, running), structs.ErrConflict},
				{hold(pending, "404"), structs.ErrNotFound},
				{hold(pending, "x"), structs.ErrNotFound},
				{&structs.JobHoldRequest{JobIDs: []string{pending}, Release: true}, structs.ErrConflict},
				{hold(), structs.ErrInvalid},
			} {
				if _, err := f.s.HoldJobs(f.next(), tc.req); !errors.Is(err, tc.want) {
					t.Errorf("%+v: err %v, want %v", tc.req, err, tc.want)
				}
			}
			if j := f.job(pending); j.Hold != nil || f.s.LatestIndex() != before {
				t.Errorf("changed: hold %+v, index %d -> %d", j.Hold, before, f.s.LatestIndex())
			}
		}},
		{name: "submitted held: the owner's hold whatever was sent", run: func(t *testing.T, f *fixture) {
			ids := f.register(newJob("a").User("alice").With(func(j *structs.Job) {
				j.Hold = &structs.JobHold{By: "mallory", Admin: true}
			}).BeginAt(t0.Add(time.Hour)).Build())
			j := f.job(ids[0])
			if j.Hold == nil || j.Hold.Admin || j.Hold.By != "alice" || j.Reason != "JobHeldUser: held by alice until nai job release" || !j.EstimatedStart.IsZero() {
				t.Errorf("submitted held: %+v %q %v", j.Hold, j.Reason, j.EstimatedStart)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			tc.run(t, f)
		})
	}
}

// A plan made before a hold landed neither starts the held job, nor
// preempts for it, nor overwrites its reason.
func TestPlanSkipsHeldJob(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id := f.register(newJob("a").GPUs(1).Build())[0]
	if _, err := f.s.HoldJobs(f.next(), &structs.JobHoldRequest{JobIDs: []string{id}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	f.plan(f.alloc(id, "n1", 0))
	ws := structs.WaitBehind("9")
	ws.JobID = id
	_, err := f.s.ApplyPlan(f.next(), &structs.PlanApplyRequest{Now: t0, Waiting: []structs.WaitStatus{ws}})
	if err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if j.Status != structs.JobPending || j.Hold == nil || j.Reason != structs.WaitHeld(j.Hold).Reason {
		t.Errorf("held job after a stale plan: %s, %q", j.Status, j.Reason)
	}
}
