package cgroupfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readSmall and writeSmall behave as os.ReadFile and os.WriteFile(path,
// data, 0) on an existing file do, errors included.
func TestRawFiles(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("1234567\n", 1000) // past the first buffer
	for _, tc := range []struct {
		name    string
		content *string // nil: no file
		write   string
		want    string
		missing bool
	}{
		{name: "empty", content: ptr(""), want: ""},
		{name: "small", content: ptr("42\n"), want: "42\n"},
		{name: "past the buffer", content: &big, want: big},
		{name: "written", content: ptr("old"), write: "0", want: "0ld"},
		{name: "missing", missing: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if tc.content != nil {
				if err := os.WriteFile(p, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.write != "" || tc.missing {
				err := writeSmall(p, []byte(tc.write))
				if tc.missing {
					var pe *fs.PathError
					if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != p {
						t.Errorf("writeSmall on a missing file: %v; want a PathError naming it, ErrNotExist", err)
					}
				} else if err != nil {
					t.Fatalf("writeSmall: %v", err)
				}
			}
			b, err := readSmall(p)
			if tc.missing {
				if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p) {
					t.Errorf("readSmall on a missing file: %v; want ErrNotExist naming it", err)
				}
				return
			}
			if err != nil || string(b) != tc.want {
				t.Errorf("readSmall = %q (%d bytes), %v; want %d bytes", b[:min(len(b), 20)], len(b), err, len(tc.want))
			}
		})
	}
}

func ptr(s string) *string { return &s }
