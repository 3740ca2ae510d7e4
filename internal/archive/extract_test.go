package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// entry is one tar record to build a test archive from.
type entry struct {
	name     string
	typ      byte
	body     string
	size     int64 // when set, a body of this many zero bytes instead
	link     string
	mode     int64
	mtime    *time.Time // nil: 2023-11-14
	noFinish bool       // leave the archive truncated after this entry's header
}

func build(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		size := int64(len(e.body))
		if e.size > 0 {
			size = e.size
		}
		if typ != tar.TypeReg {
			size = 0
		}
		mtime := time.Unix(1700000000, 0)
		if e.mtime != nil {
			mtime = *e.mtime
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, Size: size, ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %s: %v", e.name, err)
		}
		if e.noFinish {
			zw.Close()
			return buf.Bytes()
		}
		if typ == tar.TypeReg {
			if e.size > 0 {
				if _, err := tw.Write(make([]byte, e.size)); err != nil {
					t.Fatal(err)
				}
			} else if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractValid(t *testing.T) {
	dir := t.TempDir()
	data := build(t,
		entry{name: "weights/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "weights/model.json", body: `{"w": [1, 2]}`},
		entry{name: "deep/er/file.txt", body: "hello"}, // parents not listed
		entry{name: "run.sh", body: "#!/bin/sh\n", mode: 0o4755},
		entry{name: "latest", typ: tar.TypeSymlink, link: "weights/model.json"},
		entry{name: "deep/er/up", typ: tar.TypeSymlink, link: "../../weights"},
		entry{name: "./dup", body: "first"},
		entry{name: "dup", body: "second"},
	)
	st, err := Extract(bytes.NewReader(data), dir, Limits{})
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	want := map[string]string{
		"weights/model.json":    `{"w": [1, 2]}`,
		"deep/er/file.txt":      "hello",
		"latest":                `{"w": [1, 2]}`,
		"deep/er/up/model.json": `{"w": [1, 2]}`,
		"dup":                   "second",
	}
	for name, body := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != body {
			t.Errorf("%s = %q, %v; want %q", name, b, err, body)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSetuid != 0 || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh mode = %v, want 0755 without setuid", fi.Mode())
	}
	if st.Files != 5 || st.Symlinks != 2 || st.Bytes != int64(len(`{"w": [1, 2]}`)+5+10+5+6) {
		t.Errorf("stats = %+v", st)
	}
}

func TestExtractRefusesUnsafe(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		want    error
		msg     string
	}{
		{"absolute path", []entry{{name: "/etc/evil", body: "x"}}, ErrUnsafe, "absolute"},
		{"dot dot", []entry{{name: "../evil", body: "x"}}, ErrUnsafe, `".."`},
		{"dot dot inside", []entry{{name: "a/../../evil", body: "x"}}, ErrUnsafe, `".."`},
		{"dot dot dir", []entry{{name: "a/../..", typ: tar.TypeDir}}, ErrUnsafe, `".."`},
		{"write through symlink", []entry{
			{name: "l", typ: tar.TypeSymlink, link: "."},
			{name: "l/f", body: "x"},
		}, ErrUnsafe, "through symlink"},
		// Lexically "s/esc" -> "../x" is inside, but s is "." so it would
		// really land beside the root: refused because it goes through s.
		{"symlink under symlink", []entry{
			{name: "s", typ: tar.TypeSymlink, link: "."},
			{name: "s/esc", typ: tar.TypeSymlink, link: "../x"},
		}, ErrUnsafe, "through symlink"},
		{"char device", []entry{{name: "null", typ: tar.TypeChar}}, ErrUnsafe, "device"},
		{"block device", []entry{{name: "sda", typ: tar.TypeBlock}}, ErrUnsafe, "device"},
		{"fifo", []entry{{name: "p", typ: tar.TypeFifo}}, ErrUnsafe, "FIFO"},
		{"hard link", []entry{{name: "f", body: "x"}, {name: "h", typ: tar.TypeLink, link: "f"}}, ErrUnsafe, "hard link"},
		{"file over dir", []entry{{name: "d/", typ: tar.TypeDir}, {name: "d", body: "x"}}, ErrUnsafe, "replace a directory"},
		{"file as parent", []entry{{name: "f", body: "x"}, {name: "f/g", body: "y"}}, ErrUnsafe, "directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Extract(bytes.NewReader(build(t, tc.entries...)), dir, Limits{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			// Nothing may appear beside the target directory.
			got, _ := os.ReadDir(parent)
			if len(got) != 1 {
				t.Errorf("parent holds %d entries, want only out/", len(got))
			}
		})
	}
}

// Symlinks leaving the directory are not created; the rest of the archive is.
func TestExtractSkipsEscapingSymlinks(t *testing.T) {
	dir := t.TempDir()
	data := build(t,
		entry{name: "abs", typ: tar.TypeSymlink, link: "/etc"},
		entry{name: "a/up", typ: tar.TypeSymlink, link: "../../x"},
		entry{name: "parent", typ: tar.TypeSymlink, link: ".."},
		entry{name: "weights.bin", body: "w"},
	)
	st, err := Extract(bytes.NewReader(data), dir, Limits{})
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	want := []string{"abs -> /etc", "a/up -> ../../x", "parent -> .."}
	if st.SkippedCount != 3 || strings.Join(st.Skipped, "|") != strings.Join(want, "|") {
		t.Errorf("skipped = %d %q, want %q", st.SkippedCount, st.Skipped, want)
	}
	for _, name := range []string{"abs", "a/up", "parent"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists (%v), want it skipped", name, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "weights.bin")); err != nil || string(b) != "w" {
		t.Errorf("weights.bin = %q, %v", b, err)
	}
}

// A symlink whose target only stays inside because "s/.." is read
// lexically must not escape once s becomes a symlink to ".": the target is
// written cleaned.
func TestExtractSymlinkTargetIsCleaned(t *testing.T) {
	dir := t.TempDir()
	data := build(t,
		entry{name: "s/", typ: tar.TypeDir},
		entry{name: "a", typ: tar.TypeSymlink, link: "s/.."},
	)
	if _, err := Extract(bytes.NewReader(data), dir, Limits{}); err != nil {
		t.Fatalf("extract: %v", err)
	}
	got, err := os.Readlink(filepath.Join(dir, "a"))
	if err != nil || got != "." {
		t.Fatalf("readlink a = %q, %v; want \".\"", got, err)
	}
}

func TestExtractLimits(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		lim     Limits
	}{
		{"bytes", []entry{{name: "big", size: 1 << 20}}, Limits{MaxBytes: 1000}},
		{"bytes over several files", []entry{{name: "a", size: 600}, {name: "b", size: 600}}, Limits{MaxBytes: 1000}},
		{"entries", []entry{{name: "a"}, {name: "b"}, {name: "c"}}, Limits{MaxEntries: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Extract(bytes.NewReader(build(t, tc.entries...)), t.TempDir(), tc.lim)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestExtractBrokenStreams(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"not gzip", []byte("this is not an archive")},
		{"truncated", build(t, entry{name: "f", size: 4096, noFinish: true})},
		{"gzip of garbage", func() []byte {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(bytes.Repeat([]byte{0xff}, 1024))
			zw.Close()
			return b.Bytes()
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Extract(bytes.NewReader(tc.data), t.TempDir(), Limits{}); err == nil {
				t.Fatal("extract succeeded, want an error")
			}
		})
	}
}

func TestExtractNew(t *testing.T) {
	good := build(t, entry{name: "w.bin", body: "weights"})
	bad := build(t, entry{name: "ok", body: "x"}, entry{name: "../evil", body: "x"})

	t.Run("new directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "out")
		if _, err := ExtractNew(bytes.NewReader(good), dir, Limits{}); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "w.bin")); err != nil || string(b) != "weights" {
			t.Fatalf("w.bin = %q, %v", b, err)
		}
	})
	t.Run("empty existing directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := ExtractNew(bytes.NewReader(good), dir, Limits{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "w.bin")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("non-empty directory refused", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "keep"), []byte("mine"), 0o644)
		if _, err := ExtractNew(bytes.NewReader(good), dir, Limits{}); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("err = %v, want not empty", err)
		}
	})
	t.Run("failure leaves nothing", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		if _, err := ExtractNew(bytes.NewReader(bad), dir, Limits{}); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("err = %v, want ErrUnsafe", err)
		}
		if got, _ := os.ReadDir(parent); len(got) != 0 {
			t.Fatalf("parent holds %v after a failed extraction, want nothing", got)
		}
	})
}

// A file keeps the time the archive gives it; an archive without times
// (Pack writes time 0, so the same folder packs to the same bytes) leaves
// the time of unpacking, not 1970.
func TestExtractModTimes(t *testing.T) {
	at := func(sec int64) *time.Time { v := time.Unix(sec, 0); return &v }
	for _, tc := range []struct {
		name  string
		mtime *time.Time
		keep  bool // the file has mtime; else the time it was unpacked
	}{
		{"a real time", at(1700000000), true},
		{"a time before 1970", at(-86400), false},
		{"time 0, as Pack writes", at(0), false},
		{"no time", &time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			before := time.Now().Add(-time.Second)
			if _, err := Extract(bytes.NewReader(build(t, entry{name: "model.bin", body: "w", mtime: tc.mtime})), dir, Limits{}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dir, "model.bin"))
			if err != nil {
				t.Fatal(err)
			}
			switch got := fi.ModTime(); {
			case tc.keep && !got.Equal(*tc.mtime):
				t.Errorf("mtime %v, want the archive's %v", got, *tc.mtime)
			case !tc.keep && (got.Before(before) || got.After(time.Now().Add(time.Second))):
				t.Errorf("mtime %v, want the time of unpacking (about %v)", got, before)
			}
		})
	}
}

// What Pack wrote unpacks dated now, not 1970-01-01.
func TestPackExtractDatesFilesNow(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "out.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Pack(&buf, src, 0); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	before := time.Now().Add(-time.Second)
	if _, err := ExtractNew(&buf, filepath.Join(dst, "out"), Limits{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dst, "out", "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.ModTime().Before(before) {
		t.Errorf("unpacked file dated %v, want the time of unpacking", fi.ModTime())
	}
}

// TestExtractWithUmask: with WithUmask, what is unpacked gets the modes
// of the user's own new files (as tar gives them to a user other than
// root), not the archive's; without it, the archive's modes stand.
func TestExtractWithUmask(t *testing.T) {
	arch := build(t,
		entry{name: "out/", typ: tar.TypeDir, mode: 0o700},
		entry{name: "out/weights.bin", body: "w", mode: 0o600},
		entry{name: "out/run.sh", body: "#!/bin/sh", mode: 0o700},
		entry{name: "out/setuid", body: "x", mode: 0o4755},
		entry{name: "implicit/deep/log.txt", body: "l", mode: 0o600},
		entry{name: "link", typ: tar.TypeSymlink, link: "out/weights.bin"},
	)
	perms := func(t *testing.T, dir string) map[string]fs.FileMode {
		t.Helper()
		got := map[string]fs.FileMode{}
		for _, n := range []string{".", "out", "out/weights.bin", "out/run.sh", "out/setuid", "implicit", "implicit/deep", "implicit/deep/log.txt"} {
			fi, err := os.Lstat(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			got[n] = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		}
		if fi, err := os.Lstat(filepath.Join(dir, "link")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("link: %v, want a symlink", err)
		}
		return got
	}
	for _, tt := range []struct {
		umask                   fs.FileMode
		file, exec, dir, itself fs.FileMode
	}{
		{0o022, 0o644, 0o755, 0o755, 0o755},
		{0o002, 0o664, 0o775, 0o775, 0o775},
		{0o077, 0o600, 0o700, 0o700, 0o700},
		{0o277, 0o400, 0o500, 0o700, 0o700}, // directories stay writable by their owner
	} {
		t.Run(fmt.Sprintf("umask %03o", tt.umask), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outputs")
			if _, err := ExtractNew(bytes.NewReader(arch), dir, Limits{}, WithUmask(tt.umask)); err != nil {
				t.Fatal(err)
			}
			want := map[string]fs.FileMode{".": tt.itself, "out": tt.dir, "out/weights.bin": tt.file, "out/run.sh": tt.exec,
				"out/setuid": tt.exec, "implicit": tt.dir, "implicit/deep": tt.dir, "implicit/deep/log.txt": tt.file}
			if got := perms(t, dir); !maps.Equal(got, want) {
				t.Errorf("modes %v, want %v", got, want)
			}
		})
	}
	t.Run("archive modes without it", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Extract(bytes.NewReader(arch), dir, Limits{}); err != nil {
			t.Fatal(err)
		}
		got := perms(t, dir)
		for n, want := range map[string]fs.FileMode{"out": 0o700, "out/weights.bin": 0o600, "out/run.sh": 0o700, "out/setuid": 0o755, "implicit/deep/log.txt": 0o600} {
			if got[n] != want {
				t.Errorf("%s: %v, want %v", n, got[n], want)
			}
		}
	})
	t.Run("unsafe entries still refused", func(t *testing.T) {
		bad := build(t, entry{name: "ok", body: "x"}, entry{name: "../evil", body: "x"})
		parent := t.TempDir()
		if _, err := ExtractNew(bytes.NewReader(bad), filepath.Join(parent, "out"), Limits{}, WithUmask(0o022)); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("err = %v, want ErrUnsafe", err)
		}
		if got, _ := os.ReadDir(parent); len(got) != 0 {
			t.Fatalf("parent holds %v after a refused archive", got)
		}
	})
}
