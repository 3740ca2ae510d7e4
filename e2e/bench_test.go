package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
)

// The speed figures of issues 2 and 16, measured on real agents and, with
// NAI_BENCH_SLURM=1, on Debian's Slurm set up on the same machine in the
// same run (bench/slurm/). They run only with NAI_BENCH=1 (`make bench`)
// and print their figures; with NAI_BENCH_WRITE=FILE the table goes into
// FILE (make bench writes BENCH.md). They assert nothing about time:
// figures are reported, not tested.
//
// Where both sides are measured, their runs alternate in rounds, so that
// load from elsewhere on this shared machine falls on both alike.

func benchOnly(t *testing.T) {
	if os.Getenv("NAI_BENCH") == "" {
		t.Skip("benchmark: run with NAI_BENCH=1 (make bench)")
	}
}

// bench is what the figures of one run share.
type bench struct {
	slurm *benchSlurm // nil without NAI_BENCH_SLURM
	rep   *benchReport
	// Figures that later ones compare against.
	slurmSeqRate   float64 // sbatch calls per second, one after another
	slurmIdleCtld  int64   // slurmctld's RSS before any job, bytes
	slurmIdleSlurm int64   // slurmd's
	// Their private memory (RssAnon) then.
	slurmIdleCtldAnon, slurmIdleSlurmAnon int64
	// emptyGo is a Go program that does nothing, built like the CLI: what
	// starting and ending any Go process costs here, the floor of the CLI
	// figures (emptyGoProgram).
	emptyGo string
	// submitGo sends one job over HTTP and does nothing else
	// (submitGoProgram); submitBody is the file it sends.
	submitGo, submitBody string
	// built are the programs to remove when the run ends.
	built []string
}

// emptyGoProgram builds, once, a static Go program whose main returns at
// once: the least any Go CLI can cost on this machine, measured beside
// the CLI so that the CLI figures show their floor from the same run.
func (b *bench) emptyGoProgram(t *testing.T) string {
	t.Helper()
	if b.emptyGo == "" {
		b.emptyGo = b.goProgram(t, "empty-go", "package main\n\nfunc main() {}\n")
	}
	return b.emptyGo
}

// submitGoSource is the least a Go CLI that submits a job can do: read the
// job's JSON from a file, send it with net/http as `nai job run -detach`
// does (PUT /v1/jobs), and print the answer. No flags, no job file
// language, no output formatting.
const submitGoSource = `package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	body, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req, err := http.NewRequest(http.MethodPut, os.Getenv("NAI_ADDR")+"/v1/jobs", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "%s: %v %s\n", resp.Status, err, out)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
`

// submitGoProgram builds, once, submitGoSource, and writes the body it
// sends: pendingHCL as the API's JSON. Started like the CLI, it is the
// floor of the CLI rates from the same run: the Go process, one HTTP call
// and the server's commit, and nothing of nai's CLI.
func (b *bench) submitGoProgram(t *testing.T) (bin, body string) {
	t.Helper()
	if b.submitGo == "" {
		b.submitGo = b.goProgram(t, "submit-go", submitGoSource)
		res, err := jobspec.Parse("job.hcl", []byte(pendingHCL), jobspec.Options{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(map[string]any{"jobs": res.Jobs})
		if err != nil {
			t.Fatal(err)
		}
		b.submitBody = filepath.Join(os.TempDir(), fmt.Sprintf("nai-bench-submit-%d.json", os.Getpid()))
		if err := os.WriteFile(b.submitBody, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		b.built = append(b.built, b.submitBody)
	}
	return b.submitGo, b.submitBody
}

// goProgram builds a static Go program of one file, with the standard
// library alone, as the CLI is built (CGO_ENABLED=0). It is removed when
// the run ends.
func (b *bench) goProgram(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "go.mod", "module "+name+"\n\ngo 1.22\n")
	writeFile(t, dir, "main.go", src)
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("nai-bench-%s-%d", name, os.Getpid()))
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	b.built = append(b.built, bin)
	return bin
}

// TestBench runs every figure in one invocation. A figure alone:
// go test -run 'TestBench/NAME' (with NAI_BENCH=1).
func TestBench(t *testing.T) {
	benchOnly(t)
	b := &bench{}
	defer func() {
		for _, bin := range b.built {
			os.Remove(bin)
		}
	}()
	if os.Getenv("NAI_BENCH_DATA_DIR") == "" {
		benchDataParent = topLevelDir(t, "nai-bench-data-")
		t.Cleanup(func() { benchDataParent = "" })
	}
	if os.Getenv("NAI_BENCH_SLURM") != "" {
		b.slurm = startSlurm(t)
		// Idle, before any job.
		time.Sleep(2 * time.Second)
		b.slurmIdleCtld = rssOf(t, b.slurm.pid("slurmctld"))
		b.slurmIdleSlurm = rssOf(t, b.slurm.pid("slurmd"))
		b.slurmIdleCtldAnon = anonOf(t, b.slurm.pid("slurmctld"))
		b.slurmIdleSlurmAnon = anonOf(t, b.slurm.pid("slurmd"))
	}
	b.rep = newBenchReport(b.slurm != nil)
	for _, f := range []struct {
		name string
		run  func(*testing.T, *bench)
	}{
		{"SequentialCLISubmits", benchSequentialCLI},
		{"ParallelCLISubmits", benchParallelCLI},
		{"SubmitToFirstInstruction", benchFirstInstruction},
		{"Drain1000", benchDrain},
		{"Sweep1000", benchSweep},
		{"Pending5000", benchPending5000},
		{"SubmitRateACL", benchSubmitRateACL},
		{"Sim", benchSim},
		{"Failover", benchFailover},
		{"Scale", benchScale},
	} {
		// Each figure starts on a quiet machine, not in the tail of the
		// one before (the drain's 1000 jobs leave their cleanup behind).
		t.Run(f.name, func(t *testing.T) {
			waited, busy := waitQuiet(30 * time.Second)
			t.Logf("started after %.1f s waiting for the CPUs to be idle (%.2f cores busy)", waited.Seconds(), busy)
			f.run(t, b)
		})
	}
	fmt.Println()
	b.rep.table(os.Stdout)
	if path := os.Getenv("NAI_BENCH_WRITE"); path != "" && !t.Failed() {
		if err := b.rep.write(path); err != nil {
			t.Errorf("write %s: %v", path, err)
		} else {
			fmt.Printf("\nwrote the table into %s\n", path)
		}
	}
}

// pendingHCL is a job that waits an hour before it may start (begin_after),
// so that submission alone is measured; Slurm's side is --begin=now+3600.
const pendingHCL = `job "seq" {
  begin_after = "1h"
  resources {
    cpu = 1
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/true"
  }
}
`

// slurmPending is the same job for sbatch.
var slurmPending = []string{"--begin=now+3600", "-n1", "--gres=gpu:1", "-o", "/dev/null", "--wrap", "/bin/true"}

// naiCmd is a CLI call against addr.
func naiCmd(addr string, args ...string) *exec.Cmd {
	cmd := exec.Command(naiBin, args...)
	cmd.Env = append(os.Environ(), "NAI_ADDR="+addr, "NAI_TOKEN_FILE=/nonexistent/nai-bench-token")
	return cmd
}

// envCmd is a program started as naiCmd starts the CLI (NAI_ADDR set).
func envCmd(addr, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NAI_ADDR="+addr)
	return cmd
}

// callRate runs n calls of mk, `workers` at a time, and returns the calls
// per second and the median CPU time of one call (the process's own).
func callRate(t *testing.T, n, workers int, mk func() *exec.Cmd) (rate float64, cpu time.Duration) {
	t.Helper()
	cpus := make([]time.Duration, n)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				_, c, _, err := timedRun(context.Background(), mk())
				if err != nil {
					errs <- err
					return
				}
				cpus[i] = c
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return float64(n) / d.Seconds(), medianDur(cpus)
}

// rates sums the rounds of one kind of call, `per` calls a round: their
// count, time and the median CPU of a call in each round.
type rates struct {
	per int
	n   float64
	d   time.Duration
	cpu []time.Duration
}

// add is one round, as callRate returns it.
func (r *rates) add(rate float64, cpu time.Duration) {
	r.n += float64(r.per)
	r.d += time.Duration(float64(r.per) / rate * float64(time.Second))
	r.cpu = append(r.cpu, cpu)
}

func (r *rates) rate() float64  { return r.n / r.d.Seconds() }
func (r *rates) cpuMS() float64 { return ms(medianDur(r.cpu)) }

// Sequential CLI submissions: each call is a new process that reads the
// job file, submits it and prints the id (`nai job run -detach`, sbatch).
// Beside them, from the same run, the floors of any Go CLI here: a Go
// program that does nothing, and one that only sends the job over HTTP
// to the same server (submitGoProgram).
func benchSequentialCLI(t *testing.T, b *bench) {
	a, profile := benchAgent(t, 4)
	file := writeFile(t, t.TempDir(), "job.hcl", pendingHCL)
	const rounds, n = 3, 100
	load := startLoad()
	defer profile("cli", 2*time.Second)()
	empty := b.emptyGoProgram(t)
	submit, body := b.submitGoProgram(t)
	naiR, slurmR, emptyR, submitR := rates{per: n}, rates{per: n}, rates{per: n}, rates{per: n}
	for range rounds {
		emptyR.add(callRate(t, n, 1, func() *exec.Cmd { return exec.Command(empty) }))
		if b.slurm != nil {
			slurmR.add(callRate(t, n, 1, func() *exec.Cmd {
				return b.slurm.command("sbatch", append([]string{"-Q", "--parsable"}, slurmPending...)...)
			}))
		}
		submitR.add(callRate(t, n, 1, func() *exec.Cmd { return envCmd(a.addr, submit, body) }))
		naiR.add(callRate(t, n, 1, func() *exec.Cmd { return naiCmd(a.addr, "job", "run", "-detach", file) }))
	}
	naiRate := naiR.rate()
	row := benchRow{figure: "sequential CLI submissions (job run -detach / sbatch)", target: ">= 2x Slurm",
		nai: fmt.Sprintf("%.0f/s (CLI %.1f ms CPU; floors: a Go program that does nothing %.0f/s, %.1f ms CPU; one that only sends the job over HTTP %.0f/s, %.1f ms CPU)",
			naiRate, naiR.cpuMS(), emptyR.rate(), emptyR.cpuMS(), submitR.rate(), submitR.cpuMS()),
		load: load.String()}
	if b.slurm != nil {
		b.slurmSeqRate = slurmR.rate()
		row.slurm = fmt.Sprintf("%.0f/s (sbatch %.1f ms CPU)", b.slurmSeqRate, slurmR.cpuMS())
		row.ratio = ratioText(naiRate / b.slurmSeqRate)
		row.met = yesNo(naiRate >= 2*b.slurmSeqRate)
		b.slurm.cancelAll()
	}
	b.rep.add(row)
}

// Eight CLIs at once, against Slurm's sequential rate (and, for the
// record, eight sbatch at once), with the same two floors eight at once.
func benchParallelCLI(t *testing.T, b *bench) {
	a, _ := benchAgent(t, 4)
	file := writeFile(t, t.TempDir(), "job.hcl", pendingHCL)
	const n, workers = 400, 8
	load := startLoad()
	var slurmPar float64
	if b.slurm != nil {
		slurmPar, _ = callRate(t, n, workers, func() *exec.Cmd {
			return b.slurm.command("sbatch", append([]string{"-Q", "--parsable"}, slurmPending...)...)
		})
	}
	naiRate, _ := callRate(t, n, workers, func() *exec.Cmd { return naiCmd(a.addr, "job", "run", "-detach", file) })
	empty := b.emptyGoProgram(t)
	emptyRate, _ := callRate(t, 2*n, workers, func() *exec.Cmd { return exec.Command(empty) })
	submit, body := b.submitGoProgram(t)
	submitRate, _ := callRate(t, n, workers, func() *exec.Cmd { return envCmd(a.addr, submit, body) })
	row := benchRow{figure: "8 parallel CLI submissions", target: ">= 10x Slurm's sequential rate",
		nai: fmt.Sprintf("%.0f/s (floors, 8 at once: a Go program that does nothing %.0f/s; one that only sends the job over HTTP %.0f/s)", naiRate, emptyRate, submitRate), load: load.String()}
	if b.slurm != nil {
		row.slurm = fmt.Sprintf("%.0f/s sequential (%.0f/s 8 at once)", b.slurmSeqRate, slurmPar)
		if b.slurmSeqRate > 0 {
			row.ratio = ratioText(naiRate / b.slurmSeqRate)
			row.met = yesNo(naiRate >= 10*b.slurmSeqRate)
		}
		b.slurm.cancelAll()
	}
	b.rep.add(row)
}

// CLI invocation to the task's first instruction: the task is `date
// +%s%N`, which prints the wall clock in nanoseconds; the figure is that
// time minus the time just before the CLI process was started.
func benchFirstInstruction(t *testing.T, b *bench) {
	a := startAgent(t, benchDataDir(t), 4)
	file := writeFile(t, t.TempDir(), "date.hcl", `job "date" {
  resources {
    cpu    = 0.1
    memory = "64MiB"
    gpu {
      count = 1
    }
  }
  task {
    command = "/bin/date"
    args    = ["+%s%N"]
  }
}
`)
	c := a.api()
	ctx := context.Background()
	load := startLoad()
	var naiLat, slurmLat []time.Duration
	const n, slurmN = 30, 10
	for i := range n {
		if b.slurm != nil && i%(n/slurmN) == 0 {
			out := filepath.Join(b.slurm.dir, "out", fmt.Sprintf("date-%d.out", i))
			t0 := time.Now()
			if _, err := b.slurm.sbatch("-n1", "--gres=gpu:1", "-o", out, "--wrap", "date +%s%N"); err != nil {
				t.Fatal(err)
			}
			var ns int64
			waitFor(t, 60*time.Second, "the Slurm job prints the time", func() bool {
				raw, err := os.ReadFile(out)
				if err != nil || !strings.HasSuffix(string(raw), "\n") {
					return false
				}
				ns, err = strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
				return err == nil
			})
			slurmLat = append(slurmLat, time.Unix(0, ns).Sub(t0))
			// Slurm finishes the job after its output is written
			// (slurmd's epilog and cleanup, slurmctld's state saves):
			// nai's next measurement waits until that is over rather than
			// share the two cores with it.
			b.slurm.waitEmpty(time.Minute)
			b.slurm.settle(10 * time.Second)
		}
		t0 := time.Now()
		_, _, out, err := timedRun(ctx, naiCmd(a.addr, "job", "run", "-detach", file))
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSpace(string(out))
		j := a.waitJob(id, 30*time.Second)
		if j.Status != structs.JobComplete {
			t.Fatalf("job %s: %s", id, j.Status)
		}
		rc, err := c.Logs(ctx, id, api.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil {
			t.Fatalf("job %s printed %q", id, raw)
		}
		naiLat = append(naiLat, time.Unix(0, ns).Sub(t0))
	}
	med := medianDur(naiLat)
	row := benchRow{figure: "CLI invocation -> task's first instruction (median)", target: "<= 25 ms",
		nai:  fmt.Sprintf("%.1f ms (p90 %.1f, n=%d)", ms(med), ms(pctDur(naiLat, 90)), len(naiLat)),
		met:  yesNo(med <= 25*time.Millisecond),
		load: load.String()}
	if b.slurm != nil {
		sm := medianDur(slurmLat)
		row.slurm = fmt.Sprintf("%.0f ms (n=%d)", ms(sm), len(slurmLat))
		row.ratio = ratioText(float64(sm) / float64(med))
	}
	b.rep.add(row)
}

// Drain 1000 /bin/true jobs with 64 able to run at once (nai: 64 fake GPUs,
// one per job; Slurm: 64 CPU slots, one per job), submitted one by one by
// 8 concurrent submitters (nai: API calls; Slurm: sbatch), timed from the
// first submission to the last completion. The agent's data dir is on the
// root file system (benchDataDir), not tmpfs.
func benchDrain(t *testing.T, b *bench) {
	const n, workers = 1000, 8
	load := startLoad()
	var slurmTotal time.Duration
	if b.slurm != nil {
		t0 := time.Now()
		_, _ = callRate(t, n, workers, func() *exec.Cmd {
			return b.slurm.command("sbatch", "-Q", "--parsable", "-n1", "-o", "/dev/null", "--wrap", "/bin/true")
		})
		b.slurm.waitEmpty(10 * time.Minute)
		slurmTotal = time.Since(t0)
		b.slurm.settle(time.Minute)
	}

	a, profile := benchAgent(t, 64)
	c := a.api()
	defer profile("drain", 10*time.Second)()
	var slurmCPU time.Duration
	if b.slurm != nil {
		slurmCPU = b.slurm.daemonsCPU()
	}
	t0 := time.Now()
	registerEach(t, c, n, workers, "true", structs.Task{Command: "/bin/true"})
	submitted := time.Since(t0)
	// Done is asked as Slurm's side asks it (squeue -h -r -o %i: the ids
	// only): how many jobs are still queued, not the jobs themselves.
	// Listing them whole every 20 ms cost the 2 cores ~15 ms each time
	// (486 KB of JSON for 1000 pending jobs, encoded and decoded), work
	// of the harness's, not of nai's.
	waitFor(t, 5*time.Minute, "all 1000 jobs end", func() bool {
		n, err := queuedCount(a.addr)
		return err == nil && n == 0
	})
	total := time.Since(t0)
	if b.slurm != nil {
		slurmCPU = b.slurm.daemonsCPU() - slurmCPU
	}
	if complete := completeCount(t, c); complete != n {
		t.Errorf("%d of %d jobs complete", complete, n)
	}
	row := benchRow{figure: "1000 /bin/true jobs, 64 at once, first submit -> all done", target: ">= 10x Slurm",
		nai: fmt.Sprintf("%.2f s (submitted in %.2f s)", total.Seconds(), submitted.Seconds()), load: load.String()}
	if b.slurm != nil {
		// Slurm's daemons should be idle by now (settle): what they used
		// during nai's run is shown.
		row.nai = fmt.Sprintf("%.2f s (submitted in %.2f s; Slurm's daemons meanwhile %.2f s of CPU)", total.Seconds(), submitted.Seconds(), slurmCPU.Seconds())
	}
	if b.slurm != nil {
		row.slurm = fmt.Sprintf("%.2f s", slurmTotal.Seconds())
		x := slurmTotal.Seconds() / total.Seconds()
		row.ratio = ratioText(x)
		row.met = yesNo(x >= 10)
	}
	b.rep.add(row)
}

// registerEach registers n one-GPU jobs running task, one per API call,
// from workers concurrent submitters.
func registerEach(t *testing.T, c *api.Client, n, workers int, name string, task structs.Task) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				job := &structs.Job{Name: name, Resources: structs.Resources{CPU: 0.01, MemoryBytes: 16 << 20, GPU: structs.GPURequest{Count: 1}},
					Task: task}
				if _, err := c.Register(ctx, job); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// completeCount is how many jobs the servers hold as complete.
func completeCount(t *testing.T, c *api.Client) int {
	t.Helper()
	all, err := c.Jobs(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	complete := 0
	for _, j := range all {
		if j.Status == structs.JobComplete {
			complete++
		}
	}
	return complete
}

// sweepHCL is a sweep of n members that wait an hour before they may start.
func sweepHCL(n int) string {
	return fmt.Sprintf(`job "sweep" {
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

// One 1000-member sweep (nai job run -detach) against one 1000-member
// array (sbatch --array=0-999), wall time of the submitting command: the
// median of sweepRounds, after sweepWarmup rounds that are not counted.
// The servers of a cluster are not fresh processes, and slurmctld has run
// since the bench began, where the agent here has just started: its first
// submissions pay for its heap's first growth (a collection every few
// megabytes) and the raft log's first pages (a 1000-member entry is 83
// KB). In eight fresh starts the first submission took 26-40 ms; from
// the sixth on most took 17-25 ms.
func benchSweep(t *testing.T, b *bench) {
	const sweepWarmup, sweepRounds = 3, 10
	a, _ := benchAgent(t, 4)
	file := writeFile(t, t.TempDir(), "sweep.hcl", sweepHCL(1000))
	ctx := context.Background()
	load := startLoad()
	var naiT, slurmT []time.Duration
	for round := range sweepWarmup + sweepRounds {
		if b.slurm != nil {
			wall, _, _, err := timedRun(ctx, b.slurm.command("sbatch", "-Q", "--parsable", "--array=0-999", "--begin=now+3600", "-n1", "--gres=gpu:1", "-o", "/dev/null", "--wrap", "/bin/true"))
			if err != nil {
				t.Fatal(err)
			}
			if round >= sweepWarmup {
				slurmT = append(slurmT, wall)
			}
		}
		wall, _, out, err := timedRun(ctx, naiCmd(a.addr, "job", "run", "-detach", file))
		if err != nil {
			t.Fatal(err)
		}
		if round >= sweepWarmup {
			naiT = append(naiT, wall)
		}
		// Keep the queue as it was for the next round.
		a.mustNai("job", "cancel", "-yes", strings.TrimSpace(string(out)))
		if b.slurm != nil {
			b.slurm.cancelAll()
		}
	}
	med := medianDur(naiT)
	t.Logf("sweep: nai %v, Slurm %v", naiT, slurmT)
	row := benchRow{figure: fmt.Sprintf("submit one 1000-member sweep / array (median of %d, after %d not counted)", sweepRounds, sweepWarmup), target: "<= 20 ms",
		nai: fmt.Sprintf("%.1f ms", ms(med)), met: yesNo(med <= 20*time.Millisecond), load: load.String()}
	if b.slurm != nil {
		sm := medianDur(slurmT)
		row.slurm = fmt.Sprintf("%.1f ms", ms(sm))
		row.ratio = ratioText(float64(sm) / float64(med))
	}
	b.rep.add(row)
}

// queuedCount is how many jobs are pending or running: the total of a
// one-row page of the queue (GET /v1/queue?limit=1, X-Nai-Total).
func queuedCount(addr string) (int, error) {
	resp, err := http.Get(addr + "/v1/queue?view=row&limit=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /v1/queue: %s", resp.Status)
	}
	return strconv.Atoi(resp.Header.Get(structs.TotalHeader))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// benchDataDir is the agent's data dir: a test temp dir, or one under
// NAI_BENCH_DATA_DIR (for example /dev/shm, to see what the disk costs).
//
// In a TestBench run the data dirs are under one dir of the run's own
// (benchDataParent), removed when the run ends rather than after each
// figure. The root file system here is ext4 without a journal, where
// creating an inode skips, one by one, the inodes of its block group freed
// in the last minutes (recently_deleted in find_inode_bit): a figure
// measured right after another's cleanup (8,000 inodes for the drain) or
// Slurm's (its spool files of 1,000 jobs) paid for those deletions, the
// drain 5.0 s in a clean group against 6.2-7.2 s after them. With a
// journal, as ext4 is almost always set up, the kernel does no such scan.
func benchDataDir(t *testing.T) string {
	parent, keep := os.Getenv("NAI_BENCH_DATA_DIR"), false
	if parent == "" {
		if benchDataParent == "" {
			return t.TempDir()
		}
		parent, keep = benchDataParent, true
	}
	d, err := os.MkdirTemp(parent, "nai-bench-")
	if err != nil {
		t.Fatal(err)
	}
	if !keep {
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	return d
}

// benchDataParent is where benchDataDir makes a TestBench run's data dirs.
var benchDataParent string

// topLevelDir makes a dir directly under / (a temp dir where it cannot),
// removed when t ends. ext4 places each new dir at the top in a block
// group of its own choosing (Orlov), away from /tmp's: nai's files and
// Slurm's do not share the inodes each other freed.
func topLevelDir(t *testing.T, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("/", prefix)
	if err != nil {
		if d, err = os.MkdirTemp("", prefix); err != nil {
			t.Fatal(err)
		}
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
func benchSubmitRateACL(t *testing.T, b *bench) {
	account, _ := unprivileged(t)
	load := startLoad()
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
	b.rep.add(benchRow{figure: "sequential API submissions, ACLs off / on (best of 2)", target: "door below the noise",
		nai: fmt.Sprintf("%.0f / %.0f per second (%+.1f%%)", off, on, 100*(on-off)/off), load: load.String()})
}
