package server

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// TestBlobDigestForms: HEAD and GET /v1/blobs/{digest} read the digest
// alike, bare or after "sha256:" (as nai prints it), and refuse anything
// else as invalid, both.
func TestBlobDigestForms(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	d := upload(t, c, "hello")
	for _, form := range []string{d, "sha256:" + d} {
		t.Run(form[:7], func(t *testing.T) {
			if ok, err := c.HasBlob(ctx, form); err != nil || !ok {
				t.Errorf("HEAD %s: %v %v, want held", form, ok, err)
			}
			rc, err := c.Blob(ctx, form)
			if err != nil {
				t.Fatalf("GET %s: %v", form, err)
			}
			defer rc.Close()
			if b, err := io.ReadAll(rc); err != nil || string(b) != "hello" {
				t.Errorf("GET %s: %q %v", form, b, err)
			}
		})
	}
	absent := "sha256:" + strings.Repeat("0", 64)
	if ok, err := c.HasBlob(ctx, absent); err != nil || ok {
		t.Errorf("HEAD of an absent blob: %v %v, want not held", ok, err)
	}
	for _, bad := range []string{"sha256:" + strings.ToUpper(d), "md5:" + d, "sha256:" + d[:63], "sha256:sha256:" + d, "sha256:"} {
		if _, err := c.HasBlob(ctx, bad); !errors.Is(err, structs.ErrInvalid) {
			t.Errorf("HEAD %s: %v, want invalid", bad, err)
		}
		if _, err := c.Blob(ctx, bad); !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), "64 lower-case hex digits") {
			t.Errorf("GET %s: %v, want invalid naming the expected form", bad, err)
		}
	}
}
