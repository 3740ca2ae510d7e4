package server

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nai-project/nai/structs"
)

// An upload that fills the disk fails cleanly: the client is told the
// server's disk is full, no half blob is left or visible, and the server
// goes on serving reads and smaller uploads.
func TestBlobUploadOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })

	_, c := testServer(t, t.TempDir(), func(cfg *Config) { cfg.BlobDir = dir })
	ctx := context.Background()

	_, err := c.UploadBlob(ctx, bytes.NewReader(bytes.Repeat([]byte("x"), 2<<20)))
	if err == nil || structs.CodeOf(err) != structs.CodeUnavailable || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("2 MiB upload onto a 1 MiB disk: %v; want an unavailable error saying the disk is full", err)
	}
	var left []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("the failed upload left files behind: %v", left)
	}

	want := bytes.Repeat([]byte("y"), 100<<10)
	info, err := c.UploadBlob(ctx, bytes.NewReader(want))
	if err != nil {
		t.Fatalf("a small upload after the failed one: %v", err)
	}
	rc, err := c.Blob(ctx, info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(want))
	}
	if _, err := c.Jobs(ctx, true); err != nil {
		t.Fatalf("the server stopped serving: %v", err)
	}
}
