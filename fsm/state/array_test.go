package state

import (
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// memberIDs are the ids of jobs.
func memberIDs(jobs []*structs.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// A sweep's members are read as a range of ids (no index of their own):
// the members of the array named by its first member's id, in id order,
// whatever jobs come before or after it and whichever members job GC has
// removed; nothing for an id that is no array's.
func TestJobsOfArray(t *testing.T) {
	s, err := NewStore()
	if err != nil {
		t.Fatal(err)
	}
	idx := uint64(0)
	register := func(req *structs.JobRegisterRequest) *structs.JobRegisterResponse {
		t.Helper()
		idx++
		req.Now = t0
		resp, err := s.RegisterJobs(idx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Jobs 1-2 alone, the sweep 3-7, a list of two plain jobs 8-9, a
	// second sweep 10-12 right after.
	register(&structs.JobRegisterRequest{Jobs: []*structs.Job{newJob("a").Build(), newJob("b").Build()}})
	spec, err := structs.NewSweepSpec(sweepJobs(5))
	if err != nil {
		t.Fatal(err)
	}
	sweep := register(&structs.JobRegisterRequest{Sweep: spec})
	register(&structs.JobRegisterRequest{Jobs: []*structs.Job{newJob("c").Build(), newJob("d").Build()}})
	next := register(&structs.JobRegisterRequest{Jobs: sweepJobs(3)})
	if sweep.ArrayID != "3" || next.ArrayID != "10" {
		t.Fatalf("arrays %q and %q, want 3 and 10", sweep.ArrayID, next.ArrayID)
	}
	check := func(name, id string, want []string) {
		t.Helper()
		got, err := s.Snapshot().JobsByArray(nil, id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(memberIDs(got), want) {
			t.Errorf("%s: JobsByArray(%q) = %v, want %v", name, id, memberIDs(got), want)
		}
	}
	for _, tc := range []struct {
		name, id string
		want     []string
	}{
		{"a sweep", "3", []string{"3", "4", "5", "6", "7"}},
		{"the next sweep", "10", []string{"10", "11", "12"}},
		{"a member that is not the first", "4", nil},
		{"a job of no array", "1", nil},
		{"a plain job after a sweep", "8", nil},
		{"no such job", "99", nil},
		{"not an id", "x", nil},
		{"a dotted id", "3.1", nil},
		{"a leading zero", "03", nil},
	} {
		check(tc.name, tc.id, tc.want)
	}

	// Job GC removes members 3 and 5 (cancelled, ended long ago).
	idx++
	if err := s.CancelJobs(idx, &structs.JobCancelRequest{JobIDs: []string{"3", "5"}, Only: true, Now: t0}); err != nil {
		t.Fatal(err)
	}
	idx++
	if _, err := s.GCJobs(idx, &structs.JobGCRequest{Before: t0.Add(time.Hour), Max: 10, Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	check("after job GC of members 0 and 2", "3", []string{"4", "6", "7"})

	// Cancelling the array by its id (its first member's, which job GC
	// removed) cancels the members left, not job 8 or the next sweep.
	idx++
	if err := s.CancelJobs(idx, &structs.JobCancelRequest{JobIDs: []string{"3"}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"4", "6", "7", "8", "10"} {
		j, err := s.Snapshot().JobByID(nil, id)
		if err != nil || j == nil {
			t.Fatalf("job %s: %v, %v", id, j, err)
		}
		if want := id != "8" && id != "10"; want != (j.Status == structs.JobCancelled) {
			t.Errorf("after cancelling array 3: job %s is %s", id, j.Status)
		}
	}
}

// A watch on a sweep's members fires when one of them is written, and not
// for a job whose id is in another block of 256 ids.
func TestJobsOfArrayWatch(t *testing.T) {
	s, err := NewStore()
	if err != nil {
		t.Fatal(err)
	}
	// 300 plain jobs, then a sweep of 3 (ids 301-303), then 300 more.
	plain := func() []*structs.Job {
		jobs := make([]*structs.Job, 300)
		for i := range jobs {
			jobs[i] = newJob("p" + strconv.Itoa(i)).Build()
		}
		return jobs
	}
	for i, req := range []*structs.JobRegisterRequest{{Jobs: plain()}, {Jobs: sweepJobs(3)}, {Jobs: plain()}} {
		req.Now = t0
		if _, err := s.RegisterJobs(uint64(i+1), req); err != nil {
			t.Fatal(err)
		}
	}
	watch := func() memdb.WatchSet {
		ws := memdb.NewWatchSet()
		members, err := s.Snapshot().JobsByArray(ws, "301")
		if err != nil || len(members) != 3 {
			t.Fatalf("members %v, %v", memberIDs(members), err)
		}
		return ws
	}
	fired := func(ws memdb.WatchSet) bool {
		return !ws.Watch(time.After(50 * time.Millisecond))
	}
	idx := uint64(10)
	cancel := func(id string) {
		idx++
		if err := s.CancelJobs(idx, &structs.JobCancelRequest{JobIDs: []string{id}, Only: true, Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, id string
		fires    bool
	}{
		{"a job in another block of ids", "10", false},
		{"the job after the last block", "600", false},
		{"a member", "302", true},
		{"the first member", "301", true},
	} {
		ws := watch()
		cancel(tc.id)
		if got := fired(ws); got != tc.fires {
			t.Errorf("cancel job %s (%s): watch fired %v, want %v", tc.id, tc.name, got, tc.fires)
		}
	}
}

// A job held by its begin time is registered with the reason and the
// estimated start the scheduler's begin-time gate gives it, so that the
// scheduler's first pass has nothing to write for it; any other job has
// no reason until the scheduler gives one.
func TestRegisterBeginTimeReason(t *testing.T) {
	later := t0.Add(time.Hour)
	held := structs.WaitBeginAt(later)
	for _, tc := range []struct {
		name   string
		begin  time.Time
		reason string
		start  time.Time
	}{
		{"no begin time", time.Time{}, "", time.Time{}},
		{"a begin time past", t0.Add(-time.Minute), "", time.Time{}},
		{"a begin time now", t0, "", time.Time{}},
		{"a begin time later", later, held.Reason, later},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewStore()
			if err != nil {
				t.Fatal(err)
			}
			jobs := sweepJobs(3)
			single := newJob("one").Build()
			for _, j := range append(jobs, single) {
				j.BeginTime = tc.begin
			}
			spec, err := structs.NewSweepSpec(jobs)
			if err != nil {
				t.Fatal(err)
			}
			for i, req := range []*structs.JobRegisterRequest{{Sweep: spec}, {Jobs: []*structs.Job{single}}} {
				req.Now = t0
				if _, err := s.RegisterJobs(uint64(i+1), req); err != nil {
					t.Fatal(err)
				}
			}
			all, err := s.Snapshot().Jobs(nil)
			if err != nil || len(all) != 4 {
				t.Fatalf("jobs %v, %v", memberIDs(all), err)
			}
			for _, j := range all {
				if j.Reason != tc.reason || !j.EstimatedStart.Equal(tc.start) {
					t.Errorf("job %s: reason %q, estimated start %v; want %q, %v", j.ID, j.Reason, j.EstimatedStart, tc.reason, tc.start)
				}
			}
		})
	}
	if held.Code != structs.WaitBeginTime || !held.EstimatedStart.Equal(later) {
		t.Errorf("WaitBeginAt: %+v", held)
	}
}

// Cancelling jobs counts each in its owner's usage row of the day, the
// rows written once for the lot: a sweep's members, jobs of other owners
// among them, and a second cancel adding to the rows the first wrote.
// The cancelled rows share their maps with the jobs they replace, which
// are left as they were.
func TestCancelCountsUsage(t *testing.T) {
	s, err := NewStore()
	if err != nil {
		t.Fatal(err)
	}
	jobs := sweepJobs(4)
	for _, j := range jobs {
		j.User, j.Group = "alice", "vision"
		j.Labels = map[string]string{"team": "vision"}
	}
	spec, err := structs.NewSweepSpec(jobs)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*structs.JobRegisterRequest{
		{Sweep: spec},
		{Jobs: []*structs.Job{newJob("b1").User("bob").Group("nlp").Build(), newJob("b2").User("bob").Group("nlp").Build()}},
		{Jobs: []*structs.Job{newJob("a1").User("alice").Group("vision").Build()}},
	}
	for i, req := range reqs {
		req.Now = t0
		if _, err := s.RegisterJobs(uint64(i+1), req); err != nil {
			t.Fatal(err)
		}
	}
	before, err := s.Snapshot().JobByID(nil, "2")
	if err != nil || before == nil {
		t.Fatal(before, err)
	}
	// The sweep (1-4) and bob's job 5, then alice's job 7 the next day.
	if err := s.CancelJobs(10, &structs.JobCancelRequest{JobIDs: []string{"1", "5"}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelJobs(11, &structs.JobCancelRequest{JobIDs: []string{"7", "6"}, Now: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Snapshot().UsageRows(time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) string {
		return t0.Add(time.Duration(d) * 24 * time.Hour).UTC().Format(structs.UsageDayFormat)
	}
	want := map[string]int{
		day(0) + " alice vision": 4, day(0) + " bob nlp": 1,
		day(1) + " alice vision": 1, day(1) + " bob nlp": 1,
	}
	got := map[string]int{}
	for _, r := range rows {
		got[r.Day+" "+r.User+" "+r.Group] = r.Jobs[structs.JobCancelled]
		if idx := map[string]uint64{day(0): 10, day(1): 11}[r.Day]; r.ModifyIndex != idx {
			t.Errorf("row %s %s %s: modify index %d, want %d", r.Day, r.User, r.Group, r.ModifyIndex, idx)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("cancelled jobs by usage row %v, want %v", got, want)
	}
	after, err := s.Snapshot().JobByID(nil, "2")
	if err != nil || after == nil || after.Status != structs.JobCancelled || !after.EndTime.Equal(t0) {
		t.Fatalf("member 2 after the cancel: %+v, %v", after, err)
	}
	if before.Status != structs.JobPending || !maps.Equal(before.Labels, map[string]string{"team": "vision"}) || !maps.Equal(after.Labels, before.Labels) {
		t.Errorf("the pending row changed (%s, %v) or the cancelled one lost its labels (%v)", before.Status, before.Labels, after.Labels)
	}
}

// Job GC keeps every member of an array a live job depends on by the
// array's id (the scheduler waits for them all, and an afternotok needs
// the one that failed), and only the member itself of a dependency on one
// member. A GC entry of an older format (no KeepArrayMembers) keeps only
// the job named, as the servers that wrote it did.
func TestJobGCKeepsArrayDependedOn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dep   structs.Dependency
		older bool
		kept  []string // of the ended members 1 and 2
	}{
		{"on the array", structs.Dependency{Type: structs.AfterNotOK, JobID: "1"}, false, []string{"1", "2"}},
		{"on its first member", structs.Dependency{Type: structs.AfterNotOK, JobID: "1", Member: true}, false, []string{"1"}},
		{"on another member", structs.Dependency{Type: structs.AfterAny, JobID: "2"}, false, []string{"2"}},
		{"on the array, by an older format's entry", structs.Dependency{Type: structs.AfterNotOK, JobID: "1"}, true, []string{"1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(sweepJobs(3)...) // array 1: jobs 1-3
			waiting := newJob("after").Build()
			waiting.DependsOn = []structs.Dependency{tc.dep}
			f.register(waiting) // job 4
			if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{"1", "2"}, Only: true, Now: t0}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.GCJobs(f.next(), &structs.JobGCRequest{Before: t0.Add(time.Hour), Max: 10, Now: t0.Add(time.Hour), KeepArrayMembers: !tc.older}); err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, id := range []string{"1", "2"} {
				if j, err := f.s.Snapshot().JobByID(nil, id); err != nil {
					t.Fatal(err)
				} else if j != nil {
					kept = append(kept, id)
				}
			}
			if !slices.Equal(kept, tc.kept) {
				t.Errorf("job GC kept members %v, want %v", kept, tc.kept)
			}
		})
	}
}
