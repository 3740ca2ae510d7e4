//go:build !nai_cli

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestFormatBlobs(t *testing.T) {
	d := func(c string) string { return strings.Repeat(c, 64) }
	blobs := []*structs.Blob{
		{Digest: d("a"), Size: 3 << 20, Holders: []string{"s1"}, Wanted: 3, CreateTime: ago(90e9),
			References: []structs.BlobRef{{Kind: structs.BlobRefDataset, ID: "digits:1"}}},
		{Digest: d("b"), Size: 512, Holders: []string{"s1", "s2", "s3"}, Wanted: 3, CreateTime: ago(3600e9),
			References: []structs.BlobRef{
				{Kind: structs.BlobRefJobCode, ID: "1"}, {Kind: structs.BlobRefJobCode, ID: "2"},
				{Kind: structs.BlobRefJobCode, ID: "3"}, {Kind: structs.BlobRefJobCode, ID: "4"}}},
		{Digest: d("c"), Size: 10, Holders: []string{"s1", "s2", "s3"}, Wanted: 3, CreateTime: ago(7200e9)},
		{Digest: d("e"), Size: 10, Holders: []string{"s2"}, Deleted: true, CreateTime: ago(7200e9)},
	}
	var buf bytes.Buffer
	if err := formatBlobs(&buf, blobs, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "operator_blobs", buf.Bytes())

	buf.Reset()
	if err := formatBlobs(&buf, nil, now); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "No blobs.\n" {
		t.Errorf("no blobs: got %q", buf.String())
	}
}

func TestAgentConfigBlobSettings(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.hcl")
	if err := os.WriteFile(good, []byte("server {\n  enabled = true\n  blob_replicas = 2\n  blob_retention = \"1h\"\n  upload_pending_limit = \"10GiB\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadAgentConfig([]string{good})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.BlobReplicas != 2 || cfg.Server.BlobRetention != time.Hour || cfg.Server.UploadPendingLimit != 10<<30 {
		t.Errorf("blob settings %d, %s, %d; want 2, 1h and 10GiB", cfg.Server.BlobReplicas, cfg.Server.BlobRetention, cfg.Server.UploadPendingLimit)
	}
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("server {\n  blob_retention = \"forever\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadAgentConfig([]string{bad}); err == nil || !strings.Contains(err.Error(), `bad.hcl:2:20: blob_retention "forever" is not a positive duration`) {
		t.Errorf("bad retention: %v", err)
	}
}
