package sim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
