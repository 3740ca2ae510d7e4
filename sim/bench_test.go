package sim

import (
	"os"
	"testing"

	"github.com/nai-project/nai/internal/testtool"
)

// phillyJobs reads the shared Philly month (skipping without it).
func phillyJobs(b testing.TB, opt TraceOptions) []TraceJob {
	b.Helper()
	f, err := os.Open(testtool.PhillyTrace(b))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	jobs, err := ReadTrace(f, opt)
	if err != nil {
		b.Fatal(err)
	}
	return jobs
}

// BenchmarkPhilly replays the whole Philly month on 80 nodes x 8 GPUs with
// every policy: the figure of issue 16 (<= 3 s each). See BENCH.md.
func BenchmarkPhilly(b *testing.B) {
	jobs := phillyJobs(b, TraceOptions{})
	for _, p := range Policies {
		b.Run(p, func(b *testing.B) {
			var res *Result
			for b.Loop() {
				var err error
				if res, err = Run(jobs, Options{Nodes: 80, GPUsPerNode: 8, Policy: p}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Passes), "passes")
		})
	}
}
