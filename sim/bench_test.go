package sim

import (
	"os"
	"path/filepath"
	"testing"
)

// phillyTraces are where the shared Philly month (47,192 jobs) lies
// outside the repository: beside the checkout (/work/main next to
// /work/shared) or beside a worktree's parent. NAI_SIM_TRACE overrides.
var phillyTraces = []string{
	filepath.Join("..", "..", "shared", "traces", "philly_oct2017.csv"),
	filepath.Join("..", "..", "..", "shared", "traces", "philly_oct2017.csv"),
}

func phillyJobs(b testing.TB, opt TraceOptions) []TraceJob {
	b.Helper()
	paths := phillyTraces
	if p := os.Getenv("NAI_SIM_TRACE"); p != "" {
		paths = []string{p}
	}
	var f *os.File
	var err error
	for _, p := range paths {
		if f, err = os.Open(p); err == nil {
			break
		}
	}
	if f == nil {
		b.Skipf("Philly trace not found (%v); set NAI_SIM_TRACE", err)
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
