package state

import (
	"strconv"
	"testing"

	"github.com/nai-project/nai/structs"
)

// sweepJobs is a sweep of n members that differ in an argument, as the
// job file parser makes them.
func sweepJobs(n int) []*structs.Job {
	jobs := make([]*structs.Job, n)
	for i := range jobs {
		j := newJob("sweep").GPUs(1).Build()
		j.Task.Args = []string{strconv.Itoa(i)}
		j.SetSweepMember(i, n, 0, map[string]string{"i": strconv.Itoa(i)})
		jobs[i] = j
	}
	return jobs
}

// BenchmarkRegisterSweep1000 measures the FSM's share of submitting one
// sweep of 1000 members (one raft entry), written out as jobs and as one
// spec (whose members share what they do not change).
//
// 2 shared cores, load ~1.6: jobs 5.5-7.1 ms, 3.6 MB, 43k allocs; spec
// 4.7-4.9 ms, 3.3 MB, 42k allocs (before ids were reserved at once: jobs
// 8.9 ms, spec 6.5 ms). Most of either is memdb's radix inserts: the jobs
// themselves are a small part of the memory. With the service index
// holding services only (sparseIndex, one radix insert less a job): jobs
// 3.60 -> 3.19 MB, 43.4k -> 37.3k allocs; spec 3.26 -> 2.85 MB, 40.4k ->
// 34.3k allocs (times not compared: measured beside other work).
//
// Then (2026-12-03, sweep2), side by side with the commit before, -cpu 1,
// load 1.5-3: spec 11.5-12.8 -> 9.6-10.8 ms, 2.83 -> 2.57 MB, 32.3k ->
// 19.6k allocs: the members' Jobs as one allocation (Expand), the queue
// looked up once for the submission rather than once a member, the error
// label made only for an error (a Sprintf a member), numeric id keys
// without strings.Split, and string index keys with room for the id key
// memdb appends to them.
//
// Without an index of sweep members (their ids are a range: jobsOfArray),
// side by side with the commit before these, -cpu 1, load ~2: spec
// 11.0-11.5 -> 6.2-8.7 ms, 2.83 -> 2.17 MB, 32.3k -> 14.4k allocs.
//
// With the members made, canonicalized and validated by two goroutines
// (SweepSpec.ExpandValid; 2026-12-03), three alternating runs against the
// commit before, load ~1: spec 5.36-5.88 -> 4.94-5.92 ms, the same 2.17
// MB. On the leader that part runs ahead, beside raft (fsm.Predecode).
func BenchmarkRegisterSweep1000(b *testing.B) {
	jobs := sweepJobs(1000)
	spec, err := structs.NewSweepSpec(jobs)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *structs.JobRegisterRequest
	}{
		{"jobs", &structs.JobRegisterRequest{Jobs: jobs, Now: t0}},
		{"spec", &structs.JobRegisterRequest{Sweep: spec, Now: t0}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := NewStore()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.RegisterJobs(uint64(i+1), tc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCancelSweep1000 cancels a pending 1000-member sweep (the state
// machine's share of `nai job cancel ARRAY`, which e2e's Sweep1000 runs
// between its submissions).
//
// Side by side with the commit before the sweep2 branch, -cpu 1, load
// ~2: 21.4-22.3 -> 9.4 ms, 6.32 -> 2.87 MB, 77.6k -> 22.5k allocs: no
// array index to update, a shallow copy of each member (not Job.Copy),
// and the owners' usage rows written once for the lot (jobEnds) rather
// than copied and written once a member.
func BenchmarkCancelSweep1000(b *testing.B) {
	spec, err := structs.NewSweepSpec(sweepJobs(1000))
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewStore()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	idx := uint64(0)
	for b.Loop() {
		b.StopTimer()
		idx++
		resp, err := s.RegisterJobs(idx, &structs.JobRegisterRequest{Sweep: spec, Now: t0})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		idx++
		if err := s.CancelJobs(idx, &structs.JobCancelRequest{JobIDs: []string{resp.ArrayID}, Now: t0}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJobEndHook registers a 1000-member sweep and cancels it, with
// and without a hook on job endings (Store.OnJobEnd: the servers' counter
// of job outcomes), which turns memdb's change tracking on for every
// write.
//
// 2026-12-05, 2 shared cores, three runs each: off 10.4-11.5 ms, 5.27 MB,
// 40.7k allocs; on 10.9-11.7 ms, 6.17 MB, 42.8k allocs: about 4% of the
// time and 17% more bytes on this write-heavy path, on every server. If
// it ever shows in a profile, the endings can be gathered where jobs are
// written terminal (writer.putJob, CancelJobs' jobEnds, stopService)
// instead; the tracking is what keeps a new path from being missed.
func BenchmarkJobEndHook(b *testing.B) {
	spec, err := structs.NewSweepSpec(sweepJobs(1000))
	if err != nil {
		b.Fatal(err)
	}
	for _, hook := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[hook], func(b *testing.B) {
			s, err := NewStore()
			if err != nil {
				b.Fatal(err)
			}
			ended := 0
			if hook {
				s.OnJobEnd(func(*structs.Job) { ended++ })
			}
			b.ReportAllocs()
			idx := uint64(0)
			for b.Loop() {
				idx++
				resp, err := s.RegisterJobs(idx, &structs.JobRegisterRequest{Sweep: spec, Now: t0})
				if err != nil {
					b.Fatal(err)
				}
				idx++
				if err := s.CancelJobs(idx, &structs.JobCancelRequest{JobIDs: []string{resp.ArrayID}, Now: t0}); err != nil {
					b.Fatal(err)
				}
			}
			if hook && ended == 0 {
				b.Fatal("the hook heard of no ending")
			}
		})
	}
}
