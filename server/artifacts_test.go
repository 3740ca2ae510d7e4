package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func upload(t *testing.T, c *api.Client, body string) string {
	t.Helper()
	info, err := c.UploadBlob(context.Background(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return info.Digest
}

func TestDatasetRegistryAPI(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	d1 := upload(t, c, "one")
	d2 := upload(t, c, "two")

	r, err := c.PushArtifact(ctx, structs.KindDataset, "digits", &structs.ArtifactPushRequest{User: "alice", Digest: d1, Files: 1, Description: "hand-written digits"})
	if err != nil || r.Version != 1 || !r.Created {
		t.Fatalf("first push: %+v %v", r, err)
	}
	if r, err = c.PushArtifact(ctx, structs.KindDataset, "digits", &structs.ArtifactPushRequest{Digest: d1}); err != nil || r.Created || r.Version != 1 {
		t.Fatalf("identical push: %+v %v", r, err)
	}
	if r, err = c.PushArtifact(ctx, structs.KindDataset, "digits", &structs.ArtifactPushRequest{User: "alice", Digest: d2}); err != nil || r.Version != 2 {
		t.Fatalf("second push: %+v %v", r, err)
	}
	a, err := c.Artifact(ctx, structs.KindDataset, "digits")
	if err != nil {
		t.Fatal(err)
	}
	if a.User != "alice" || len(a.Versions) != 2 || a.Versions[0].Size != 3 || a.Versions[0].CreatedBy != "alice" || a.Description != "hand-written digits" {
		t.Errorf("dataset %+v", a)
	}
	list, err := c.Artifacts(ctx, structs.KindDataset)
	if err != nil || len(list) != 1 {
		t.Errorf("list: %v %v", list, err)
	}
	if models, err := c.Artifacts(ctx, structs.KindModel); err != nil || len(models) != 0 {
		t.Errorf("models: %v %v", models, err)
	}

	// A job reading version 1 pins it, and holds it from removal.
	j := gpuJob("train", 0)
	j.Datasets = []structs.ArtifactRef{{Name: "digits", Version: "1"}}
	resp, err := c.Register(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	err = c.DeleteArtifactVersion(ctx, structs.KindDataset, "digits", 1)
	if !errors.Is(err, structs.ErrConflict) || !strings.Contains(err.Error(), "in use by job "+resp.JobIDs[0]) {
		t.Errorf("remove of a used version: %v", err)
	}
	if a, _ = c.Artifact(ctx, structs.KindDataset, "digits"); len(a.Versions[0].UsedBy) != 1 {
		t.Errorf("used by %v", a.Versions[0].UsedBy)
	}
	if err := c.DeleteArtifactVersion(ctx, structs.KindDataset, "digits", 2); err != nil {
		t.Errorf("remove of an unused version: %v", err)
	}

	bad := []struct {
		name string
		do   func() error
		want error
		msg  string
	}{
		{"blob never uploaded", func() error {
			_, err := c.PushArtifact(ctx, structs.KindDataset, "x", &structs.ArtifactPushRequest{Digest: strings.Repeat("0", 64)})
			return err
		}, structs.ErrInvalid, "was not uploaded"},
		{"name with a space", func() error {
			_, err := c.PushArtifact(ctx, structs.KindModel, "my model", &structs.ArtifactPushRequest{Digest: d1})
			return err
		}, structs.ErrInvalid, "is invalid"},
		{"unknown field", func() error {
			_, err := c.PushArtifact(ctx, structs.KindModel, "m", &structs.ArtifactPushRequest{})
			return err
		}, structs.ErrInvalid, "digest"},
		{"unknown dataset", func() error { _, err := c.Artifact(ctx, structs.KindDataset, "nope"); return err }, structs.ErrNotFound, "not found"},
		{"unknown version", func() error { return c.DeleteArtifactVersion(ctx, structs.KindDataset, "digits", 9) }, structs.ErrNotFound, "no version 9"},
		{"job with unknown dataset", func() error {
			j := gpuJob("bad", 0)
			j.Datasets = []structs.ArtifactRef{{Name: "nope", Version: "latest"}}
			_, err := c.Register(ctx, j)
			return err
		}, structs.ErrInvalid, "does not exist"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestResumableUpload(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	content := bytes.Repeat([]byte("0123456789"), 1000)
	digest := sha(content)

	sess, err := c.StartUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	off, err := c.UploadChunk(ctx, sess.ID, 0, bytes.NewReader(content[:4000]), 4000)
	if err != nil || off != 4000 {
		t.Fatalf("first chunk: %d %v", off, err)
	}
	// An interrupted chunk: the body ends early. What arrived is kept.
	_, err = c.UploadChunk(ctx, sess.ID, 4000, bytes.NewReader(content[4000:5000]), 3000)
	if err == nil {
		t.Fatal("a short chunk was accepted")
	}
	// A chunk that does not follow on is refused with where to resume
	// (or as busy, while the server still reads the interrupted one).
	if _, err := c.UploadChunk(ctx, sess.ID, 100, bytes.NewReader(content[100:200]), 100); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("overlapping chunk: %v", err)
	}
	// Not a blob until committed.
	if ok, _ := c.HasBlob(ctx, digest); ok {
		t.Fatal("half an upload is visible as a blob")
	}
	var commitErr error
	waitUntil(t, "the interrupted chunk's request ends on the server", func() bool {
		_, commitErr = c.CommitUpload(ctx, sess.ID, digest)
		return commitErr == nil || !strings.Contains(commitErr.Error(), "is busy")
	})
	if !errors.Is(commitErr, structs.ErrInvalid) {
		t.Fatalf("commit of an incomplete upload: %v", commitErr)
	}
	// Resume where the server says, as a client does. The client gave up
	// on the interrupted chunk before the server had read it all: what
	// arrived may still land after the offset was read, and the resumed
	// chunk is then refused as not following on; the client asks again.
	waitUntil(t, "the upload resumes and completes", func() bool {
		off, err := c.UploadOffset(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.UploadChunk(ctx, sess.ID, off, bytes.NewReader(content[off:]), int64(len(content))-off)
		if errors.Is(err, structs.ErrConflict) {
			return false
		}
		if err != nil || got != int64(len(content)) {
			t.Fatalf("resumed chunk from %d: %d %v", off, got, err)
		}
		return true
	})
	info, err := c.CommitUpload(ctx, sess.ID, digest)
	if err != nil || info.Size != int64(len(content)) {
		t.Fatalf("commit: %+v %v", info, err)
	}
	rc, err := c.Blob(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Error("blob differs from what was uploaded")
	}
	if _, err := c.UploadOffset(ctx, sess.ID); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("session after commit: %v", err)
	}
	if _, err := s.blobs.UploadOffset("../../etc"); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("path in an upload id: %v", err)
	}

	// UploadFile does it all, and skips what the servers hold.
	other := bytes.Repeat([]byte("x"), 10_000)
	info, err = c.UploadFile(ctx, bytes.NewReader(other), int64(len(other)), sha(other), 3000, 2)
	if err != nil || info.Digest != sha(other) {
		t.Fatalf("UploadFile: %+v %v", info, err)
	}
	if ok, err := c.HasBlob(ctx, sha(other)); !ok || err != nil {
		t.Errorf("HasBlob after UploadFile: %v %v", ok, err)
	}
}

// A dry-run push says whether the caller may push, before any upload,
// and writes nothing.
func TestPushDryRun(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	as := func(caller string) *api.Client { return f.as(t, caller) }
	dry := &structs.ArtifactPushRequest{Group: "vision", DryRun: true}
	if _, err := as("reader").PushArtifact(ctx, structs.KindDataset, "vis-data", dry); !api.IsForbidden(err) {
		t.Errorf("a reader's dry run: %v, want forbidden", err)
	}
	if _, err := as("member").PushArtifact(ctx, structs.KindDataset, "vis-data", dry); err != nil {
		t.Errorf("a member's dry run: %v", err)
	}
	if _, err := as("member").PushArtifact(ctx, structs.KindDataset, "bad name", dry); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("a dry run with a bad name: %v, want invalid", err)
	}
	if a, err := as("member").Artifact(ctx, structs.KindDataset, "vis-data"); err == nil {
		t.Errorf("a dry run made dataset vis-data: %+v", a)
	}
}

// A mistyped dataset or model name gets the name meant, among those the
// caller may see.
func TestArtifactDidYouMean(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	as := func(caller string) *api.Client { return f.as(t, caller) }
	owner, stranger := as("owner"), as("stranger")
	info, err := owner.UploadBlob(ctx, strings.NewReader("weights"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.PushArtifact(ctx, structs.KindModel, "toy-model", &structs.ArtifactPushRequest{Digest: info.Digest, Size: info.Size, Group: "vision"}); err != nil {
		t.Fatal(err)
	}
	hint := `did you mean "toy-model"?`
	for _, name := range []string{"toy-modl", "TOY-MODEL"} {
		if _, err := owner.Artifact(ctx, structs.KindModel, name); !errors.Is(err, structs.ErrNotFound) || !strings.Contains(err.Error(), hint) {
			t.Errorf("model %s: %v, want not found with %q", name, err, hint)
		}
	}
	j := gpuJob("ft", 0)
	j.User, j.Group = "", "vision"
	j.Models = []structs.ArtifactRef{{Name: "toy-modle", Version: "latest"}}
	if _, err := owner.Register(ctx, j); !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), `model "toy-modle" does not exist: push it first; `+hint) {
		t.Errorf("job reading toy-modle: %v", err)
	}
	// A stranger may not see toy-model: no hint that it exists.
	if _, err := stranger.Artifact(ctx, structs.KindModel, "toy-modl"); !errors.Is(err, structs.ErrNotFound) || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a stranger's typo: %v, want not found without a hint", err)
	}
}

// A dry run is audited as the write route it is, saying it wrote nothing,
// so the log never reads as if a version had been pushed.
func TestPushDryRunAudited(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if _, err := c.PushArtifact(ctx, structs.KindDataset, "probe", &structs.ArtifactPushRequest{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the audit log names the dry run", func() bool {
		events, err := c.Audit(ctx, api.AuditFilter{})
		if err != nil {
			return false
		}
		for _, e := range events {
			if e.Object == "dataset probe (dry run: nothing written)" {
				return true
			}
		}
		return false
	})
	if a, err := c.Artifact(ctx, structs.KindDataset, "probe"); err == nil {
		t.Errorf("a dry run made dataset probe: %+v", a)
	}
}
