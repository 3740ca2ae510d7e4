package fsm

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

// sweepEntry is the raft entry of a sweep of n members, big enough to be
// decoded ahead.
func sweepEntry(t *testing.T, n int) []byte {
	t.Helper()
	jobs := make([]*structs.Job, n)
	for i := range jobs {
		j := builders.Job("sweep").GPUs(1).Build()
		j.Task.Args = []string{strconv.Itoa(i)}
		j.SetSweepMember(i, n, 0, map[string]string{"i": strconv.Itoa(i)})
		jobs[i] = j
	}
	spec, err := structs.NewSweepSpec(jobs)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(JobRegister, &structs.JobRegisterRequest{Sweep: spec, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < PredecodeMin {
		t.Fatalf("a %d-byte entry is not decoded ahead", len(data))
	}
	return data
}

// The leader's Apply takes an entry decoded ahead (Predecode) instead of
// decoding it again, and the state it makes is the state of a server that
// decodes the same bytes itself. A small entry, an entry of another slice
// and an undecodable one go the usual way.
func TestPredecode(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestRaft(t, f)
	follower, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	apply := func(data []byte) any {
		t.Helper()
		release := f.Predecode(data)
		defer release()
		fut := r.Apply(data, 5*time.Second)
		if err := fut.Error(); err != nil {
			t.Fatalf("raft apply: %v", err)
		}
		// What a follower or a replay does: its own copy, decoded.
		follower.Apply(&raft.Log{Type: raft.LogCommand, Index: fut.Index(), Data: append([]byte(nil), data...)})
		return fut.Response()
	}

	resp := apply(sweepEntry(t, 1000))
	if reg, ok := resp.(*structs.JobRegisterResponse); !ok || reg.ArrayID == "" {
		t.Fatalf("register response %#v", resp)
	}
	if got := f.preHits.Load(); got != 1 {
		t.Fatalf("%d entries taken decoded ahead, want 1", got)
	}
	small, err := Encode(JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{builders.Job("a").GPUs(1).Build()}, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	apply(small)
	if got := f.preHits.Load(); got != 1 {
		t.Fatalf("a small entry was decoded ahead (%d hits)", got)
	}
	if diff := cmp.Diff(tables(t, follower.State()), tables(t, f.State()), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("the leader's state differs from a follower's (-follower +leader):\n%s", diff)
	}

	// Undecodable: an error, as for a server that decodes it itself.
	bad := sweepEntry(t, 1000)
	bad[len(bad)-2] = '!'
	if resp, want := apply(bad), follower.Apply(&raft.Log{Type: raft.LogCommand, Index: 99, Data: bad}); asErr(resp) == nil || asErr(want) == nil {
		t.Fatalf("undecodable entry answered %#v (a follower %#v)", resp, want)
	}
	n := 0
	f.pre.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d entries left decoded ahead after their writes", n)
	}
}

// An entry decoded ahead but never applied here (leadership lost) is
// forgotten by release.
func TestPredecodeRelease(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	release := f.Predecode(sweepEntry(t, 1000))
	release()
	n := 0
	f.pre.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d entries left after release", n)
	}
}
