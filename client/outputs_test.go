package client

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

// untar lists an archive: name -> content ("->target" for links, "/" for dirs).
func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			out[h.Name] = "/"
		case tar.TypeSymlink:
			out[h.Name] = "->" + h.Linkname
		default:
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}

func TestPackOutputs(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "ckpt", "epoch1"), 0o755))
	must(os.WriteFile(filepath.Join(src, "model.bin"), []byte("weights"), 0o644))
	must(os.WriteFile(filepath.Join(src, "ckpt", "epoch1", "w.npy"), []byte("w1"), 0o644))
	must(os.Symlink("model.bin", filepath.Join(src, "latest")))
	must(syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644)) // skipped: not a file

	dst := filepath.Join(t.TempDir(), "out.tar.gz")
	st, err := packOutputs(src, dst)
	must(err)
	f, err := os.Open(dst)
	must(err)
	defer f.Close()
	got := untar(t, f)
	want := map[string]string{
		"ckpt/":             "/",
		"ckpt/epoch1/":      "/",
		"ckpt/epoch1/w.npy": "w1",
		"latest":            "->model.bin",
		"model.bin":         "weights",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archive (-want +got):\n%s", diff)
	}
	if st.Files != 2 || st.Dirs != 2 || st.Symlinks != 1 {
		t.Errorf("stats %+v, want 2 files, 2 dirs, 1 symlink", st)
	}

	// The same files pack to the same bytes, whatever their times.
	first, err := os.ReadFile(dst)
	must(err)
	later := time.Now().Add(time.Hour)
	must(os.Chtimes(filepath.Join(src, "model.bin"), later, later))
	if _, err := packOutputs(src, dst); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(dst)
	must(err)
	if !bytes.Equal(first, second) {
		t.Error("packing the same outputs twice gave different archives")
	}
}
