package server

import (
	"context"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// TestDependencyOnUnreadableJob: a dependency on a job the caller may not
// read is refused exactly as one on a job that does not exist, whatever
// its kind (a red-team walkthrough learnt "job 10022 ended complete" and
// "job 8 is a service (bobsvc)" of another user's jobs, and an afterany
// on one was accepted and its waiting reason tracked that job).
func TestDependencyOnUnreadableJob(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	owner, stranger, reader := f.as(t, "owner"), f.as(t, "stranger"), f.as(t, "reader")
	svc, _, err := owner.Service(ctx, "vision")
	if err != nil {
		t.Fatal(err)
	}
	ended, _ := f.pendingJob(t, owner)
	if err := owner.Cancel(ctx, ended); err != nil {
		t.Fatal(err)
	}
	arr := sweepOf(t, 2, "")
	arr.Template.Resources.GPU.Count, arr.Template.Group = 64, "vision"
	ar, err := owner.RegisterSweep(ctx, arr)
	if err != nil {
		t.Fatal(err)
	}
	submit := func(c interface {
		Register(context.Context, ...*structs.Job) (*structs.JobRegisterResponse, error)
	}, typ structs.DependencyType, id string) error {
		j := gpuJob("after", 64)
		j.User = ""
		j.DependsOn = []structs.Dependency{{Type: typ, JobID: id}}
		_, err := c.Register(ctx, j)
		return err
	}
	absent := "99999"
	for _, tc := range []struct {
		typ structs.DependencyType
		id  string
	}{
		{structs.AfterAny, f.jobID},
		{structs.AfterOK, f.jobID},
		{structs.AfterOK, svc.JobID},
		{structs.AfterOK, ended},
		{structs.AfterNotOK, ended},
		{structs.AfterAny, ar.JobIDs[0]},
	} {
		want := submit(stranger, tc.typ, absent)
		got := submit(stranger, tc.typ, tc.id)
		if got == nil {
			t.Errorf("%s:%s of another user's job was accepted", tc.typ, tc.id)
			continue
		}
		if strings.ReplaceAll(got.Error(), tc.id, "N") != strings.ReplaceAll(want.Error(), absent, "N") || structs.CodeOf(got) != structs.CodeOf(want) {
			t.Errorf("%s:%s: %v\nwant it answered as a job that does not exist: %v", tc.typ, tc.id, got, want)
		}
	}
	// An array member of an array the caller may not read.
	got := submit(stranger, structs.AfterAny, ar.JobIDs[0]+"_1")
	want := submit(stranger, structs.AfterAny, absent+"_1")
	if got == nil || strings.ReplaceAll(got.Error(), ar.JobIDs[0], "N") != strings.ReplaceAll(want.Error(), absent, "N") {
		t.Errorf("a member of an unreadable array: %v\nwant %v", got, want)
	}
	// Whoever may read the job is told why, as before.
	if err := submit(reader, structs.AfterOK, ended); err == nil || !strings.Contains(err.Error(), "can never be satisfied") {
		t.Errorf("a reader of the job: %v", err)
	}
}

// TestNameTakenByAnotherGroup: a name held by something the caller may
// not read is said to be taken, without naming its job or group.
func TestNameTakenByAnotherGroup(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	stranger := f.as(t, "stranger")
	mine, err := stranger.UploadBlob(ctx, strings.NewReader("the stranger's weights"))
	if err != nil {
		t.Fatal(err)
	}
	// A dataset name of group vision.
	_, err = stranger.PushArtifact(ctx, structs.KindDataset, "digits", &structs.ArtifactPushRequest{Digest: mine.Digest, Group: "u2"})
	if err == nil || !strings.Contains(err.Error(), "taken by another group") || strings.Contains(err.Error(), "vision") {
		t.Errorf("pushing to another group's dataset name: %v, want taken, not naming the group", err)
	}
	// A service name of group vision (job in the fixture).
	if _, err := stranger.PushArtifact(ctx, structs.KindModel, "smodel", &structs.ArtifactPushRequest{Digest: mine.Digest}); err != nil {
		t.Fatal(err)
	}
	svc, _, err := f.as(t, "owner").Service(ctx, "vision")
	if err != nil {
		t.Fatal(err)
	}
	_, err = stranger.Serve(ctx, &structs.ServeRequest{Model: "smodel", Name: "vision", Command: []string{"true"}})
	if !errorsIsConflict(err) || !strings.Contains(err.Error(), "taken") || strings.Contains(err.Error(), svc.JobID) {
		t.Errorf("serving under another group's service name: %v, want taken, not naming job %s", err, svc.JobID)
	}
	// Reading, changing or calling it: refused without its job or owner.
	_, _, err = stranger.Service(ctx, "vision")
	if structs.CodeOf(err) != structs.CodeForbidden || strings.Contains(err.Error(), "u1") || strings.Contains(err.Error(), "job "+svc.JobID) {
		t.Errorf("reading another group's service: %v", err)
	}
	if _, err := stranger.ScaleService(ctx, "vision", 2); structs.CodeOf(err) != structs.CodeForbidden || strings.Contains(err.Error(), "u1") {
		t.Errorf("scaling another group's service: %v", err)
	}
	if code, body := call(t, stranger, "GET", "vision", "/", f.secrets["stranger"]); code != 403 || strings.Contains(body, "u1") || strings.Contains(body, "job "+svc.JobID) {
		t.Errorf("calling another group's service: %d %s", code, body)
	}
	j := gpuJob("vision", 1)
	j.User, j.Type, j.Service = "", structs.JobService, &structs.ServiceSpec{Replicas: 1}
	if _, err := stranger.Register(ctx, j); !errorsIsConflict(err) || strings.Contains(err.Error(), "job "+svc.JobID) {
		t.Errorf("a service job under another group's service name: %v", err)
	}
}

func errorsIsConflict(err error) bool { return structs.CodeOf(err) == structs.CodeConflict }
