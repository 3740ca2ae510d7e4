package sim

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func readTrace(t *testing.T, path string, opt TraceOptions) []TraceJob {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	jobs, err := ReadTrace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// The tiny trace on one 4-GPU node, worked out by hand:
//
//	j1 t=0  2 GPUs 100 s (limit 200)   j2 t=10 4 GPUs 100 s (limit 200)
//	j3 t=20 2 GPUs  50 s (limit 100)   j4 t=30 2 GPUs 300 s (limit 600)
//	j5 t=40 8 GPUs: a gang of 2 nodes, but there is 1: unschedulable.
//
// fifo: j1 0-100, j2 100-200, j3 200-250, j4 200-500; waits 0 90 180 170.
// backfill: j2 reserves the node from t=200 (j1's limit); j3 ends by then
// (20+100 <= 200) and starts at once, 20-70; j4 would not, and waits for
// j2: 200-500. Waits 0 90 0 170.
func TestTinyTraceKnownAnswers(t *testing.T) {
	jobs := readTrace(t, "testdata/tiny.csv", TraceOptions{})
	cases := []struct {
		policy string
		want   Result
	}{
		{"fifo", Result{Policy: "fifo", Nodes: 1, GPUsPerNode: 4, Jobs: 5, AvgWait: 110, P50Wait: 90, P99Wait: 180,
			AvgJCT: 247.5, AvgBoundedSlowdown: round((1 + 1.9 + 4.6 + 470.0/300) / 4), Makespan: 500,
			GPUUtilization: 0.65, Unschedulable: 1}},
		{"backfill", Result{Policy: "backfill", Nodes: 1, GPUsPerNode: 4, Jobs: 5, AvgWait: 65, P50Wait: 0, P99Wait: 170,
			AvgJCT: 202.5, AvgBoundedSlowdown: round((1 + 1.9 + 1 + 470.0/300) / 4), Makespan: 500,
			GPUUtilization: 0.65, Unschedulable: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			got, err := Run(jobs, Options{Nodes: 1, GPUsPerNode: 4, Policy: tc.policy})
			if err != nil {
				t.Fatal(err)
			}
			got.Passes = 0
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// The report of every policy on the tiny trace is kept as golden text.
func TestTinyTraceGolden(t *testing.T) {
	jobs := readTrace(t, "testdata/tiny.csv", TraceOptions{})
	var buf bytes.Buffer
	for _, p := range Policies {
		res, err := Run(jobs, Options{Nodes: 1, GPUsPerNode: 4, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		WriteText(&buf, res)
		buf.WriteString("\n")
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteString("\n\n")
	}
	golden := filepath.Join("testdata", "tiny.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./sim -run Golden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// On a 2,000-job prefix of the Philly trace, on a pool small enough to
// queue, backfill beats fifo on average wait and GPU utilisation.
func TestPhillyPrefixBackfillBeatsFIFO(t *testing.T) {
	jobs := readTrace(t, "testdata/philly_prefix2000.csv", TraceOptions{})
	if len(jobs) != 2000 {
		t.Fatalf("read %d jobs, want 2000", len(jobs))
	}
	res := map[string]*Result{}
	for _, p := range []string{"fifo", "backfill"} {
		r, err := Run(jobs, Options{Nodes: 8, GPUsPerNode: 8, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		res[p] = r
		t.Logf("%s: %+v", p, *r)
	}
	f, b := res["fifo"], res["backfill"]
	if !(b.AvgWait < f.AvgWait) {
		t.Errorf("backfill avg wait %v is not below fifo's %v", b.AvgWait, f.AvgWait)
	}
	if !(b.GPUUtilization > f.GPUUtilization) {
		t.Errorf("backfill utilisation %v is not above fifo's %v", b.GPUUtilization, f.GPUUtilization)
	}
	if f.Unschedulable != b.Unschedulable {
		t.Errorf("unschedulable differs: fifo %d, backfill %d", f.Unschedulable, b.Unschedulable)
	}
}

func TestReadTraceErrors(t *testing.T) {
	cases := []struct {
		name, csv, want string
		opt             TraceOptions
	}{
		{"empty", "", "empty file", TraceOptions{}},
		{"missing column", "job_id,submit_time_s,num_gpus\n1,0,1\n", `header lacks column "duration_s"`, TraceOptions{}},
		{"bad number", "job_id,submit_time_s,num_gpus,duration_s\n1,zero,1,5\n", `line 2: submit_time_s: "zero" is not a number`, TraceOptions{}},
		{"negative duration", "job_id,submit_time_s,num_gpus,duration_s\n1,0,1,-5\n", `line 2: duration_s: "-5" is negative`, TraceOptions{}},
		{"bad gpus", "job_id,submit_time_s,num_gpus,duration_s\n1,0,1.5,5\n", `line 2: num_gpus "1.5"`, TraceOptions{}},
		{"duplicate id", "job_id,submit_time_s,num_gpus,duration_s\n1,0,1,5\n1,3,1,5\n", `line 3: job_id "1" appears twice`, TraceOptions{}},
		{"bad limit factor", "job_id,submit_time_s,num_gpus,duration_s\n", "limit factor 0.5 is invalid", TraceOptions{LimitFactor: 0.5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(tc.csv), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTraceColumns(t *testing.T) {
	in := "duration_s,user,job_id,num_gpus,submit_time_s,time_limit_s,status\n" +
		"100,u1,b,2,50,,x\n" +
		"10,u2,a,1,5,30,y\n"
	jobs, err := ReadTrace(strings.NewReader(in), TraceOptions{LimitFactor: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceJob{
		{ID: "a", Submit: 5, GPUs: 1, Duration: 10, Limit: 30, User: "u2"},
		{ID: "b", Submit: 50, GPUs: 2, Duration: 100, Limit: 300, User: "u1"},
	}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	jobs, err = ReadTrace(strings.NewReader(in), TraceOptions{MaxJobs: 1})
	if err != nil || len(jobs) != 1 || jobs[0].ID != "b" {
		t.Errorf("max jobs 1: %v %v", jobs, err)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	for _, opt := range []Options{{Nodes: 0, GPUsPerNode: 8, Policy: "fifo"}, {Nodes: 1, GPUsPerNode: 0, Policy: "fifo"},
		{Nodes: 1, GPUsPerNode: 8, Policy: "lifo"}} {
		if _, err := Run(nil, opt); err == nil {
			t.Errorf("Run(%+v) accepted bad options", opt)
		}
	}
}

// A job bigger than a node runs as a gang over several nodes, and a job
// with a time limit shorter than its duration is stopped at its limit.
func TestGangAndTimeLimit(t *testing.T) {
	in := "job_id,submit_time_s,num_gpus,duration_s,time_limit_s\n" +
		"big,0,12,100,\n" + // 2 nodes x 6 GPUs: uses 12 of 16
		"cut,0,4,1000,50\n" // 4 GPUs, stopped at 50 s
	jobs, err := ReadTrace(strings.NewReader(in), TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(jobs, Options{Nodes: 2, GPUsPerNode: 8, Policy: "fifo"})
	if err != nil {
		t.Fatal(err)
	}
	// big starts at 0 on 6 GPUs of each node. cut needs 4 GPUs on one node
	// and each has 2 left, so it waits for big to end at 100 and runs
	// 100-150 (its limit, not its 1000 s duration).
	want := Result{Policy: "fifo", Nodes: 2, GPUsPerNode: 8, Jobs: 2, AvgWait: 50, P50Wait: 0, P99Wait: 100,
		AvgJCT: 125, AvgBoundedSlowdown: 2, Makespan: 150, GPUUtilization: round((12*100 + 4*50) / (16 * 150.0)), Passes: 2}
	if diff := cmp.Diff(want, *res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

// The example trace in examples/sim stays readable and gives the figures
// its README shows.
func TestExampleTrace(t *testing.T) {
	jobs := readTrace(t, filepath.Join("..", "examples", "sim", "tiny.csv"), TraceOptions{})
	res, err := Run(jobs, Options{Nodes: 1, GPUsPerNode: 4, Policy: "backfill"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	WriteText(&buf, res)
	readme, err := os.ReadFile(filepath.Join("..", "examples", "sim", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), buf.String()) {
		t.Errorf("examples/sim/README.md does not show the current report:\n%s", buf.String())
	}
}

func TestNoisyLimits(t *testing.T) {
	var jobs []TraceJob
	for _, d := range []float64{0, 1, 59, 600, 899, 900, 3600, 86400, 2.75e6} {
		for k := 0; k < 50; k++ {
			jobs = append(jobs, TraceJob{ID: fmt.Sprint(len(jobs)), Duration: d, Limit: 7})
		}
	}
	a, b, c := slices.Clone(jobs), slices.Clone(jobs), slices.Clone(jobs)
	NoisyLimits(a, 1)
	NoisyLimits(b, 1)
	NoisyLimits(c, 2)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different limits")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 1 and 2 gave the same limits")
	}
	lowest, highest := math.Inf(1), 0.0 // of limit/duration over long jobs
	for _, j := range a {
		if j.Limit < LimitQuantum || math.Mod(j.Limit, LimitQuantum) != 0 {
			t.Fatalf("duration %v: limit %v is not a whole number of quarter hours", j.Duration, j.Limit)
		}
		if j.Limit < j.Duration || j.Limit >= max(5*j.Duration, 1)+LimitQuantum {
			t.Fatalf("duration %v: limit %v outside [duration, 5 x duration rounded up]", j.Duration, j.Limit)
		}
		if j.Duration >= 86400 {
			lowest, highest = min(lowest, j.Limit/j.Duration), max(highest, j.Limit/j.Duration)
		}
	}
	if lowest > 1.3 || highest < 4.5 {
		t.Errorf("limit/duration of long jobs spans %.2f-%.2f; want about 1-5", lowest, highest)
	}
}

func TestTraceOptionsNoiseAndSingleUser(t *testing.T) {
	in := "job_id,submit_time_s,num_gpus,duration_s,user,time_limit_s\n" +
		"a,0,1,100,u1,5000\n" + "b,1,1,4000,u2,\n"
	jobs, err := ReadTrace(strings.NewReader(in), TraceOptions{NoisyLimits: true, NoiseSeed: 3, SingleUser: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceJob{{ID: "a", Submit: 0, GPUs: 1, Duration: 100, User: SingleUserName}, {ID: "b", Submit: 1, GPUs: 1, Duration: 4000, User: SingleUserName}}
	NoisyLimits(want, 3)
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if jobs[0].Limit == 5000 {
		t.Error("noisy limits kept the trace's own limit")
	}
}

// The oracle plans with true run times, whatever limits the trace gives:
// on one GPU, a (0 s, runs 100 s), b (1 s, 1000 s, limit 1100 s) and c (2 s,
// 10 s, but a limit of 5000 s). The default policy trusts the limits and
// runs b before c; the oracle runs c first.
func TestOracleKnowsTrueRunTimes(t *testing.T) {
	in := "job_id,submit_time_s,num_gpus,duration_s,time_limit_s\n" +
		"a,0,1,100,200\n" + "b,1,1,1000,1100\n" + "c,2,1,10,5000\n"
	jobs, err := ReadTrace(strings.NewReader(in), TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		policy string
		jct    float64 // a 100; then b and c one way or the other
	}{
		{DefaultPolicy, (100 + (1100 - 1) + (1110 - 2)) / 3.0},
		{OraclePolicy, (100 + (110 - 2) + (1110 - 1)) / 3.0},
	}
	for _, tc := range cases {
		r, err := Run(jobs, Options{Nodes: 1, GPUsPerNode: 1, Policy: tc.policy})
		if err != nil {
			t.Fatal(err)
		}
		if r.AvgJCT != round(tc.jct) {
			t.Errorf("%s: avg JCT %v, want %v", tc.policy, r.AvgJCT, round(tc.jct))
		}
	}
}

// Warm-up jobs run but are not measured; a comparison divides by the
// oracle's and EASY's figures from the same replay.
func TestWarmupAndCompare(t *testing.T) {
	jobs := readTrace(t, "testdata/tiny.csv", TraceOptions{})
	all, err := Run(jobs, Options{Nodes: 1, GPUsPerNode: 4, Policy: "backfill"})
	if err != nil {
		t.Fatal(err)
	}
	// backfill: waits 0 90 0 170 (see TestTinyTraceKnownAnswers); without
	// j1 and j2, j3 waits 0 and j4 170; j5 never fits.
	got, err := Run(jobs, Options{Nodes: 1, GPUsPerNode: 4, Policy: "backfill", WarmupJobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := *all
	want.WarmupJobs = 2
	want.AvgWait, want.P50Wait, want.P99Wait = 85, 0, 170
	want.AvgJCT = (50 + 470) / 2.0
	want.AvgBoundedSlowdown = round((1 + 470.0/300) / 2)
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("with warm-up (-want +got):\n%s", diff)
	}
	for _, w := range []int{-1, 5, 6} {
		if _, err := Run(jobs, Options{Nodes: 1, GPUsPerNode: 4, WarmupJobs: w}); err == nil {
			t.Errorf("warm-up of %d jobs of 5 accepted", w)
		}
	}

	c, err := Compare(jobs, Options{Nodes: 1, GPUsPerNode: 4, Policy: "fifo"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.Policy != "fifo" || c.Oracle.Policy != OraclePolicy || c.EASY.Policy != EASYPolicy {
		t.Fatalf("compared %s with %s and %s", c.Policy.Policy, c.Oracle.Policy, c.EASY.Policy)
	}
	if c.JCTVsOracle != round(c.Policy.AvgJCT/c.Oracle.AvgJCT) || c.P99WaitVsEASY != round(c.Policy.P99Wait/c.EASY.P99Wait) {
		t.Errorf("ratios %v %v from %+v", c.JCTVsOracle, c.P99WaitVsEASY, c)
	}
	if c.JCTVsOracle <= 1 {
		t.Errorf("fifo's avg JCT %v is not above the oracle's %v on the tiny trace", c.Policy.AvgJCT, c.Oracle.AvgJCT)
	}
}

// Without a policy a replay uses the live default; Options.Config replays
// any configuration under the policy's name.
func TestDefaultPolicyAndConfig(t *testing.T) {
	jobs := readTrace(t, "testdata/philly_prefix2000.csv", TraceOptions{})
	unnamed, err := Run(jobs, Options{Nodes: 8, GPUsPerNode: 8})
	if err != nil {
		t.Fatal(err)
	}
	named, err := Run(jobs, Options{Nodes: 8, GPUsPerNode: 8, Policy: DefaultPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(named, unnamed); diff != "" {
		t.Errorf("no policy vs %s (-named +unnamed):\n%s", DefaultPolicy, diff)
	}
	live := scheduler.DefaultConfig()
	viaConfig, err := Run(jobs, Options{Nodes: 8, GPUsPerNode: 8, Policy: DefaultPolicy, Config: &live})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(named, viaConfig); diff != "" {
		t.Errorf("%s vs scheduler.DefaultConfig() (-policy +config):\n%s", DefaultPolicy, diff)
	}
	fifo := scheduler.Config{Weights: structs.PriorityWeights{Age: 1}}
	viaFIFO, err := Run(jobs, Options{Nodes: 8, GPUsPerNode: 8, Policy: "mine", Config: &fifo})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Run(jobs, Options{Nodes: 8, GPUsPerNode: 8, Policy: "fifo"})
	if err != nil {
		t.Fatal(err)
	}
	want.Policy = "mine"
	if diff := cmp.Diff(want, viaFIFO); diff != "" {
		t.Errorf("a FIFO Config vs fifo (-fifo +config):\n%s", diff)
	}
}
