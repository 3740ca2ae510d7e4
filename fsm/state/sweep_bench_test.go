package state

import (
	"strconv"
	"testing"

	"github.com/nai-project/nai/structs"
)

// BenchmarkRegisterSweep1000 measures the FSM's share of submitting one
// sweep of 1000 members (one raft entry).
func BenchmarkRegisterSweep1000(b *testing.B) {
	s, err := NewStore()
	if err != nil {
		b.Fatal(err)
	}
	jobs := make([]*structs.Job, 1000)
	for i := range jobs {
		j := newJob("sweep").GPUs(1).Build()
		j.Task.Args = []string{strconv.Itoa(i)}
		j.SweepValues = map[string]string{"i": strconv.Itoa(i)}
		jobs[i] = j
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.RegisterJobs(uint64(i+1), &structs.JobRegisterRequest{Jobs: jobs, Now: t0}); err != nil {
			b.Fatal(err)
		}
	}
}
