package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// TestBlobClaims: a digest is no key to content. A user may name a blob
// in a push or a job's code only when it uploaded that content or may read
// something that already names it; anyone else is told the blob is not
// found, exactly as for content that does not exist (a red-team walkthrough
// claimed bob's code this way and pulled it as a dataset of its own).
func TestBlobClaims(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	owner, stranger, reader := f.as(t, "owner"), f.as(t, "stranger"), f.as(t, "reader")

	// The owner's code, in a job of group vision.
	code, err := owner.UploadBlob(ctx, strings.NewReader("print('the owner's secret')"))
	if err != nil {
		t.Fatal(err)
	}
	j := gpuJob("secret", 64)
	j.User, j.Group, j.Code = "", "vision", code.Digest
	if _, err := owner.Register(ctx, j); err != nil {
		t.Fatalf("the uploader's own code: %v", err)
	}
	absent := strings.Repeat("ab", 32)

	// HEAD: the stranger does not learn the blobs exist.
	for _, d := range []string{code.Digest, f.digest} {
		if ok, err := stranger.HasBlob(ctx, d); err != nil || ok {
			t.Errorf("HEAD of someone else's blob as a stranger: %v %v, want not found", ok, err)
		}
		if ok, err := reader.HasBlob(ctx, d); err != nil || !ok {
			t.Errorf("HEAD of a blob a readable job or version names: %v %v", ok, err)
		}
	}

	// Pushing the owner's content as a dataset of one's own: refused as a
	// blob never uploaded is.
	push := func(c interface {
		PushArtifact(context.Context, structs.ArtifactKind, string, *structs.ArtifactPushRequest) (*structs.ArtifactPushResponse, error)
	}, name, digest string) error {
		_, err := c.PushArtifact(ctx, structs.KindDataset, name, &structs.ArtifactPushRequest{Digest: digest, Size: 10, Files: 1})
		return err
	}
	errAbsent := push(stranger, "stolen", absent)
	for _, d := range []string{code.Digest, f.digest} {
		err := push(stranger, "stolen", d)
		if err == nil {
			t.Fatalf("the stranger pushed blob %s it never uploaded and may not read", d)
		}
		if got, want := strings.ReplaceAll(err.Error(), d, "X"), strings.ReplaceAll(errAbsent.Error(), absent, "X"); got != want {
			t.Errorf("refusal differs from that of an absent blob (it confirms the blob exists):\n got %s\nwant %s", got, want)
		}
		if structs.CodeOf(err) != structs.CodeOf(errAbsent) {
			t.Errorf("code %s, want %s", structs.CodeOf(err), structs.CodeOf(errAbsent))
		}
	}
	if a, err := f.as(t, "management").Artifact(ctx, structs.KindDataset, "stolen"); err == nil && a != nil {
		t.Fatalf("a refused push left dataset stolen: %+v", a)
	}

	// A job whose code is someone else's: refused alike.
	steal := gpuJob("steal", 64)
	steal.User, steal.Code = "", code.Digest
	steal.Task.Command, steal.Task.Args = "cat", []string{"srv.py"}
	_, err = stranger.Register(ctx, steal)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("a job naming someone else's code: %v, want not found", err)
	}
	steal.Code = absent
	_, err2 := stranger.Register(ctx, steal)
	if err2 == nil || strings.ReplaceAll(err.Error(), code.Digest, "X") != strings.ReplaceAll(err2.Error(), absent, "X") {
		t.Errorf("refusals differ:\n%v\n%v", err, err2)
	}
	// A sweep of such jobs too.
	if _, err := stranger.RegisterSweep(ctx, &structs.SweepSpec{Template: withCode(gpuJob("sw", 64), code.Digest),
		Members: []structs.SweepMember{{Values: map[string]string{"lr": "1"}}, {Values: map[string]string{"lr": "2"}}}}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a sweep naming someone else's code: %v", err)
	}

	// Whoever may read the job that names the code may run it (a group
	// reader reproducing a run), and a group writer may push a version of
	// content a readable version holds.
	re := withCode(gpuJob("rerun", 64), code.Digest)
	re.Group = "vision"
	if _, err := f.as(t, "member").Register(ctx, re); err != nil {
		t.Errorf("a group member running the group's code: %v", err)
	}
	if err := push(f.as(t, "member"), "copy", f.digest); err != nil {
		t.Errorf("a group member pushing content of a version it reads: %v", err)
	}
	// Uploading the same content makes it the stranger's to use.
	if _, err := stranger.UploadBlob(ctx, strings.NewReader("print('the owner's secret')")); err != nil {
		t.Fatal(err)
	}
	if err := push(stranger, "mine", code.Digest); err != nil {
		t.Errorf("content the stranger uploaded itself: %v", err)
	}
	if ok, err := stranger.HasBlob(ctx, code.Digest); err != nil || !ok {
		t.Errorf("HEAD of content the stranger uploaded: %v %v", ok, err)
	}
	// Management names anything.
	if err := push(f.as(t, "management"), "ops", f.digest); err == nil {
		// management pushes need a user; the refusal must not be the blob's
	} else if strings.Contains(err.Error(), "was not uploaded") {
		t.Errorf("management refused the blob: %v", err)
	}
}

func withCode(j *structs.Job, digest string) *structs.Job {
	j.User, j.Code = "", digest
	return j
}

// uploadPeers is a cluster of the server under test and one peer that
// remembers the uploads it is given.
type uploadPeers struct{ addr string }

func (p uploadPeers) servers() []string { return []string{"test", "peer"} }
func (p uploadPeers) httpAddr(name string) (string, bool) {
	return p.addr, name == "peer"
}

// TestBlobClaimsAskPeers: content uploaded to another server (the client
// talked to a follower; the push went to the leader) is the uploader's
// there too: the server asks its peers.
func TestBlobClaimsAskPeers(t *testing.T) {
	content := "uploaded to the peer"
	digest := sha([]byte(content))
	var asked []string
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		var out []structs.BlobUpload
		if r.URL.Path == "/v1/operator/uploads/u2" {
			out = append(out, structs.BlobUpload{Digest: digest, Size: int64(len(content)), Time: time.Now()})
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer peer.Close()
	f := newACLFixture(t, func(c *Config) { c.blobPeers = uploadPeers{addr: strings.TrimPrefix(peer.URL, "http://")} })
	ctx := context.Background()
	// The content is on this server too (replicated), uploaded by the owner.
	if _, err := f.as(t, "owner").UploadBlob(ctx, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	req := &structs.ArtifactPushRequest{Digest: digest, Size: 1, Files: 1}
	if _, err := f.as(t, "stranger").PushArtifact(ctx, structs.KindDataset, "mine", req); err != nil {
		t.Fatalf("content the stranger uploaded to a peer: %v (peer asked %v)", err, asked)
	}
	if _, err := f.as(t, "member").PushArtifact(ctx, structs.KindDataset, "theirs", req); err == nil {
		t.Fatal("content only the stranger and the owner uploaded was pushed by a member")
	} else if !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("member: %v", err)
	}
}

// TestUploadPendingBound: what a user uploaded that no job or version uses
// yet is bounded (it is kept for the blob retention, on every server): an
// upload beyond the bound is refused with what is pending and when it is
// forgotten; using the content frees the room.
func TestUploadPendingBound(t *testing.T) {
	f := newACLFixture(t, func(c *Config) { c.UploadPendingLimit = 1000 })
	ctx := context.Background()
	stranger := f.as(t, "stranger")
	first, err := stranger.UploadBlob(ctx, strings.NewReader(strings.Repeat("a", 600)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = stranger.UploadBlob(ctx, strings.NewReader(strings.Repeat("b", 600)))
	if !errors.Is(err, structs.ErrConflict) || !strings.Contains(err.Error(), "keeps 600B") || !strings.Contains(err.Error(), "forgotten at") {
		t.Fatalf("an upload past the bound: %v, want a conflict saying what is pending and until when", err)
	}
	// A body of unknown length is cut off at the bound too.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(strings.Repeat("c", 700)))
		pw.Close()
	}()
	if _, err := stranger.UploadBlob(ctx, pr); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("a streamed upload past the bound: %v", err)
	}
	// So is a resumable upload's chunk.
	sess, err := stranger.StartUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.UploadChunk(ctx, sess.ID, 0, strings.NewReader(strings.Repeat("d", 500)), 500); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("a chunk past the bound: %v", err)
	}
	// Other users have their own room; management is not bounded.
	if _, err := f.as(t, "member").UploadBlob(ctx, strings.NewReader(strings.Repeat("e", 600))); err != nil {
		t.Errorf("another user: %v", err)
	}
	if _, err := f.as(t, "management").UploadBlob(ctx, strings.NewReader(strings.Repeat("f", 2000))); err != nil {
		t.Errorf("management: %v", err)
	}
	// Pushing the first upload uses it: the room is back.
	if _, err := stranger.PushArtifact(ctx, structs.KindDataset, "mine", &structs.ArtifactPushRequest{Digest: first.Digest, Size: first.Size, Files: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.UploadBlob(ctx, strings.NewReader(strings.Repeat("b", 600))); err != nil {
		t.Errorf("after the pending content was used: %v", err)
	}
}

// The ledger forgets uploads older than the retention, for users who do
// not upload again too.
func TestUploadLedgerForgets(t *testing.T) {
	var l uploadLedger
	t0 := time.Now()
	l.record("a", structs.BlobUpload{Digest: "d1", Size: 1, Time: t0}, t0.Add(-time.Hour))
	l.record("b", structs.BlobUpload{Digest: "d2", Size: 1, Time: t0.Add(2 * time.Minute)}, t0.Add(-time.Hour))
	if !l.has("a", "d1", t0.Add(-time.Hour)) || l.has("a", "d1", t0) || l.has("b", "d1", t0.Add(-time.Hour)) {
		t.Fatal("has answers wrong")
	}
	l.record("b", structs.BlobUpload{Digest: "d3", Size: 1, Time: t0.Add(5 * time.Minute)}, t0.Add(time.Minute))
	if _, ok := l.byUser["a"]; ok {
		t.Errorf("a's old upload is still remembered: %v", l.byUser)
	}
	if got := l.of("b", t0.Add(3*time.Minute)); len(got) != 1 || got[0].Digest != "d3" {
		t.Errorf("b's uploads since: %v", got)
	}
}
