package main

import (
	"bytes"
	"strings"
	"testing"

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
