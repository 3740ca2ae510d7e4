package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPackRoundTrip(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "pkg", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "train.py"), []byte("print('hi')\n"), 0o755))
	must(os.WriteFile(filepath.Join(src, "pkg", "sub", "data.txt"), []byte("1 2 3"), 0o644))
	must(os.Symlink("pkg/sub/data.txt", filepath.Join(src, "data")))

	var a, b bytes.Buffer
	if _, err := Pack(&a, src, 0); err != nil {
		t.Fatal(err)
	}
	// Touching a file changes nothing: the same folder packs to the same bytes.
	must(os.Chtimes(filepath.Join(src, "train.py"), packTime.AddDate(1, 0, 0), packTime.AddDate(1, 0, 0)))
	st, err := Pack(&b, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("packing the same folder twice gave different bytes")
	}
	if st.Files != 2 || st.Dirs != 2 || st.Symlinks != 1 {
		t.Errorf("stats = %+v", st)
	}

	dst := filepath.Join(t.TempDir(), "out")
	if _, err := ExtractNew(&a, dst, Limits{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"train.py": "print('hi')\n", "pkg/sub/data.txt": "1 2 3", "data": "1 2 3"} {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "train.py")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("train.py mode = %v, %v; want 0755", fi.Mode(), err)
	}
}

func TestPackLimit(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "big"), make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(&bytes.Buffer{}, src, 1024); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, err := Pack(&bytes.Buffer{}, filepath.Join(src, "big"), 0); err == nil {
		t.Fatal("packing a file succeeded, want an error")
	}
}
