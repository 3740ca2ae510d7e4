package server

import (
	"context"
	"slices"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// Hold and release with ACLs: the owner places and lifts a user hold, an
// operator an admin hold that the owner cannot lift; others may do
// neither; bad input changes nothing.
func TestHoldRelease(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	as := func(caller string) *api.Client { return f.as(t, caller) }
	owner, op, stranger, member := as("owner"), as("operator"), as("stranger"), as("member")
	id, job := f.pendingJob(t, owner)
	target := []structs.CancelTarget{{ID: id}}
	code := func(err error) structs.ErrorCode { return structs.CodeOf(err) }

	// A stranger may not see the job: to it, there is none (hidden.go).
	if _, err := stranger.HoldJobs(ctx, target); !api.IsNotFound(err) || err.Error() != "job "+id+" not found" {
		t.Fatalf("stranger's hold: %v, want job %s not found", err, id)
	}
	if _, err := member.HoldJobs(ctx, target); !api.IsForbidden(err) {
		t.Fatalf("group member's hold: %v, want forbidden", err)
	}
	if j := job(); j.Hold != nil {
		t.Fatalf("held by a refused caller: %+v", j.Hold)
	}

	// The owner's user hold, and release.
	resp, err := owner.HoldJobs(ctx, target)
	if err != nil || resp.Admin || !slices.Equal(resp.JobIDs, []string{id}) || !slices.Equal(resp.Refs, []string{id}) {
		t.Fatalf("owner's hold = %+v, %v", resp, err)
	}
	if j := job(); j.Hold == nil || j.Hold.Admin || j.Hold.By != "u1" || j.Reason != "JobHeldUser: held by u1 until nai job release" {
		t.Fatalf("after the owner's hold: %+v %q", j.Hold, j.Reason)
	}
	if _, err := owner.ReleaseJobs(ctx, target); err != nil {
		t.Fatal(err)
	}
	if j := job(); j.Hold != nil {
		t.Fatalf("still held: %+v", j.Hold)
	}
	if resp, err := owner.ReleaseJobs(ctx, target); err != nil || len(resp.JobIDs) != 0 || !slices.Equal(resp.Unchanged, []structs.JobHoldUnchanged{{Ref: id, ID: id}}) {
		t.Fatalf("release of a job not held = %+v, %v; want it unchanged", resp, err)
	}

	// An operator's admin hold: the owner cannot release it.
	resp, err = op.HoldJobs(ctx, target)
	if err != nil || !resp.Admin {
		t.Fatalf("operator's hold = %+v, %v", resp, err)
	}
	if j := job(); j.Hold == nil || !j.Hold.Admin || j.Hold.By != "op" || j.Reason != "JobHeldAdmin: held by op until an operator's nai job release" {
		t.Fatalf("after the operator's hold: %+v %q", j.Hold, j.Reason)
	}
	if _, err := owner.ReleaseJobs(ctx, target); !api.IsForbidden(err) {
		t.Fatalf("owner's release of an admin hold: %v, want forbidden", err)
	}
	if j := job(); j.Hold == nil || !j.Hold.Admin {
		t.Fatalf("admin hold lifted by the owner: %+v", j.Hold)
	}
	if _, err := op.ReleaseJobs(ctx, target); err != nil {
		t.Fatal(err)
	}
	if j := job(); j.Hold != nil {
		t.Fatalf("still held after the operator's release: %+v", j.Hold)
	}

	// Bad input: nothing changes (once the scheduler has said why the
	// released job waits).
	waitUntil(t, "the released job has a reason", func() bool { return job().Reason != "" })
	before := job().ModifyIndex
	for name, tc := range map[string]struct {
		targets []structs.CancelTarget
		want    structs.ErrorCode
	}{
		"a running job":       {[]structs.CancelTarget{{ID: id}, {ID: f.jobID}}, structs.CodeConflict},
		"an unknown job":      {[]structs.CancelTarget{{ID: id}, {ID: "9999"}}, structs.CodeNotFound},
		"no target":           {nil, structs.CodeInvalid},
		"a target with no id": {[]structs.CancelTarget{{ID: ""}}, structs.CodeInvalid},
	} {
		if _, err := owner.HoldJobs(ctx, tc.targets); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
	if j := job(); j.Hold != nil || j.ModifyIndex != before {
		t.Errorf("bad input changed the job: %+v, index %d -> %d", j.Hold, before, j.ModifyIndex)
	}

	// Submitted held: the owner's user hold, whatever the body said.
	held := gpuJob("held", 1)
	held.User, held.Group = "", "vision"
	held.Hold = &structs.JobHold{By: "op", Admin: true}
	r, err := owner.Register(ctx, held)
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := owner.Job(ctx, r.JobIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if j.Hold == nil || j.Hold.Admin || j.Hold.By != "u1" || j.Status != structs.JobPending {
		t.Fatalf("submitted held: %+v, %s", j.Hold, j.Status)
	}
	if _, err := owner.ReleaseJobs(ctx, []structs.CancelTarget{{ID: j.ID}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the released job starts", func() bool {
		j, _, err := owner.Job(ctx, r.JobIDs[0])
		return err == nil && j.Status != structs.JobPending
	})
}

// An array id holds its pending members and releases its held ones;
// "only" names member 0 alone; an array with nothing to do refuses.
func TestHoldReleaseArray(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	// No node: everything stays pending.
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
	arr := r.ArrayID
	heldIDs := func() []string {
		t.Helper()
		jobs, err := c.ArrayJobs(ctx, arr)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range jobs {
			if j.Hold != nil {
				out = append(out, j.ID)
			}
		}
		return out
	}
	if resp, err := c.ReleaseJobs(ctx, []structs.CancelTarget{{ID: arr}}); err != nil || len(resp.JobIDs) != 0 ||
		!slices.Equal(resp.Unchanged, []structs.JobHoldUnchanged{{Ref: arr, ID: arr, Array: true}}) {
		t.Fatalf("release of an array with no held member = %+v, %v; want it unchanged", resp, err)
	}
	resp, err := c.HoldJobs(ctx, []structs.CancelTarget{{ID: arr}})
	if err != nil || !slices.Equal(resp.JobIDs, r.JobIDs) {
		t.Fatalf("hold of the array = %+v, %v; want %v", resp, err, r.JobIDs)
	}
	// The answer names the members as nai queue does: A_N.
	if want := []string{arr + "_0", arr + "_1", arr + "_2"}; !slices.Equal(resp.Refs, want) {
		t.Errorf("hold of the array named %v, want %v", resp.Refs, want)
	}
	if got := heldIDs(); !slices.Equal(got, r.JobIDs) {
		t.Fatalf("held %v, want %v", got, r.JobIDs)
	}
	if resp, err := c.HoldJobs(ctx, []structs.CancelTarget{{ID: arr}}); err != nil || len(resp.JobIDs) != 0 ||
		!slices.Equal(resp.Unchanged, []structs.JobHoldUnchanged{{Ref: arr, ID: arr, Array: true}}) {
		t.Fatalf("hold of an array held already = %+v, %v; want it unchanged", resp, err)
	}
	if resp, err := c.ReleaseJobs(ctx, []structs.CancelTarget{{ID: arr, Only: true}}); err != nil || !slices.Equal(resp.JobIDs, []string{arr}) || !slices.Equal(resp.Refs, []string{arr + "_0"}) {
		t.Fatalf("release of member 0 alone = %+v, %v", resp, err)
	}
	if got := heldIDs(); !slices.Equal(got, r.JobIDs[1:]) {
		t.Fatalf("held %v, want %v", got, r.JobIDs[1:])
	}
	if resp, err := c.ReleaseJobs(ctx, []structs.CancelTarget{{ID: arr}}); err != nil || !slices.Equal(resp.JobIDs, r.JobIDs[1:]) {
		t.Fatalf("release of the array = %+v, %v", resp, err)
	}
	if got := heldIDs(); len(got) != 0 {
		t.Fatalf("still held: %v", got)
	}
}

// A target that is as asked already is left as it is and named in the
// answer; the other targets are still held or released. A release with
// nothing to release writes no raft entry.
func TestHoldReleaseUnchanged(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	// No node: both stay pending.
	r, err := c.Register(ctx, gpuJob("a", 1))
	if err != nil {
		t.Fatal(err)
	}
	a := r.JobIDs[0]
	r, err = c.Register(ctx, gpuJob("b", 1))
	if err != nil {
		t.Fatal(err)
	}
	b := r.JobIDs[0]
	both := []structs.CancelTarget{{ID: a}, {ID: b}}
	if _, err := c.HoldJobs(ctx, both[:1]); err != nil {
		t.Fatal(err)
	}
	resp, err := c.HoldJobs(ctx, both)
	if err != nil || !slices.Equal(resp.JobIDs, []string{b}) || !slices.Equal(resp.Unchanged, []structs.JobHoldUnchanged{{Ref: a, ID: a}}) {
		t.Fatalf("hold of %s (held) and %s = %+v, %v; want %s held, %s unchanged", a, b, resp, err, b, a)
	}
	if _, err := c.ReleaseJobs(ctx, both[:1]); err != nil {
		t.Fatal(err)
	}
	resp, err = c.ReleaseJobs(ctx, both)
	if err != nil || !slices.Equal(resp.JobIDs, []string{b}) || !slices.Equal(resp.Unchanged, []structs.JobHoldUnchanged{{Ref: a, ID: a}}) {
		t.Fatalf("release of %s (not held) and %s = %+v, %v; want %s released, %s unchanged", a, b, resp, err, b, a)
	}
	// Once the scheduler has said why the released jobs wait, a release
	// of neither changes neither.
	indexes := func() (out []uint64) {
		t.Helper()
		for _, id := range []string{a, b} {
			j, _, err := c.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Reason == "" {
				return nil
			}
			out = append(out, j.ModifyIndex)
		}
		return out
	}
	waitUntil(t, "the released jobs have reasons", func() bool { return indexes() != nil })
	before := indexes()
	resp, err = c.ReleaseJobs(ctx, both)
	if err != nil || len(resp.JobIDs) != 0 || len(resp.Unchanged) != 2 {
		t.Fatalf("release of two jobs not held = %+v, %v", resp, err)
	}
	if after := indexes(); !slices.Equal(after, before) {
		t.Errorf("a release that released nothing changed the jobs: index %v -> %v", before, after)
	}
}
