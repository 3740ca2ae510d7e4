package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

func testMeta(size int) *structs.SnapshotMeta {
	return &structs.SnapshotMeta{ID: "2-17-1700000000000", Index: 17, Term: 2, ClusterID: "c0ffee", Server: "s1",
		Version: "test", Format: structs.SnapshotFormat, Size: int64(size), CreateTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func archive(t testing.TB, state string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, testMeta(len(state)), strings.NewReader(state)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const testState = `{"type":"header","version":2}
{"type":"row","table":"jobs","row":{"id":"1"}}
{"type":"end","rows":1}
`

func TestRoundTrip(t *testing.T) {
	var state bytes.Buffer
	meta, err := Read(bytes.NewReader(archive(t, testState)), &state)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testMeta(len(testState)), meta); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	if state.String() != testState {
		t.Errorf("state = %q, want %q", state.String(), testState)
	}
}

func TestWriteRefusesWrongSize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		state string
	}{
		{"short", 10, "12345"},
		{"long", 3, "12345"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Write(io.Discard, testMeta(tc.size), strings.NewReader(tc.state)); err == nil {
				t.Fatal("Write accepted a state of the wrong size")
			}
		})
	}
}

// Every prefix of an archive is refused: a truncated download never
// passes for a snapshot.
func TestTruncatedRefused(t *testing.T) {
	full := archive(t, testState)
	for n := 0; n < len(full); n++ {
		if _, err := Read(bytes.NewReader(full[:n]), io.Discard); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a prefix of %d of %d bytes: err = %v, want ErrInvalid", n, len(full), err)
		}
	}
}

// Every single flipped bit of the compressed file is caught (by gzip's
// framing or CRC, tar's, or the sha256 sums) unless it changes nothing.
func TestCorruptRefused(t *testing.T) {
	full := archive(t, testState)
	for i := range full {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(full)
			b[i] ^= bit
			var state bytes.Buffer
			meta, err := Read(bytes.NewReader(b), &state)
			if err == nil {
				// A flip in the gzip header (its text flag, mtime or OS
				// byte) or in deflate's unused padding bits changes no
				// content: still the same snapshot, which is fine.
				if state.String() == testState && cmp.Equal(meta, testMeta(len(testState))) {
					continue
				}
				t.Fatalf("byte %d ^ %#x: accepted", i, bit)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("byte %d ^ %#x: err = %v, want ErrInvalid", i, bit, err)
			}
		}
	}
}

// entry is one file of a hand-made archive.
type entry struct{ name, body string }

func handMade(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	gz.Close()
	return b.Bytes()
}

func TestBadArchives(t *testing.T) {
	meta := `{"index":1,"format":1,"size":5}`
	sum := func(s string) string { return sha256hex(s) }
	sums := sum(meta) + "  meta.json\n" + sum("hello") + "  state.bin\n"
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"not gzip", []byte("hello, world"), "not a gzip stream"},
		{"empty tar", handMade(t), "ends before meta.json"},
		{"state first", handMade(t, entry{"state.bin", "hello"}), `found "state.bin" where meta.json`},
		{"bad meta", handMade(t, entry{"meta.json", "{"}), "meta.json is not valid"},
		{"newer format", handMade(t, entry{"meta.json", `{"format":9}`}), "format 9"},
		{"size differs", handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello!"}), "meta says 5"},
		{"no sums", handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello"}), "ends before SHA256SUMS"},
		{"wrong state sum", handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello"},
			entry{"SHA256SUMS", sum(meta) + "  meta.json\n" + sum("jello") + "  state.bin\n"}), "the sha256 of state.bin"},
		{"wrong meta sum", handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello"},
			entry{"SHA256SUMS", sum("{}") + "  meta.json\n" + sum("hello") + "  state.bin\n"}), "the sha256 of meta.json"},
		{"missing sum", handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello"},
			entry{"SHA256SUMS", sum(meta) + "  meta.json\n"}), "no checksum of state.bin"},
		{"garbled sums", handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello"},
			entry{"SHA256SUMS", "abc meta.json\n"}), "expected \"SHA256  NAME\""},
		{"extra entry", handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello"},
			entry{"SHA256SUMS", sums}, entry{"evil", "x"}), "unexpected entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.archive), io.Discard)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tc.want)
			}
		})
	}
	// The hand-made archive itself is good: the cases above fail for
	// their own reason.
	if _, err := Read(bytes.NewReader(handMade(t, entry{"meta.json", meta}, entry{"state.bin", "hello"}, entry{"SHA256SUMS", sums})), io.Discard); err != nil {
		t.Fatalf("the good hand-made archive: %v", err)
	}
}

// A failing state writer is not the archive's fault.
func TestWriterErrorIsNotInvalid(t *testing.T) {
	_, err := Read(bytes.NewReader(archive(t, testState)), failingWriter{})
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func FuzzRead(f *testing.F) {
	f.Add(archive(f, testState))
	f.Add(archive(f, ""))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		var state bytes.Buffer
		meta, err := Read(bytes.NewReader(b), &state)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not marked invalid: %v", err)
			}
			return
		}
		if int64(state.Len()) != meta.Size {
			t.Fatalf("accepted: state of %d bytes, meta says %d", state.Len(), meta.Size)
		}
	})
}

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
