package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// entries reads a packed archive: each entry's name, and the content of
// each regular file.
func entries(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
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
		c, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeSymlink {
			c = []byte("-> " + h.Linkname)
		}
		out[h.Name] = string(c)
	}
}

const secret = "NODE-SECRET-0123456789"

// secretDir is a folder outside the packed one holding a file only its
// owner should read, as DataDir/client with its node secret.
func secretDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "node-secret"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPackRaceSymlinkSwap is the red team's C3: while a root agent packs
// a job's outputs, another process of the job's user swaps a directory of
// the output dir for a symlink to a root-only folder. The packer must
// never follow it, whatever the timing.
func TestPackRaceSymlinkSwap(t *testing.T) {
	sec := secretDir(t)
	out := t.TempDir()
	// A first file big enough that the walk takes a while, as the red
	// team's 150 MB one, here 256 KiB so the test stays quick.
	if err := os.WriteFile(filepath.Join(out, "aaa"), bytes.Repeat([]byte("a"), 256<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(out, "zzz"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "zzz", "node-secret"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		zzz, zzy := filepath.Join(out, "zzz"), filepath.Join(out, "zzy")
		for !stop.Load() {
			_ = os.Rename(zzz, zzy)
			_ = os.Symlink(sec, zzz)
			_ = os.Remove(zzz)
			_ = os.Rename(zzy, zzz)
		}
	}()
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	iterations := 300
	if testing.Short() {
		iterations = 50
	}
	packed := 0
	for i := 0; i < iterations; i++ {
		var buf bytes.Buffer
		for _, keep := range []func(string, bool) bool{nil, func(rel string, _ bool) bool {
			return !(rel == "aaa" || rel == "zzz" || rel == "zzz/node-secret")
		}} {
			buf.Reset()
			if _, err := PackWith(&buf, out, PackOptions{NoFollow: true, Ignore: keep}); err != nil {
				continue // a pack may fail while the dir changes; it must not leak
			}
			packed++
			if bytes.Contains(buf.Bytes(), []byte(secret)) {
				t.Fatalf("iteration %d: archive holds the secret", i)
			}
			for name, c := range entries(t, buf.Bytes()) {
				if strings.Contains(c, secret) {
					t.Fatalf("iteration %d: %s holds the secret", i, name)
				}
			}
		}
	}
	if packed == 0 {
		t.Fatal("no pack succeeded")
	}
}

// TestPackNeverFollows: a symlink to a file or folder outside is packed as
// that link, never its content, and a src that is itself a symlink is
// refused with NoFollow.
func TestPackNeverFollows(t *testing.T) {
	sec := secretDir(t)
	out := t.TempDir()
	must(t, os.Symlink(filepath.Join(sec, "node-secret"), filepath.Join(out, "file-link")))
	must(t, os.Symlink(sec, filepath.Join(out, "dir-link")))
	var buf bytes.Buffer
	st, err := PackWith(&buf, out, PackOptions{NoFollow: true})
	if err != nil {
		t.Fatal(err)
	}
	got := entries(t, buf.Bytes())
	want := map[string]string{"dir-link": "-> " + sec, "file-link": "-> " + filepath.Join(sec, "node-secret")}
	if len(got) != len(want) || got["dir-link"] != want["dir-link"] || got["file-link"] != want["file-link"] || st.Symlinks != 2 {
		t.Fatalf("packed %v (%+v), want %v", got, st, want)
	}
	link := filepath.Join(t.TempDir(), "out")
	must(t, os.Symlink(sec, link))
	if _, err := PackWith(io.Discard, link, PackOptions{NoFollow: true}); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("packing a symlinked src with NoFollow: %v, want a refusal", err)
	}
	// Without NoFollow a symlinked src is followed, as the CLI's
	// `code = "./src"` may be.
	buf.Reset()
	if _, err := PackWith(&buf, link, PackOptions{}); err != nil || entries(t, buf.Bytes())["node-secret"] != secret {
		t.Fatalf("packing a symlinked src without NoFollow: %v", err)
	}
}

// TestPackOwner: with Owner set (a root agent packing the outputs of a job
// of another uid), a regular file of another owner, such as a hard link to
// a root-only file, is left out and listed; the job's own files are packed.
func TestPackOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files of another owner")
	}
	const uid = 65534
	sec := secretDir(t)
	out := t.TempDir()
	must(t, os.Chown(out, uid, uid))
	must(t, os.Link(filepath.Join(sec, "node-secret"), filepath.Join(out, "hard")))
	must(t, os.WriteFile(filepath.Join(out, "mine"), []byte("weights"), 0o644))
	must(t, os.Chown(filepath.Join(out, "mine"), uid, uid))
	var buf bytes.Buffer
	owner := uint32(uid)
	st, err := PackWith(&buf, out, PackOptions{NoFollow: true, Owner: &owner})
	if err != nil {
		t.Fatal(err)
	}
	got := entries(t, buf.Bytes())
	if _, ok := got["hard"]; ok || got["mine"] != "weights" || bytes.Contains(buf.Bytes(), []byte(secret)) {
		t.Fatalf("packed %v", got)
	}
	if st.SkippedCount != 1 || !slices.ContainsFunc(st.Skipped, func(s string) bool { return strings.HasPrefix(s, "hard (owned by uid 0") }) {
		t.Fatalf("skipped %v", st.Skipped)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
