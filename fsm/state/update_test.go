package state

import (
	"errors"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestUpdateJobs(t *testing.T) {
	limit := structs.Duration(30 * time.Minute)
	gpus, name := 2, "renamed"
	upd := structs.JobUpdate{TimeLimit: &limit, GPUs: &gpus, Name: &name}
	req := func(_ *fixture, ids ...string) *structs.JobUpdateRequest {
		return &structs.JobUpdateRequest{JobIDs: ids, Update: upd}
	}
	t.Run("a pending job takes every field set, and nothing else", func(t *testing.T) {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		id := f.register(newJob("a").User("alice").GPUs(1).CPU(3).Build())[0]
		// A reason and estimate from an earlier plan are cleared for the
		// next one.
		ws := structs.WaitBehind("9")
		ws.JobID, ws.EstimatedStart = id, t0.Add(time.Hour)
		if _, err := f.s.ApplyPlan(f.next(), &structs.PlanApplyRequest{Now: t0, Waiting: []structs.WaitStatus{ws}}); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.UpdateJobs(f.next(), req(f, id))
		if err != nil || len(got) != 1 || got[0] != id {
			t.Fatalf("update = %v, %v", got, err)
		}
		j := f.job(id)
		if j.TimeLimit != limit || j.Resources.GPU.Count != 2 || j.Name != "renamed" || j.Resources.CPU != 3 || j.User != "alice" ||
			j.Reason != "" || !j.EstimatedStart.IsZero() || j.ModifyIndex != f.index || j.Status != structs.JobPending {
			t.Errorf("updated job: %+v", j)
		}
	})
	t.Run("a held job keeps its hold and its reason", func(t *testing.T) {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		id := f.register(newJob("a").User("alice").Build())[0]
		if _, err := f.s.HoldJobs(f.next(), &structs.JobHoldRequest{JobIDs: []string{id}, Now: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.UpdateJobs(f.next(), req(f, id)); err != nil {
			t.Fatal(err)
		}
		if j := f.job(id); j.Hold == nil || j.Reason != structs.WaitHeld(j.Hold).Reason || j.Resources.GPU.Count != 2 {
			t.Errorf("held job after update: hold %+v, reason %q", j.Hold, j.Reason)
		}
	})
	t.Run("the members of a sweep are changed one by one, their spec left alone", func(t *testing.T) {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		ids := f.register(newJob("s").Sweep("lr", "0.1").Build(), newJob("s").Sweep("lr", "0.2").Build())
		before := f.job(ids[1]).Resources.GPU.Count
		if _, err := f.s.UpdateJobs(f.next(), req(f, ids[0])); err != nil {
			t.Fatal(err)
		}
		if a, b := f.job(ids[0]), f.job(ids[1]); a.Resources.GPU.Count != 2 || b.Resources.GPU.Count != before || b.Name == "renamed" {
			t.Errorf("members after updating the first: %+v / %+v", a.Resources, b.Resources)
		}
	})
	t.Run("refused whole: running, unknown, empty", func(t *testing.T) {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		pending := f.register(newJob("a").Build())[0]
		running, _ := f.start(newJob("b").GPUs(1).Build(), "n1", 0)
		before := f.s.LatestIndex()
		for _, tc := range []struct {
			name string
			req  *structs.JobUpdateRequest
			want error
		}{
			{"running", req(f, pending, running), structs.ErrConflict},
			{"unknown", req(f, pending, "404"), structs.ErrNotFound},
			{"empty", &structs.JobUpdateRequest{Update: upd}, structs.ErrInvalid},
		} {
			if _, err := f.s.UpdateJobs(f.next(), tc.req); !errors.Is(err, tc.want) {
				t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
			}
		}
		if j := f.job(pending); j.Resources.GPU.Count == 2 || j.Name == "renamed" || f.s.LatestIndex() != before {
			t.Errorf("changed: %+v, index %d -> %d", j, before, f.s.LatestIndex())
		}
	})
}
