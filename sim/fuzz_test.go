package sim

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadTrace checks that no input makes the trace reader panic, and
// that what it accepts is sound: jobs in submit order, finite non-negative
// times, limits of at least a quarter hour that cover the duration with
// noisy limits, one user with SingleUser. Crashers found by `go test
// -fuzz` go to testdata/fuzz/FuzzReadTrace and run in every `go test`.
func FuzzReadTrace(f *testing.F) {
	for _, path := range []string{"testdata/tiny.csv", filepath.Join("..", "examples", "sim", "tiny.csv")} {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, uint64(1), false, 2.0)
	}
	f.Add([]byte("job_id,submit_time_s,num_gpus,duration_s,time_limit_s\na,1e3,2,0.5,\nb,0,0,7200,60\n"), uint64(7), true, 1.0)
	f.Add([]byte("\ufeffJOB_ID ,submit_time_s,num_gpus,duration_s\n"), uint64(0), true, 0.0)
	f.Fuzz(func(t *testing.T, src []byte, seed uint64, noisy bool, factor float64) {
		opt := TraceOptions{LimitFactor: factor, NoisyLimits: noisy, NoiseSeed: seed, SingleUser: noisy}
		jobs, err := ReadTrace(bytes.NewReader(src), opt)
		if err != nil {
			return
		}
		for i, j := range jobs {
			if i > 0 && j.Submit < jobs[i-1].Submit {
				t.Fatalf("job %d submitted at %v after job %d at %v", i, j.Submit, i-1, jobs[i-1].Submit)
			}
			for _, v := range []float64{j.Submit, j.Duration, j.Limit} {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("job %d has a bad time: %+v", i, j)
				}
			}
			if j.GPUs < 0 {
				t.Fatalf("job %d has %d GPUs", i, j.GPUs)
			}
			if noisy && (j.Limit < LimitQuantum || j.Limit < j.Duration || j.User != SingleUserName) {
				t.Fatalf("noisy, single-user job %d: %+v", i, j)
			}
		}
	})
}
