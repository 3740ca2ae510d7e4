package server

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

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
