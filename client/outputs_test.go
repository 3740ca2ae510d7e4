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
	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
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
	st, err := packOutputs(src, dst, nil, nil)
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
	if _, err := packOutputs(src, dst, nil, nil); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(dst)
	must(err)
	if !bytes.Equal(first, second) {
		t.Error("packing the same outputs twice gave different archives")
	}
}

// output { keep } packs only the files its globs match, and the folders
// above them; a folder with nothing kept is left out.
func TestPackOutputsKeep(t *testing.T) {
	src := t.TempDir()
	for name, body := range map[string]string{
		"weights.json":       "{}",
		"serve.py":           "print()",
		"model.pt":           "pt",
		"ckpt/epoch1/w.pt":   "w1",
		"ckpt/epoch1/opt.st": "opt",
		"logs/train.log":     "log",
	} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("model.pt", filepath.Join(src, "latest.pt")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		keep        []string
		want        map[string]string
		files, kept int
	}{
		{name: "no keep", keep: nil},
		{"base names at any depth", []string{"*.pt"}, map[string]string{
			"ckpt/": "/", "ckpt/epoch1/": "/", "ckpt/epoch1/w.pt": "w1", "latest.pt": "->model.pt", "model.pt": "pt",
		}, 7, 3},
		{"anchored glob", []string{"ckpt/*/*.st", "serve.py"}, map[string]string{
			"ckpt/": "/", "ckpt/epoch1/": "/", "ckpt/epoch1/opt.st": "opt", "serve.py": "print()",
		}, 7, 2},
		{"a folder by name", []string{"epoch1"}, map[string]string{
			"ckpt/": "/", "ckpt/epoch1/": "/", "ckpt/epoch1/opt.st": "opt", "ckpt/epoch1/w.pt": "w1",
		}, 7, 2},
		{"nothing matches", []string{"*.safetensors"}, nil, 7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep, err := keptOutputs(src, &structs.OutputSpec{Keep: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			if tc.keep == nil {
				if keep != nil {
					t.Fatalf("no keep globs gave a filter: %+v", keep)
				}
				return
			}
			if keep.files != tc.files || keep.kept != tc.kept {
				t.Errorf("kept %d of %d files, want %d of %d", keep.kept, keep.files, tc.kept, tc.files)
			}
			if tc.kept == 0 {
				return // uploadOutputs packs nothing then
			}
			dst := filepath.Join(t.TempDir(), "out.tar.gz")
			st, err := packOutputs(src, dst, keep, nil)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(dst)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if diff := cmp.Diff(tc.want, untar(t, f)); diff != "" {
				t.Errorf("archive (-want +got):\n%s", diff)
			}
			if st.Files+st.Symlinks != tc.kept {
				t.Errorf("stats %+v, want %d files and links", st, tc.kept)
			}
		})
	}
}

// A root agent packs only the files its task's user owns (alloc.json's
// executor spec names the user): a hard link to a root-only file in the
// output dir is left out, and the archive is 0600 (red team C3, H2).
func TestPackOutputsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files of another owner")
	}
	const uid = 65534
	d := allocDir(t.TempDir())
	out := d.outputDir()
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "node-secret")
	for _, err := range []error{
		os.WriteFile(secret, []byte("SECRET"), 0o600),
		os.Link(secret, filepath.Join(out, "linked")),
		os.WriteFile(filepath.Join(out, "weights"), []byte("w"), 0o600),
		os.Chown(filepath.Join(out, "weights"), uid, uid),
		os.Chown(out, uid, uid),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d.outputOwner() != nil {
		t.Fatal("an owner without alloc.json")
	}
	a := &structs.Allocation{ID: "1.1"}
	if err := writeAllocFile(d, a, &executor.Spec{User: &executor.User{Name: "nobody", UID: uid, GID: uid}}); err != nil {
		t.Fatal(err)
	}
	owner := d.outputOwner()
	if owner == nil || *owner != uid {
		t.Fatalf("owner %v, want %d", owner, uid)
	}
	dst := d.path(archiveName)
	st, err := packOutputs(out, dst, nil, owner)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := untar(t, f)
	if diff := cmp.Diff(map[string]string{"weights": "w"}, got); diff != "" || st.SkippedCount != 1 {
		t.Errorf("packed (-want +got):\n%s\nskipped %v", diff, st.Skipped)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
