package server

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// A blob nothing references is deleted from disk and from the table once
// the retention has passed; a dataset's blob stays.
func TestBlobGarbageCollection(t *testing.T) {
	s, c := testServer(t, t.TempDir(), func(c *Config) {
		// Long enough for the push to follow its upload on a busy machine.
		c.BlobRetention = 400 * time.Millisecond
		c.BlobGCInterval = 10 * time.Millisecond
		c.BlobRecheckInterval = 10 * time.Millisecond
	})
	ctx := context.Background()
	kept := upload(t, c, "the digits dataset")
	if _, err := c.PushArtifact(ctx, structs.KindDataset, "digits", &structs.ArtifactPushRequest{Digest: kept}); err != nil {
		t.Fatal(err)
	}
	orphan := upload(t, c, "code nobody submitted")
	waitUntil(t, "the unreferenced blob is gone from disk and table", func() bool {
		_, err := os.Stat(s.blobs.Path(orphan))
		return os.IsNotExist(err) && blobRow(t, s, orphan) == nil
	})
	if ok, err := c.HasBlob(ctx, orphan); err != nil || ok {
		t.Errorf("HEAD of a collected blob: %v, %v; want false", ok, err)
	}
	b := blobRow(t, s, kept)
	if b == nil || b.Deleted || !b.HeldBy("test") {
		t.Fatalf("referenced blob: %+v", b)
	}
	if _, err := os.Stat(s.blobs.Path(kept)); err != nil {
		t.Errorf("referenced blob's file: %v", err)
	}
	// Removing the version frees the blob.
	if err := c.DeleteArtifactVersion(ctx, structs.KindDataset, "digits", 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the freed blob is collected", func() bool { return blobRow(t, s, kept) == nil })
}

// A blob file on disk that the table does not list (kept from before the
// table existed) is verified and recorded; a recorded copy whose file
// vanished is dropped.
func TestLocalFilesAndTableAgree(t *testing.T) {
	dir := t.TempDir()
	s, c := testServer(t, dir, func(c *Config) { c.BlobRecheckInterval = 10 * time.Millisecond })
	body := []byte("output of an old job")
	info, err := s.blobs.Put(bytes.NewReader(body), "")
	d := info.Digest
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the local blob is recorded", func() bool { return heldBy(s, d, "test") })
	if ok, err := c.HasBlob(context.Background(), d); err != nil || !ok {
		t.Errorf("HEAD: %v, %v", ok, err)
	}
	if err := os.Remove(s.blobs.Path(d)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the vanished copy is no longer recorded", func() bool { return !heldBy(s, d, "test") })
}

// A state restored from another cluster names that cluster's servers as
// the holders of its blobs. They are no servers of this one: the blob list
// shows only this cluster's holders from the first, and the leader forgets
// the others at the restore, not at its next sweep (a minute later at
// most, an hour here), so that the blob is shown with the copies it has
// and copied again where a server has it.
func TestRestoredHoldersOfAnotherCluster(t *testing.T) {
	s, c := testServer(t, t.TempDir(), func(c *Config) { c.BlobGCInterval = time.Hour })
	ctx := context.Background()
	d := upload(t, c, "logs of job 3")
	if _, err := c.PushArtifact(ctx, structs.KindDataset, "logs", &structs.ArtifactPushRequest{Digest: d}); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"srv1", "srv2"} {
		if _, _, err := s.apply(fsm.BlobRegister, &structs.BlobRegisterRequest{Digest: d, Size: 13, Server: old, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if b := blobRow(t, s, d); b == nil || !b.HeldBy("srv1") {
		t.Fatalf("test setup: row %+v, want srv1 among its holders", b)
	}
	listed := func() []string {
		t.Helper()
		blobs, err := c.Blobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blobs {
			if b.Digest == d {
				return b.Holders
			}
		}
		return nil
	}
	if h := listed(); !slices.Equal(h, []string{"test"}) {
		t.Errorf("listed holders %v, want only this cluster's server [test]", h)
	}
	archive := saveSnapshot(t, c)
	if _, err := c.RestoreSnapshot(ctx, bytes.NewReader(archive), false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the holders outside the cluster forgotten after the restore", func() bool {
		b := blobRow(t, s, d)
		return b != nil && !b.HeldBy("srv1") && !b.HeldBy("srv2")
	})
}
