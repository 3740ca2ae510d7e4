package client

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nai-project/nai/internal/archive"
)

func TestArtifactEnv(t *testing.T) {
	alloc, job := envAlloc()
	env := taskEnv(taskEnvInput{
		Alloc: alloc, Job: job, Getenv: func(string) string { return "" },
		Datasets: []artifactDir{{Name: "digits", Dir: "/c/aa"}, {Name: "extra.v2-x", Dir: "/c/bb"}},
		Models:   []artifactDir{{Name: "base", Dir: "/c/cc"}},
	})
	for _, want := range []string{
		"NAI_DATASET_DIR=/c/aa",
		"NAI_DATASET_DIR_DIGITS=/c/aa",
		"NAI_DATASET_DIR_EXTRA_V2_X=/c/bb",
		"NAI_MODEL_DIR=/c/cc",
		"NAI_MODEL_DIR_BASE=/c/cc",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s:\n%v", want, env)
		}
	}
	// A job that reads none gets none.
	for _, kv := range taskEnv(taskEnvInput{Alloc: alloc, Job: job, Getenv: func(string) string { return "" }}) {
		if len(kv) > 15 && (kv[:15] == "NAI_DATASET_DIR" || kv[:13] == "NAI_MODEL_DIR") {
			t.Errorf("unexpected %s", kv)
		}
	}
}

func TestUnpackReadOnly(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"a.txt": "alpha", "sub/b.bin": "beta"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := archive.Pack(&buf, src, 0); err != nil {
		t.Fatal(err)
	}
	arc := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(arc, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "unpacked", "d1")
	t.Cleanup(func() { _ = makeWritable(filepath.Dir(dst)) })
	if err := unpackReadOnly(arc, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "sub", "b.bin"))
	if err != nil || string(got) != "beta" {
		t.Fatalf("read back %q, %v", got, err)
	}
	for _, p := range []string{dst, filepath.Join(dst, "sub"), filepath.Join(dst, "a.txt")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is %v, want no write bits", p, fi.Mode().Perm())
		}
	}
	// A second unpack of the same digest (another allocation) is harmless.
	if err := unpackReadOnly(arc, dst); err != nil {
		t.Errorf("second unpack: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 1 {
		t.Errorf("unpack dir holds %d entries, want only the unpacked version", len(ents))
	}
}

func TestUnpackReadOnlyRefusesBadArchive(t *testing.T) {
	arc := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(arc, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "d")
	if err := unpackReadOnly(arc, dst); err == nil {
		t.Fatal("a broken archive was unpacked")
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a failed unpack left %s: %v", dst, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 0 {
		t.Errorf("a failed unpack left %d entries", len(ents))
	}
}
