package state

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// rankBlobs is what rank r of a gang reports at its end: its own outputs,
// logs and metrics history (digests that say the rank), or none.
func rankBlobs(r string, none bool) structs.ClientStatusFields {
	cs := structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), ExitReason: structs.ExitExited}
	if none {
		return cs
	}
	d := func(kind string) string { return strings.Repeat(r, 32) + strings.Repeat(kind, 32) }
	cs.OutputDigest, cs.OutputSize, cs.OutputFiles = d("o"), int64(len(r)), 1
	cs.StdoutDigest, cs.StderrDigest, cs.MetricsDigest = d("1"), d("2"), d("m")
	cs.OutputServe = []string{"python3", "serve-" + r + ".py"}
	return cs
}

// startGang places a two-node job (output { model = "m" }) with ranks 0
// and 1 on n1 and n2.
func startGang(t *testing.T, f *fixture) (id string, ranks [2]string) {
	t.Helper()
	j := newJob("g").GPUs(1).Nodes(2).With(func(j *structs.Job) { j.Output = &structs.OutputSpec{Model: "m"} }).Build()
	id = f.register(j)[0]
	a, b := f.alloc(id, "n1", 0), f.alloc(id, "n2", 0)
	a.ID, b.ID = id+".1.0", id+".1.1"
	b.Rank = 1
	if got := f.plan(a, b); len(got) != 2 {
		t.Fatalf("gang not placed: %v", got)
	}
	return id, [2]string{a.ID, b.ID}
}

// A gang job's outputs, final logs and metrics history are its rank 0's
// from raft log format 8 on (RankZeroOutputs), whichever rank reports
// last; before, the last report's, as the servers of format 7 still
// compute them from the same entries. The other ranks' stay with their
// allocations either way.
func TestGangKeepsRankZeroOutputs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rankZero bool // the report's RankZeroOutputs: raft log format 8
		first    int  // the rank that reports first
		// noneFrom: the rank that wrote nothing (-1: both wrote).
		noneFrom int
		want     string // whose the job's are: "0", "1" or "" (none)
	}{
		{"format 8, rank 1 after rank 0", true, 0, -1, "0"},
		{"format 8, rank 0 after rank 1", true, 1, -1, "0"},
		{"format 8, rank 0 wrote nothing", true, 0, 0, ""},
		{"format 8, rank 0 wrote nothing, after rank 1", true, 1, 0, ""},
		{"format 8, rank 1 wrote nothing", true, 1, 1, "0"},
		{"format 7, rank 1 after rank 0: the last report's", false, 0, -1, "1"},
		{"format 7, rank 0 after rank 1: the last report's", false, 1, -1, "0"},
		{"format 7, rank 0 wrote nothing", false, 0, 0, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			f.node(testNode("n2", 4))
			id, allocs := startGang(t, f)
			names := [2]string{"0", "1"}
			for _, r := range []int{tc.first, 1 - tc.first} {
				err := f.s.UpdateAllocs(f.next(), &structs.AllocUpdateRequest{
					NodeID: []string{"n1", "n2"}[r], Now: t0.Add(time.Hour), RankZeroOutputs: tc.rankZero,
					Updates: []*structs.AllocUpdate{{AllocID: allocs[r], Client: rankBlobs(names[r], tc.noneFrom == r)}},
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			j := f.job(id)
			if j.Status != structs.JobComplete {
				t.Fatalf("job %s, want complete", j.Status)
			}
			want := structs.ClientStatusFields{}
			if tc.want != "" {
				want = rankBlobs(tc.want, false)
			}
			got := structs.ClientStatusFields{
				OutputDigest: j.OutputDigest, OutputSize: j.OutputSize, OutputFiles: j.OutputFiles,
				StdoutDigest: j.StdoutDigest, StderrDigest: j.StderrDigest, MetricsDigest: j.MetricsDigest, OutputServe: j.OutputServe,
			}
			want.Status, want.ExitCode, want.ExitReason = "", nil, ""
			if got.OutputDigest != want.OutputDigest || got.OutputSize != want.OutputSize || got.OutputFiles != want.OutputFiles ||
				got.StdoutDigest != want.StdoutDigest || got.StderrDigest != want.StderrDigest || got.MetricsDigest != want.MetricsDigest ||
				!slices.Equal(got.OutputServe, want.OutputServe) {
				t.Errorf("the job's blobs = %+v, want rank %q's: %+v", got, tc.want, want)
			}
			// The model version is made of the job's outputs: rank 0's.
			m, err := f.s.Snapshot().ArtifactByName(nil, structs.KindModel, "m")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case want.OutputDigest == "" && m != nil:
				t.Errorf("model m registered from %s with no outputs kept", m.Latest().Digest)
			case want.OutputDigest != "" && (m == nil || m.Latest().Digest != want.OutputDigest):
				t.Errorf("model m = %+v, want a version of %s", m, want.OutputDigest)
			}
			// Each rank's own stay with its allocation.
			for r, a := range allocs {
				cs := f.allocByID(a).ClientStatus
				if wrote := rankBlobs(names[r], tc.noneFrom == r); cs.OutputDigest != wrote.OutputDigest || cs.StdoutDigest != wrote.StdoutDigest {
					t.Errorf("rank %d's allocation: outputs %q, stdout %q; want what it reported", r, cs.OutputDigest, cs.StdoutDigest)
				}
			}
		})
	}
}

// The blobs a gang's other ranks reported are referenced while the job is
// kept, so the blob sweep never takes them from under the per-rank routes,
// and are let go with the job.
func TestGangRankBlobsReferencedWithTheJob(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	f.node(testNode("n2", 4))
	id, allocs := startGang(t, f)
	for r, a := range allocs {
		err := f.s.UpdateAllocs(f.next(), &structs.AllocUpdateRequest{
			NodeID: []string{"n1", "n2"}[r], Now: t0.Add(time.Hour), RankZeroOutputs: true,
			Updates: []*structs.AllocUpdate{{AllocID: a, Client: rankBlobs([]string{"0", "1"}[r], false)}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	one := rankBlobs("1", false)
	refs, err := f.s.Snapshot().BlobReferences()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{one.OutputDigest, one.StdoutDigest, one.StderrDigest, one.MetricsDigest} {
		if !slices.ContainsFunc(refs[d], func(r structs.BlobRef) bool { return r.ID == id }) {
			t.Errorf("rank 1's blob %s…: references %v, want job %s's", d[:8], refs[d], id)
		}
	}
	// The job's end is long past: the job GC takes it with its allocations.
	resp, err := f.s.GCJobs(f.next(), &structs.JobGCRequest{Before: t0.Add(48 * time.Hour), Max: 10, Now: t0.Add(48 * time.Hour)})
	if err != nil || resp.Jobs != 1 {
		t.Fatalf("job gc: %+v, %v", resp, err)
	}
	refs, err = f.s.Snapshot().BlobReferences()
	if err != nil {
		t.Fatal(err)
	}
	if r := refs[one.OutputDigest]; len(r) > 0 {
		t.Errorf("rank 1's outputs still referenced after the job's GC: %v", r)
	}
}

// A rank that fails ends a gang's attempt and stops the others: rank 0's
// report comes after, and from raft log format 8 the job (failed, or back
// in the queue) still takes rank 0's blobs, its checkpoint; before, it
// kept the failed rank's. A report of an attempt the job has left behind
// changes nothing.
func TestGangRankZeroEndsLate(t *testing.T) {
	failed := func(r string) structs.ClientStatusFields {
		cs := rankBlobs(r, false)
		cs.Status, cs.ExitCode = structs.AllocFailed, exit(1)
		return cs
	}
	for _, tc := range []struct {
		name       string
		rankZero   bool
		retry      bool
		wantStatus structs.JobStatus
		want       string // whose blobs the job keeps
	}{
		{"format 8, failed", true, false, structs.JobFailed, "0"},
		{"format 8, requeued", true, true, structs.JobPending, "0"},
		{"format 7, failed: the failed rank's", false, false, structs.JobFailed, "1"},
		{"format 7, requeued: the failed rank's", false, true, structs.JobPending, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			f.node(testNode("n2", 4))
			j := newJob("g").GPUs(1).Nodes(2)
			if tc.retry {
				j = j.Retry(1, "failed")
			}
			id := f.register(j.Build())[0]
			a, b := f.alloc(id, "n1", 0), f.alloc(id, "n2", 0)
			a.ID, b.ID, b.Rank = id+".1.0", id+".1.1", 1
			if got := f.plan(a, b); len(got) != 2 {
				t.Fatalf("gang not placed: %v", got)
			}
			report := func(node, alloc string, cs structs.ClientStatusFields) {
				t.Helper()
				if err := f.s.UpdateAllocs(f.next(), &structs.AllocUpdateRequest{NodeID: node, Now: t0.Add(time.Hour), RankZeroOutputs: tc.rankZero,
					Updates: []*structs.AllocUpdate{{AllocID: alloc, Client: cs}}}); err != nil {
					t.Fatal(err)
				}
			}
			report("n2", b.ID, failed("1"))
			if f.allocByID(a.ID).DesiredStatus != structs.DesiredStop {
				t.Fatal("rank 0 was not asked to stop")
			}
			report("n1", a.ID, failed("0"))
			got := f.job(id)
			if got.Status != tc.wantStatus || got.OutputDigest != rankBlobs(tc.want, false).OutputDigest || got.StdoutDigest != rankBlobs(tc.want, false).StdoutDigest {
				t.Errorf("job %s, outputs %q, stdout %q; want %s with rank %s's", got.Status, got.OutputDigest, got.StdoutDigest, tc.wantStatus, tc.want)
			}
			if !tc.retry {
				return
			}
			// Attempt 2 runs: a late report of attempt 1 is not the job's.
			a2, b2 := f.alloc(id, "n1", 1), f.alloc(id, "n2", 1)
			a2.ID, b2.ID, b2.Rank = id+".2.0", id+".2.1", 1
			if applied := f.plan(a2, b2); len(applied) != 2 {
				t.Fatalf("attempt 2 not placed: %v", applied)
			}
			before := f.job(id)
			if err := f.s.write(func(txn *memdb.Txn) error {
				w := &writer{txn: txn, index: f.next(), rankZero: true}
				return w.lateRankZero(&structs.Allocation{ID: a.ID, JobID: id, Attempt: 1, ClientStatus: rankBlobs("x", false)}, before)
			}); err != nil {
				t.Fatal(err)
			}
			if after := f.job(id); after.OutputDigest != before.OutputDigest || after.ModifyIndex != before.ModifyIndex {
				t.Errorf("a report of attempt 1 changed the job of attempt %d: outputs %q", after.Attempt, after.OutputDigest)
			}
		})
	}
}
