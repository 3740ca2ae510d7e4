package blobstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s *Store, body string) string {
	t.Helper()
	info, err := s.Put(strings.NewReader(body), "")
	if err != nil {
		t.Fatal(err)
	}
	return info.Digest
}

func read(t *testing.T, s *Store, digest string) string {
	t.Helper()
	f, err := s.Open(digest)
	if err != nil {
		t.Fatalf("open %s: %v", digest[:8], err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// filesUnder lists the regular files below dir, relative to it.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPut(t *testing.T) {
	body := "weights of a model"
	cases := []struct {
		name    string
		expect  string
		code    structs.ErrorCode // "" for success
		message string
	}{
		{name: "digest computed", expect: ""},
		{name: "digest expected and matching", expect: sha(body)},
		{name: "digest expected, other content", expect: sha("something else"), code: structs.CodeInvalid, message: "not the expected"},
		{name: "expected digest malformed", expect: "abc", code: structs.CodeInvalid, message: "expected 64 hex digits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			info, err := s.Put(strings.NewReader(body), tc.expect)
			if tc.code != "" {
				if structs.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.message) {
					t.Fatalf("Put: %v; want %s error saying %q", err, tc.code, tc.message)
				}
				if left := filesUnder(t, s.dir); len(left) != 0 {
					t.Errorf("a refused Put left files: %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Digest != sha(body) || info.Size != int64(len(body)) {
				t.Errorf("Put = %+v, want %s, %d bytes", info, sha(body), len(body))
			}
			if got := read(t, s, info.Digest); got != body {
				t.Errorf("read back %q", got)
			}
			want := []string{filepath.Join(info.Digest[:2], info.Digest)}
			if got := filesUnder(t, s.dir); !slices.Equal(got, want) {
				t.Errorf("files in the store %v, want only %v (no temporary file left)", got, want)
			}
		})
	}
}

// A reader that fails half way stores nothing.
func TestPutOfBrokenStreamLeavesNothing(t *testing.T) {
	s := newStore(t)
	r := io.MultiReader(strings.NewReader("half of it"), iotestErrReader{})
	if _, err := s.Put(r, ""); err == nil || !strings.Contains(err.Error(), "receive") {
		t.Fatalf("Put of a broken stream: %v", err)
	}
	if left := filesUnder(t, s.dir); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestOpenStatRemoveList(t *testing.T) {
	s := newStore(t)
	a, b := put(t, s, "a dataset"), put(t, s, "a model")
	got, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{a, b}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	if fi, err := s.Stat(a); err != nil || fi.Size() != int64(len("a dataset")) {
		t.Errorf("Stat = %v, %v", fi, err)
	}
	if err := s.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(a); err != nil {
		t.Errorf("removing a missing blob: %v, want no error", err)
	}
	for name, err := range map[string]error{
		"Open":   second(s.Open(a)),
		"Stat":   second(s.Stat(a)),
		"Verify": s.Verify(a),
	} {
		if !errors.Is(err, structs.ErrNotFound) {
			t.Errorf("%s of a removed blob: %v, want not found", name, err)
		}
	}
	for name, err := range map[string]error{
		"Open":   second(s.Open("../../etc/passwd")),
		"Stat":   second(s.Stat("ABC")),
		"Remove": s.Remove(strings.Repeat("g", 64)),
	} {
		if !errors.Is(err, structs.ErrInvalid) {
			t.Errorf("%s of a malformed digest: %v, want invalid", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// A copy written over after it was stored is hashed again when opened;
// found corrupt, it is removed and reported as a not-found CorruptError.
func TestOpenFindsCorruption(t *testing.T) {
	s := newStore(t)
	d := put(t, s, strings.Repeat("digits ", 1000))
	f, err := os.OpenFile(s.Path(d), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("XXXX"), 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = s.Open(d)
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) || corrupt.Digest != d || structs.CodeOf(err) != structs.CodeNotFound {
		t.Fatalf("Open of a corrupt copy: %v; want a not-found CorruptError", err)
	}
	if _, err := os.Stat(s.Path(d)); !os.IsNotExist(err) {
		t.Errorf("the corrupt copy was kept: %v", err)
	}
}

// Rot that leaves size, times and inode alone is invisible to Open's
// cache of verified files; Verify hashes whatever the cache says.
func TestVerifyFindsSilentRot(t *testing.T) {
	s := newStore(t)
	d := put(t, s, "rotting bits")
	if err := os.WriteFile(s.Path(d), []byte("rotting bitz"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Rot changes no stamp: make the cache believe the file unchanged.
	fi, err := os.Stat(s.Path(d))
	if err != nil {
		t.Fatal(err)
	}
	s.verified.remember(d, stampOf(fi))
	if got := read(t, s, d); got != "rotting bitz" {
		t.Fatalf("Open hashed a file whose stamp it had verified (read %q)", got)
	}
	var corrupt *CorruptError
	if err := s.Verify(d); !errors.As(err, &corrupt) {
		t.Fatalf("Verify of a rotten copy: %v, want CorruptError", err)
	}
	if _, err := os.Stat(s.Path(d)); !os.IsNotExist(err) {
		t.Errorf("the rotten copy was kept: %v", err)
	}
	good := put(t, s, "healthy bits")
	if err := s.Verify(good); err != nil {
		t.Errorf("Verify of a good copy: %v", err)
	}
}

func TestUploadSession(t *testing.T) {
	s := newStore(t)
	content := bytes.Repeat([]byte("0123456789"), 1000)
	digest := sha(string(content))
	id, err := s.StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	off, err := s.AppendUpload(id, 0, bytes.NewReader(content[:4000]))
	if err != nil || off != 4000 {
		t.Fatalf("first chunk: %d, %v", off, err)
	}
	// A chunk that does not follow on is refused and changes nothing.
	if _, err := s.AppendUpload(id, 3000, bytes.NewReader(content[3000:])); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("overlapping chunk: %v, want conflict", err)
	}
	if off, err := s.UploadOffset(id); err != nil || off != 4000 {
		t.Errorf("offset after a refused chunk: %d, %v; want 4000", off, err)
	}
	// Committing too early names the mismatch and keeps the session.
	if _, err := s.CommitUpload(id, digest); !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), "incomplete or corrupt") {
		t.Errorf("early commit: %v", err)
	}
	if _, err := s.AppendUpload(id, 4000, bytes.NewReader(content[4000:])); err != nil {
		t.Fatal(err)
	}
	info, err := s.CommitUpload(id, digest)
	if err != nil || info.Digest != digest || info.Size != int64(len(content)) {
		t.Fatalf("commit: %+v, %v", info, err)
	}
	if got := read(t, s, digest); got != string(content) {
		t.Error("blob differs from what was uploaded")
	}
	if _, err := s.UploadOffset(id); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("session after commit: %v, want not found", err)
	}
	if got := filesUnder(t, s.dir); !slices.Equal(got, []string{filepath.Join(digest[:2], digest)}) {
		t.Errorf("files after commit: %v", got)
	}
}

func TestUploadSessionErrors(t *testing.T) {
	s := newStore(t)
	id, err := s.StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	// A second writer on the same session is refused while the first
	// holds it.
	f, _, err := s.openUpload(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(id, 0, strings.NewReader("x")); !errors.Is(err, structs.ErrConflict) || !strings.Contains(err.Error(), "busy") {
		t.Errorf("concurrent chunk: %v, want busy", err)
	}
	f.Close()
	if err := s.AbortUpload(id); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"offset of an aborted session": second(s.UploadOffset(id)),
		"chunk of an aborted session":  second(s.AppendUpload(id, 0, strings.NewReader("x"))),
		"abort of an aborted session":  s.AbortUpload(id),
	} {
		if !errors.Is(err, structs.ErrNotFound) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	for name, err := range map[string]error{
		"path as id":     second(s.UploadOffset("../../etc")),
		"short id":       second(s.AppendUpload("abc", 0, strings.NewReader("x"))),
		"bad commit id":  second(s.CommitUpload("zz", sha("x"))),
		"bad digest":     second(s.CommitUpload(id, "not-a-digest")),
		"abort of a bad": s.AbortUpload("../x"),
	} {
		if !errors.Is(err, structs.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestStaleUploadsAreDropped(t *testing.T) {
	s := newStore(t)
	old, err := s.StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.uploadPath(old)
	long := time.Now().Add(-UploadTTL - time.Hour)
	if err := os.Chtimes(p, long, long); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadOffset(old); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("stale session still there: %v", err)
	}
	if _, err := s.UploadOffset(fresh); err != nil {
		t.Errorf("fresh session: %v", err)
	}
}
