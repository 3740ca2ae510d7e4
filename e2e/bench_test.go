package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// The speed targets of issue 2, measured on a real dev agent. They run only
// with NAI_BENCH=1 (`make bench`) and print their figures; BENCH.md records
// them. They assert nothing about time: figures are reported, not tested.

func benchOnly(t *testing.T) {
	if os.Getenv("NAI_BENCH") == "" {
		t.Skip("benchmark: run with NAI_BENCH=1 (make bench)")
	}
}

// Submit to first instruction: the job's first instruction is `date`,
// which prints the wall clock in nanoseconds; the figure is that time minus
// the time just before the submission's HTTP request.
func TestBenchSubmitToFirstInstruction(t *testing.T) {
	benchOnly(t)
	a := startAgent(t, t.TempDir(), 4)
	c := a.api()
	ctx := context.Background()
	var lat []time.Duration
	for i := range 30 {
		job := &structs.Job{Name: fmt.Sprintf("lat-%d", i), Resources: structs.Resources{CPU: 0.1, MemoryBytes: 64 << 20, GPU: structs.GPURequest{Count: 1}},
			Task: structs.Task{Command: "/bin/date", Args: []string{"+%s%N"}}}
		t0 := time.Now()
		resp, err := c.Register(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		id := resp.JobIDs[0]
		j := a.waitJob(id, 30*time.Second)
		if j.Status != structs.JobComplete {
			t.Fatalf("job %s: %s", id, j.Status)
		}
		rc, err := c.Logs(ctx, id, api.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			t.Fatalf("job %s printed %q", id, b)
		}
		lat = append(lat, time.Unix(0, ns).Sub(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("BENCH submit-to-first-instruction: median %.1f ms, p90 %.1f ms, min %.1f ms (n=%d; target <= 100 ms)\n",
		ms(lat[len(lat)/2]), ms(lat[len(lat)*9/10]), ms(lat[0]), len(lat))
}

// Drain 1000 /bin/true jobs with 64 able to run at once (64 fake GPUs, one
// per job), submitted one by one by 8 concurrent submitters.
func TestBenchDrain1000(t *testing.T) {
	benchOnly(t)
	a, profile := benchAgent(t, 64)
	c := a.api()
	ctx := context.Background()
	const n = 1000
	defer profile("drain", 10*time.Second)()
	ids := make([]string, n)
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				job := &structs.Job{Name: "true", Resources: structs.Resources{CPU: 0.01, MemoryBytes: 16 << 20, GPU: structs.GPURequest{Count: 1}},
					Task: structs.Task{Command: "/bin/true"}}
				resp, err := c.Register(ctx, job)
				if err != nil {
					errs <- err
					return
				}
				ids[i] = resp.JobIDs[0]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	submitted := time.Since(t0)
	waitFor(t, 5*time.Minute, "all 1000 jobs end", func() bool {
		jobs, err := c.Jobs(ctx, false)
		return err == nil && len(jobs) == 0
	})
	total := time.Since(t0)
	all, _ := c.Jobs(ctx, true)
	complete := 0
	for _, j := range all {
		if j.Status == structs.JobComplete {
			complete++
		}
	}
	fmt.Printf("BENCH drain-1000-true-jobs: %.2f s from first submission to last completion (%d complete; submissions took %.2f s; target <= 4 s)\n",
		total.Seconds(), complete, submitted.Seconds())
}

// Sequential `nai job run -detach` calls per second: each call is a new
// process that parses the file, submits it and prints the id.
func TestBenchSequentialCLISubmits(t *testing.T) {
	benchOnly(t)
	a, profile := benchAgent(t, 4)
	file := writeFile(t, t.TempDir(), "job.hcl", `job "seq" {
  resources {
    gpu {
      count = 8
    }
  }
  task {
    command = "/bin/true"
  }
}
`)
	// Eight GPUs never fit on four: the jobs stay pending, so this measures
	// submission alone.
	const n = 300
	defer profile("cli", 2*time.Second)()
	t0 := time.Now()
	for range n {
		a.mustNai("job", "run", "-detach", file)
	}
	d := time.Since(t0)
	fmt.Printf("BENCH sequential-cli-submits: %.0f per second (%d calls in %.2f s; target >= 450/s)\n", float64(n)/d.Seconds(), n, d.Seconds())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchDataDir is the agent's data dir: a test temp dir, or one under
// NAI_BENCH_DATA_DIR (for example /dev/shm, to see what the disk costs).
func benchDataDir(t *testing.T) string {
	parent := os.Getenv("NAI_BENCH_DATA_DIR")
	if parent == "" {
		return t.TempDir()
	}
	d, err := os.MkdirTemp(parent, "nai-bench-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// benchAgent starts the agent of a benchmark. With NAI_BENCH_PROFILE=DIR it
// serves the profiler, and profile(name) writes a CPU profile of the agent
// to DIR/name.pprof while the measured work runs (it returns a func that
// waits for the file).
func benchAgent(t *testing.T, gpus int) (a *agent, profile func(name string, d time.Duration) func()) {
	dir := os.Getenv("NAI_BENCH_PROFILE")
	var extra []string
	if dir != "" {
		extra = append(extra, "-enable-debug")
	}
	a = startAgent(t, benchDataDir(t), gpus, extra...)
	profile = func(name string, d time.Duration) func() {
		if dir == "" {
			return func() {}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", a.addr, int(d.Seconds()))
			resp, err := http.Get(url)
			if err != nil {
				t.Logf("profile: %v", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(dir, name+".pprof"))
			if err != nil {
				t.Logf("profile: %v", err)
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, resp.Body)
		}()
		return func() { <-done }
	}
	return a, profile
}

// The submit rate with ACLs off and with them on, in one run: the cost of
// the door (token lookup, ownership, group checks) on a real agent. Each
// submission is an API call of its own (the CLI's process start would hide
// the difference).
func TestBenchSubmitRateACL(t *testing.T) {
	benchOnly(t)
	account, _ := unprivileged(t)
	rate := func(aclOn bool) float64 {
		var extra []string
		if aclOn {
			extra = append(extra, "-acl-enabled")
		}
		a := startAgent(t, benchDataDir(t), 4, extra...)
		c := a.api()
		if aclOn {
			mgmt := bootstrap(t, a)
			a.creds = mgmt
			a.waitNode(4)
			c = a.apiAs(userToken(t, a, mgmt, "bench", account))
		}
		ctx := context.Background()
		job := func() *structs.Job {
			// Eight GPUs never fit on four: submission alone is measured.
			return &structs.Job{Name: "acl", Resources: structs.Resources{CPU: 0.1, MemoryBytes: 16 << 20, GPU: structs.GPURequest{Count: 8}},
				Task: structs.Task{Command: "/bin/true"}}
		}
		const n = 500
		t0 := time.Now()
		for range n {
			if _, err := c.Register(ctx, job()); err != nil {
				t.Fatal(err)
			}
		}
		r := float64(n) / time.Since(t0).Seconds()
		a.stop()
		return r
	}
	// Interleaved, twice, so load from elsewhere on the machine falls on
	// both alike; the better run of each counts.
	off, on := rate(false), rate(true)
	off, on = max(off, rate(false)), max(on, rate(true))
	fmt.Printf("BENCH submit-rate-acl: %.0f per second with ACLs off, %.0f with ACLs on (%+.1f%%; sequential API calls, best of 2)\n", off, on, 100*(on-off)/off)
}
