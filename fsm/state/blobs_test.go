package state

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func (f *fixture) holds(digest, server string) {
	f.t.Helper()
	if err := f.s.RegisterBlob(f.next(), &structs.BlobRegisterRequest{Digest: digest, Size: 10, Server: server, Now: t0}); err != nil {
		f.t.Fatalf("register blob: %v", err)
	}
}

func (f *fixture) drops(digest, server string) {
	f.t.Helper()
	if err := f.s.DropBlob(f.next(), &structs.BlobDropRequest{Digest: digest, Server: server}); err != nil {
		f.t.Fatalf("drop blob: %v", err)
	}
}

func (f *fixture) blob(digest string) *structs.Blob {
	f.t.Helper()
	b, err := f.s.Snapshot().BlobByDigest(nil, digest)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) sweep(at time.Time, retention time.Duration, servers ...string) *structs.BlobSweepResponse {
	f.t.Helper()
	resp, err := f.s.SweepBlobs(f.next(), &structs.BlobSweepRequest{Now: at, Retention: retention, Servers: servers})
	if err != nil {
		f.t.Fatalf("sweep: %v", err)
	}
	return resp
}

func TestBlobHolders(t *testing.T) {
	f := newFixture(t)
	d := digestOf('a')
	f.holds(d, "s2")
	f.holds(d, "s1")
	f.holds(d, "s1") // again: no change
	b := f.blob(d)
	if diff := cmp.Diff([]string{"s1", "s2"}, b.Holders); diff != "" {
		t.Errorf("holders (-want +got):\n%s", diff)
	}
	if b.Size != 10 || !b.CreateTime.Equal(t0) || b.CreateIndex != 1 {
		t.Errorf("row %+v: want size 10, created at t0 by index 1", b)
	}
	f.drops(d, "s2")
	f.drops(d, "s9") // never held: no change
	if got := f.blob(d).Holders; !cmp.Equal(got, []string{"s1"}) {
		t.Errorf("holders after drop: %v", got)
	}
	// A live blob nobody holds keeps its row (it is under-replicated).
	f.drops(d, "s1")
	if b := f.blob(d); b == nil || len(b.Holders) != 0 {
		t.Errorf("live blob with no holder: %+v", b)
	}

	bad := []struct {
		name string
		req  *structs.BlobRegisterRequest
	}{
		{"bad digest", &structs.BlobRegisterRequest{Digest: "abc", Size: 1, Server: "s1"}},
		{"no server", &structs.BlobRegisterRequest{Digest: digestOf('b'), Size: 1}},
		{"negative size", &structs.BlobRegisterRequest{Digest: digestOf('b'), Size: -1, Server: "s1"}},
		{"size differs", &structs.BlobRegisterRequest{Digest: d, Size: 11, Server: "s2"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := f.s.Snapshot().TableIndex(TableBlobs)
			if err := f.s.RegisterBlob(f.next(), tc.req); structs.CodeOf(err) == structs.CodeInternal {
				t.Fatalf("want a coded refusal, got %v", err)
			}
			if f.s.Snapshot().TableIndex(TableBlobs) != before {
				t.Error("a refused request changed the table")
			}
		})
	}
}

func TestBlobReferences(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 2))
	j := newJob("train").GPUs(1).Build()
	j.Code = digestOf('c')
	id, allocID := f.start(j, "n1", 0)
	code := 0
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: &code,
		OutputDigest: digestOf('0'), MetricsDigest: digestOf('1')}); err != nil {
		t.Fatal(err)
	}
	f.push(structs.KindDataset, "digits", digestOf('d'))
	refs, err := f.s.Snapshot().BlobReferences()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]structs.BlobRef{
		digestOf('c'): {{Kind: structs.BlobRefJobCode, ID: id}},
		digestOf('0'): {{Kind: structs.BlobRefJobOutput, ID: id}},
		digestOf('1'): {{Kind: structs.BlobRefJobMetrics, ID: id}},
		digestOf('d'): {{Kind: structs.BlobRefDataset, ID: "digits:1"}},
	}
	if diff := cmp.Diff(want, refs); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
}

// Garbage collection: an unreferenced blob is marked, tombstoned after the
// retention, and its row goes when its last holder drops it; a referenced
// one is never touched, and an upload revives a tombstone.
func TestBlobSweep(t *testing.T) {
	f := newFixture(t)
	used, orphan, revived := digestOf('a'), digestOf('b'), digestOf('c')
	for _, d := range []string{used, orphan, revived} {
		f.holds(d, "s1")
		f.holds(d, "s2")
	}
	f.push(structs.KindDataset, "d", used)
	const keep = time.Hour

	r := f.sweep(t0, keep)
	if r.Marked != 2 || len(r.Tombstoned) != 0 {
		t.Fatalf("first sweep %+v: want 2 marked, none deleted", r)
	}
	if n, _ := f.s.Snapshot().BlobSweepChanges(&structs.BlobSweepRequest{Now: t0.Add(time.Minute), Retention: keep}); n != 0 {
		t.Errorf("a sweep within the retention would change %d rows, want 0", n)
	}
	r = f.sweep(t0.Add(keep), keep)
	if diff := cmp.Diff([]string{orphan, revived}, r.Tombstoned); diff != "" {
		t.Fatalf("tombstoned after the retention (-want +got):\n%s", diff)
	}
	if b := f.blob(used); b.Deleted || !b.UnreferencedSince.IsZero() {
		t.Errorf("referenced blob touched: %+v", b)
	}
	if b := f.blob(orphan); !b.Deleted || !b.DeleteTime.Equal(t0.Add(keep)) {
		t.Errorf("orphan not tombstoned: %+v", b)
	}

	// Holders remove their copies; the last drop removes the row.
	f.drops(orphan, "s1")
	if f.blob(orphan) == nil {
		t.Fatal("tombstone removed while s2 still holds a copy")
	}
	f.drops(orphan, "s2")
	if b := f.blob(orphan); b != nil {
		t.Errorf("tombstone with no holder left: %+v", b)
	}

	// The same content uploaded again revives the row with its uploader.
	f.holds(revived, "s3")
	if b := f.blob(revived); b.Deleted || !cmp.Equal(b.Holders, []string{"s3"}) || !b.UnreferencedSince.IsZero() {
		t.Errorf("revived blob: %+v", b)
	}

	// Servers that left raft are forgotten as holders.
	f.sweep(t0.Add(2*keep), keep, "s3")
	if b := f.blob(used); len(b.Holders) != 0 {
		t.Errorf("holders that left raft kept: %v", b.Holders)
	}
	// The revived blob, still unreferenced, goes again after the
	// retention; its last holder's drop removes the row.
	r = f.sweep(t0.Add(4*keep), keep, "s3")
	if !cmp.Equal(r.Tombstoned, []string{revived}) {
		t.Errorf("second round tombstoned %v, want the revived blob", r.Tombstoned)
	}
	f.drops(revived, "s3")
	if b := f.blob(revived); b != nil {
		t.Errorf("tombstone after its last drop: %+v", b)
	}

	if _, err := f.s.SweepBlobs(f.next(), &structs.BlobSweepRequest{Retention: keep}); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("sweep without a time: %v, want invalid", err)
	}
}

func TestBlobsPersistRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.holds(digestOf('a'), "s1")
	f.holds(digestOf('a'), "s2")
	f.holds(digestOf('b'), "s1")
	f.sweep(t0, time.Hour)
	var buf bytes.Buffer
	if err := f.s.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.s.Snapshot().Blobs(nil)
	got, err := restored.Snapshot().Blobs(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 2 {
		t.Fatalf("fixture has %d blobs, want 2", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blobs after restore (-orig +restored):\n%s", diff)
	}
	if f.s.Snapshot().TableIndex(TableBlobs) != restored.Snapshot().TableIndex(TableBlobs) {
		t.Error("blobs table index differs after restore")
	}
}
