package fsm

import (
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The blob messages reach the store: a holding recorded, dropped, and a
// sweep that answers what it did.
func TestApplyBlobMessages(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := strings.Repeat("ab", 32)
	if r := f.Apply(entry(t, 1, BlobRegister, &structs.BlobRegisterRequest{Digest: d, Size: 3, Server: "s1", Now: t0})); r != nil {
		t.Fatalf("register: %v", r)
	}
	if r := f.Apply(entry(t, 2, BlobRegister, &structs.BlobRegisterRequest{Digest: d, Size: 3, Server: "s2", Now: t0})); r != nil {
		t.Fatalf("register: %v", r)
	}
	if r := f.Apply(entry(t, 3, BlobDrop, &structs.BlobDropRequest{Digest: d, Server: "s1"})); r != nil {
		t.Fatalf("drop: %v", r)
	}
	b, err := f.State().Snapshot().BlobByDigest(nil, d)
	if err != nil || b == nil || len(b.Holders) != 1 || b.Holders[0] != "s2" || b.ModifyIndex != 3 {
		t.Fatalf("blob after register, register, drop: %+v, %v", b, err)
	}
	r := f.Apply(entry(t, 4, BlobSweep, &structs.BlobSweepRequest{Now: t0, Retention: time.Hour}))
	if resp, ok := r.(*structs.BlobSweepResponse); !ok || resp.Marked != 1 {
		t.Errorf("sweep answered %#v, want one blob marked unreferenced", r)
	}
	if r, ok := f.Apply(entry(t, 5, BlobRegister, &structs.BlobRegisterRequest{Digest: "nope", Server: "s1"})).(error); !ok || structs.CodeOf(r) != structs.CodeInvalid {
		t.Errorf("bad register answered %v, want an invalid error", r)
	}
	for _, mt := range []MessageType{BlobRegister, BlobDrop, BlobSweep} {
		if strings.HasPrefix(mt.String(), "MessageType(") {
			t.Errorf("message %d has no name", uint8(mt))
		}
	}
}
