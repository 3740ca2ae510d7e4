package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// list unpacks an archive and returns the slash-separated names of the
// regular files in it.
func list(t *testing.T, b []byte) []string {
	t.Helper()
	dir := t.TempDir()
	if _, err := Extract(bytes.NewReader(b), dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(names)
	return names
}

func TestPackWith(t *testing.T) {
	src := t.TempDir()
	for _, name := range []string{"train.py", "lib/util.py", "lib/util.pyc", "venv/bin/python", "data.csv"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		src    string
		ignore func(string, bool) bool
		want   []string
	}{
		{"everything", src, nil, []string{"data.csv", "lib/util.py", "lib/util.pyc", "train.py", "venv/bin/python"}},
		{"ignored files and directories are left out", src, func(rel string, dir bool) bool {
			return strings.HasSuffix(rel, ".pyc") || (dir && rel == "venv")
		}, []string{"data.csv", "lib/util.py", "train.py"}},
		{"a single file", filepath.Join(src, "data.csv"), nil, []string{"data.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			st, err := PackWith(&buf, tt.src, PackOptions{Ignore: tt.ignore})
			if err != nil {
				t.Fatal(err)
			}
			if got := list(t, buf.Bytes()); !slices.Equal(got, tt.want) {
				t.Errorf("packed %v, want %v", got, tt.want)
			}
			if st.Files != len(tt.want) {
				t.Errorf("stats say %d files, want %d", st.Files, len(tt.want))
			}
		})
	}
	// The same folder packs to the same bytes (content addressing).
	var a, b bytes.Buffer
	PackWith(&a, src, PackOptions{})
	Pack(&b, src, 0)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("PackWith and Pack differ for the same folder")
	}
}

func TestPackProgress(t *testing.T) {
	src := t.TempDir()
	files := map[string]int{"a.txt": 10, "big/b.bin": 100 << 10, "big/c.bin": 3}
	for name, n := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	var buf bytes.Buffer
	st, err := PackWith(&buf, src, PackOptions{Progress: func(name string, n int64) { got[name] += int(n) }})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for name, n := range files {
		if got[name] != n {
			t.Errorf("progress for %s = %d bytes, want %d", name, got[name], n)
		}
		total += n
	}
	if st.Bytes != int64(total) {
		t.Errorf("stats say %d bytes, want %d", st.Bytes, total)
	}
}
