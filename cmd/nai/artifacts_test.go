package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/internal/ignore"
	"github.com/nai-project/nai/structs"
)

func testArtifacts() (*structs.Artifact, *structs.Artifact) {
	d := &structs.Artifact{
		Kind: structs.KindDataset, Name: "digits", User: "alice", Group: "vision", Description: "hand-written digits",
		CreateTime: ago(48 * time.Hour), ModifyTime: ago(time.Hour), LastVersion: 3,
		Versions: []*structs.ArtifactVersion{
			{Version: 1, Digest: strings.Repeat("a", 64), Size: 1 << 20, Files: 1797, CreateTime: ago(48 * time.Hour), CreatedBy: "alice", UsedBy: []string{"4", "7"}},
			{Version: 3, Path: "/shared/digits", CreateTime: ago(time.Hour), CreatedBy: "bob"},
		},
	}
	m := &structs.Artifact{
		Kind: structs.KindModel, Name: "digits-cnn", User: "alice",
		CreateTime: ago(2 * time.Hour), ModifyTime: ago(30 * time.Minute), LastVersion: 2,
		Versions: []*structs.ArtifactVersion{
			{Version: 1, Digest: strings.Repeat("b", 64), Size: 3 << 20, CreateTime: ago(2 * time.Hour), CreatedBy: "alice"},
			{Version: 2, Digest: strings.Repeat("c", 64), Size: 3 << 20, CreateTime: ago(30 * time.Minute), CreatedBy: "alice",
				Metrics: map[string]float64{"loss": 0.12, "accuracy": 0.97},
				Lineage: &structs.Lineage{JobID: "7", Datasets: []structs.ArtifactRef{{Name: "digits", Version: "1"}}, ParentVersion: 1}},
		},
	}
	return d, m
}

func TestFormatArtifacts(t *testing.T) {
	d, m := testArtifacts()
	var list, dataset, model bytes.Buffer
	if err := formatArtifactList(&list, []*structs.Artifact{d, m}, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "artifact_list", list.Bytes())
	if err := formatArtifact(&dataset, d, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "dataset_show", dataset.Bytes())
	if err := formatArtifact(&model, m, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "model_show", model.Bytes())
}

func TestBiggestFilesHonoursIgnore(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"a.py": 10, "data/big.npy": 5000, "ckpt/w.pt": 3000, "venv/lib.so": 9000, "small.txt": 1} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".naiignore"), []byte("venv/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("ckpt/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ignore.LoadCode(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := biggestFiles(dir, m, 2)
	want := "data/big.npy (4.9KiB), a.py (10B)"
	if got != want {
		t.Errorf("biggestFiles = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	st, err := archive.PackWith(&buf, dir, archive.PackOptions{Ignore: m.Match})
	if err != nil || st.Files != 5 { // .naiignore and .gitignore travel, as .gitignore does in git
		t.Errorf("pack: %d files, %v; want venv and ckpt left out", st.Files, err)
	}
}

// A description is free text that any writer of the group sets and every
// reader sees: a newline and an escape sequence in it come out as \n and
// \x1b, inside the one cell, so it can neither draw a row that looks like
// another dataset nor recolour the reader's terminal.
func TestFormatArtifactsEscapeUserText(t *testing.T) {
	d, _ := testArtifacts()
	esc := &structs.Artifact{
		Kind: structs.KindDataset, Name: "esc", User: "mallory", Group: "vision",
		Description: "line1\nFAKE  99  99  1TiB  admin\x1b[31mRED\x1b[0m",
		CreateTime:  ago(time.Hour), ModifyTime: ago(time.Hour), LastVersion: 1,
		Versions: []*structs.ArtifactVersion{{Version: 1, Digest: strings.Repeat("d", 64), Size: 1 << 10, Files: 1, CreateTime: ago(time.Hour), CreatedBy: "mallory"}},
	}
	var list, show bytes.Buffer
	if err := formatArtifactList(&list, []*structs.Artifact{d, esc}, now); err != nil {
		t.Fatal(err)
	}
	if err := formatArtifact(&show, esc, now); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"list": list.String(), "show": show.String()} {
		if strings.ContainsAny(out, "\x1b\r") {
			t.Errorf("%s prints a raw escape or carriage return:\n%s", name, out)
		}
		if strings.Contains(out, "\nFAKE") {
			t.Errorf("%s starts a line with the description's second line:\n%s", name, out)
		}
	}
	if n := strings.Count(list.String(), "\n"); n != 3 {
		t.Errorf("list has %d lines, want a header and 2 rows:\n%s", n, list.String())
	}
	checkGolden(t, "artifact_list_escapes", list.Bytes())
}
