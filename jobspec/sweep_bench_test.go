package jobspec

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// sweepFile is e2e's sweepHCL: a sweep of n members that differ only in
// an argument.
func sweepFile(n int) []byte {
	return fmt.Appendf(nil, `job "sweep" {
  begin_after = "1h"
  sweep {
    values = {
      i = range(%d)
    }
  }
  resources {
    cpu = 1
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/echo"
    args    = ["${sweep.i}"]
  }
}
`, n)
}

// BenchmarkParseSweep1000 parses the 1000-member sweep that `nai job run`
// submits in e2e's TestBench/Sweep1000.
//
// 2 shared cores, load 1.3-2 from other work: 14.9 ms, 11.7 MB, 199k
// allocs when every member decoded the job body afresh; 4.5-6 ms, 3.9 MB,
// 50k allocs with the member-independent values and bodies remembered,
// lists of numbers printed without big.Float, one context and one block
// of jobs.
//
// Members made from the first one (template.go), measured side by side
// with the commit before, -cpu 1, load 11-15 from other work (so CPU time
// of the test process per op, which contention inflates less than wall
// time): 9.3-9.8 -> 1.86-2.13 ms, 3.9 -> 1.85 MB, 50.4k -> 6.5k allocs.
// What is left is per member and mostly its output: the 944-byte Job,
// its SweepValues and env maps (two small maps: a third of the time),
// its args, Validate.
func BenchmarkParseSweep1000(b *testing.B) {
	src := sweepFile(1000)
	opts := Options{Now: time.Unix(1e9, 0)}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Parse("sweep.hcl", src, opts)
		if err != nil || len(res.Jobs) != 1000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkSweepSpec1000 is what `nai job run` does with that sweep after
// parsing it: write it as one spec, comparing the fields the parser says
// the members differ in, and encode it as the API client sends it.
//
// Side by side with NewSweepSpec and the member-by-member encoding of the
// commit before, -cpu 1, load 11-15, CPU time per op: 6.3-7.4 -> 2.1-2.2
// ms, 1.57 -> 0.52 MB, 18k -> 45 allocs. About 60% of what is left is
// encoding/json checking the output of SweepSpec.MarshalJSON again
// (appendCompact), which the API client's json.Marshal does to any
// Marshaler.
func BenchmarkSweepSpec1000(b *testing.B) {
	res, err := Parse("sweep.hcl", sweepFile(1000), Options{Now: time.Unix(1e9, 0)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		spec, err := structs.NewSweepSpecFields(res.Jobs, res.SweepFields)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(map[string]any{"sweep": spec}); err != nil {
			b.Fatal(err)
		}
	}
}
