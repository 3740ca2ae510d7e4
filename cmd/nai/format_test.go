package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the fixed "current time" of every formatting test.
var now = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

func intp(i int) *int { return &i }

// testJob builds a job with the usual fields; opts adjust it.
func testJob(id, name string, status structs.JobStatus, opts ...func(*structs.Job)) *structs.Job {
	j := &structs.Job{
		ID: id, Name: name, User: "alice", Queue: "default", Priority: 50, Status: status,
		Resources:  structs.Resources{CPU: 2, MemoryBytes: 4 << 30, Nodes: 1, GPU: structs.GPURequest{Count: 2}},
		Task:       structs.Task{Command: "python3", Args: []string{"train.py"}},
		SubmitTime: ago(10 * time.Minute),
	}
	for _, o := range opts {
		o(j)
	}
	return j
}

func running(node string, start time.Duration, gpus ...int) func(*structs.Job) {
	return func(j *structs.Job) {
		j.NodeID, j.NodeName, j.GPUs, j.StartTime = "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f", node, gpus, ago(start)
		j.AllocID = j.ID + ".1"
		j.Attempt = 1
	}
}

func ended(start, end time.Duration, code *int, reason structs.ExitReason) func(*structs.Job) {
	return func(j *structs.Job) {
		running("dev", start, 0, 1)(j)
		j.EndTime, j.ExitCode, j.ExitReason = ago(end), code, reason
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestFormatQueue(t *testing.T) {
	sweep := func(i int, reason string) *structs.Job {
		return testJob("9_"+string(rune('0'+i)), "lr-sweep", structs.JobPending, func(j *structs.Job) {
			j.User, j.ArrayID, j.ArrayIndex, j.Reason = "bob", "9", i, reason
			j.Resources.GPU.Count = 1
		})
	}
	tests := []struct {
		name string
		jobs []*structs.Job
	}{
		{"queue_empty", nil},
		{"queue_mixed", []*structs.Job{
			testJob("12", "digits-mlp", structs.JobRunning, running("dev", 75*time.Second, 0, 1)),
			testJob("13", "long-run", structs.JobRunning, running("gpu-02", 49*time.Hour+3*time.Minute+4*time.Second, 0, 1, 2, 3)),
			testJob("14", "starting", structs.JobRunning, func(j *structs.Job) { j.NodeName = "dev" }),
			testJob("15", "big", structs.JobPending, func(j *structs.Job) {
				j.Resources.GPU.Count = 8
				j.Reason = "NoNodeFits: needs 8 GPUs, largest node has 4"
			}),
			testJob("16", "next", structs.JobPending, func(j *structs.Job) {
				j.Reason = "Resources: 2 GPUs needed, 0 free"
				j.EstimatedStart = now.Add(25 * time.Minute)
				j.SubmitTime = ago(3*time.Hour + 2*time.Second)
			}),
			sweep(2, "ArrayLimit"), sweep(3, "ArrayLimit"), sweep(4, "ArrayLimit"), sweep(6, "ArrayLimit"),
			sweep(7, "Priority"),
			testJob("17", "gang", structs.JobPending, func(j *structs.Job) {
				j.Resources.Nodes, j.Resources.GPU.Count, j.User = 2, 4, ""
				j.EstimatedStart = now.Add(26 * time.Hour)
			}),
			testJob("10", "done", structs.JobComplete, ended(20*time.Minute, 15*time.Minute, intp(0), structs.ExitExited)),
			testJob("11", "oom", structs.JobFailed, ended(9*time.Minute, 8*time.Minute, intp(137), structs.ExitOOMKilled)),
			testJob("8", "never-ran", structs.JobCancelled, func(j *structs.Job) { j.ExitReason = structs.ExitCancelled }),
			testJob("7", "child", structs.JobCancelled, func(j *structs.Job) { j.Reason = "DependencyNeverSatisfied" }),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := jobtext.QueueTable(&b, tc.jobs, now); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

func TestFormatJobStatus(t *testing.T) {
	step3 := 3.0
	tests := []struct {
		name    string
		job     *structs.Job
		allocs  []*structs.Allocation
		checked *structs.JobMetrics
	}{
		{"job_status_pending", testJob("16", "next", structs.JobPending, func(j *structs.Job) {
			j.Reason = "Resources: 2 GPUs needed, 0 free"
			j.EstimatedStart = now.Add(25 * time.Minute)
			j.TimeLimit = structs.Duration(30 * time.Minute)
			j.Resources.GPU.Model, j.Resources.GPU.MemoryBytes = "H100", 40<<30
		}), nil, nil},
		{"job_status_running", testJob("12", "digits-mlp", structs.JobRunning, running("dev", 75*time.Second, 0, 1), func(j *structs.Job) {
			j.Metrics = map[string]float64{"step": 40, "loss": 0.3125, "accuracy": 0.91}
		}), []*structs.Allocation{{
			ID: "12.1", JobID: "12", NodeName: "dev", GPUs: []int{0, 1}, Attempt: 1,
			ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: ago(75 * time.Second),
				Usage: &structs.ResourceUsage{CPUSeconds: 80, MaxMemoryBytes: 1536 << 20},
				GPUUsage: []structs.GPUUsage{
					{Index: 0, UtilizationPercent: 87, MemoryUsedBytes: 30 << 30, MeanUtilization: 80.25, PeakMemoryBytes: 31 << 30},
					{Index: 1, UtilizationPercent: 64, MemoryUsedBytes: 29 << 30, MeanUtilization: 71, PeakMemoryBytes: 30 << 30},
				}},
		}}, nil},
		{"job_status_failed_retried", testJob("11", "flaky", structs.JobFailed, ended(9*time.Minute, 8*time.Minute, intp(3), structs.ExitExited), func(j *structs.Job) {
			j.Attempt, j.AllocID = 2, "11.2"
			j.OutputDigest, j.OutputSize = "sha256:0123456789abcdef0123456789abcdef", 3<<20
			j.ArrayID, j.ArrayIndex, j.SweepValues = "9", 3, map[string]string{"lr": "0.01", "batch": "64"}
		}), []*structs.Allocation{
			{ID: "11.1", NodeID: "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f", GPUs: []int{2, 3}, Attempt: 1,
				ClientStatus: structs.ClientStatusFields{Status: structs.AllocLost, ExitReason: structs.ExitNodeLost,
					StartTime: ago(9*time.Minute + 30*time.Second), EndTime: ago(9*time.Minute + 10*time.Second)}},
			{ID: "11.2", NodeName: "dev", GPUs: []int{0, 1}, Attempt: 2,
				ClientStatus: structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: intp(3), ExitReason: structs.ExitExited,
					StartTime: ago(9 * time.Minute), EndTime: ago(8 * time.Minute)}},
		}, nil},
		{"job_status_no_outputs_kept", testJob("13", "keep-model", structs.JobComplete, ended(5*time.Minute, 4*time.Minute, intp(0), structs.ExitExited), func(j *structs.Job) {
			j.Output = &structs.OutputSpec{Model: "keep-model", Keep: []string{"*.pt"}}
		}), []*structs.Allocation{{
			ID: "13.1", NodeName: "dev", Attempt: 1,
			ClientStatus: structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: intp(0), ExitReason: structs.ExitExited,
				StartTime: ago(5 * time.Minute), EndTime: ago(4 * time.Minute),
				Message: `output { keep = ["*.pt"] } matched none of the 2 files in NAI_OUTPUT_DIR, so no outputs were kept`},
		}}, nil},
		{"job_status_diverged", testJob("14", "diverged", structs.JobComplete, ended(5*time.Minute, 4*time.Minute, intp(0), structs.ExitExited), func(j *structs.Job) {
			j.Metrics = map[string]float64{"step": 4, "loss": 0.5, "lr": 0.1} // loss: the last finite value
		}), nil, &structs.JobMetrics{JobID: "14", Metrics: map[string]float64{"step": 4, "loss": 0.5, "lr": 0.1},
			NonFinite:    map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", Line: 3, Step: &step3}, "grad_norm": {Value: "Infinity", Line: 5}},
			SkippedLines: 2}},
		// A job on two nodes: the job's outputs are rank 0's, and the
		// table says which ranks kept outputs.
		{"job_status_gang", testJob("16", "ddp", structs.JobComplete, ended(5*time.Minute, 4*time.Minute, intp(0), structs.ExitExited), func(j *structs.Job) {
			j.Resources.Nodes = 2
			j.OutputDigest, j.OutputSize = "sha256:0123456789abcdef0123456789abcdef", 3<<20
		}), []*structs.Allocation{
			{ID: "16.1.0", NodeName: "gpu-a", GPUs: []int{0, 1}, Attempt: 1,
				ClientStatus: structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: intp(0), ExitReason: structs.ExitExited,
					StartTime: ago(5 * time.Minute), EndTime: ago(4 * time.Minute), OutputDigest: "sha256:0123456789abcdef0123456789abcdef", OutputSize: 3 << 20}},
			{ID: "16.1.1", NodeName: "gpu-b", GPUs: []int{0, 1}, Attempt: 1, Rank: 1,
				ClientStatus: structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: intp(0), ExitReason: structs.ExitExited,
					StartTime: ago(5 * time.Minute), EndTime: ago(4 * time.Minute), OutputDigest: "sha256:fedcba9876543210fedcba9876543210", OutputSize: 1 << 20}},
		}, nil},
		// Kept by the servers (raft log format 7): the loss is NaN
		// without the history read.
		{"job_status_diverged_kept", testJob("15", "diverged", structs.JobComplete, ended(5*time.Minute, 4*time.Minute, intp(0), structs.ExitExited), func(j *structs.Job) {
			j.Metrics = map[string]float64{"step": 4, "lr": 0.1}
			j.NonFiniteMetrics = map[string]structs.NonFiniteMetric{"loss": {Value: "Infinity", First: "NaN", Line: 3, Step: &step3}}
		}), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := formatJobStatus(&b, tc.job, tc.allocs, tc.checked, now); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

func testNode() *structs.Node {
	gpu := func(i int) structs.GPU {
		return structs.GPU{Index: i, UUID: "GPU-0000000" + string(rune('0'+i)), Model: "NVIDIA H100 80GB HBM3", MemoryBytes: 80 << 30, Healthy: true}
	}
	n := &structs.Node{
		ID: "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f", Name: "dev", HTTPAddr: "127.0.0.1:4646", Status: structs.NodeReady,
		Eligible: true, CPU: 15.5, MemoryBytes: 120 << 30, Driver: "550.54.15", CUDAVersion: "12.4",
		GPUs:         []structs.GPU{gpu(0), gpu(1), gpu(2), gpu(3)},
		Attributes:   map[string]string{"os": "linux", "arch": "amd64", "nai_version": "1.2.0"},
		RegisterTime: ago(2 * time.Hour), StatusTime: ago(2 * time.Hour),
	}
	n.GPUs[0].JobID, n.GPUs[1].JobID = "12", "12"
	n.GPUs[0].AllocID, n.GPUs[1].AllocID = "12.1", "12.1"
	n.GPUs[0].UtilizationPercent, n.GPUs[0].MemoryUsedBytes = 87, 30<<30
	n.GPUs[1].UtilizationPercent, n.GPUs[1].MemoryUsedBytes = 64, 29<<30
	n.GPUs[0].NVLinkPeers, n.GPUs[1].NVLinkPeers = []int{1}, []int{0}
	n.GPUs[3].Healthy, n.GPUs[3].Unhealthy = false, "xid 79"
	return n
}

func TestFormatNodes(t *testing.T) {
	t.Run("node_status", func(t *testing.T) {
		var b bytes.Buffer
		if err := formatNodeStatus(&b, testNode(), now); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "node_status", b.Bytes())
	})
	t.Run("node_status_no_gpus", func(t *testing.T) {
		n := &structs.Node{ID: "cpu1", Name: "cpu-only", Status: structs.NodeDown, Drain: true, CPU: 4, MemoryBytes: 8 << 30}
		var b bytes.Buffer
		if err := formatNodeStatus(&b, n, now); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "node_status_no_gpus", b.Bytes())
	})
	t.Run("node_list", func(t *testing.T) {
		other := &structs.Node{ID: "a1b2c3d4e5f6", Name: "gpu-02", Status: structs.NodeDown, CPU: 64, MemoryBytes: 512 << 30,
			GPUs: []structs.GPU{{Index: 0, Healthy: true}, {Index: 1, Healthy: true}}}
		var b bytes.Buffer
		ineligible := &structs.Node{ID: "b2c3d4e5f6a1", Name: "gpu-03", Status: structs.NodeReady, CPU: 64, MemoryBytes: 512 << 30,
			GPUs: []structs.GPU{{Index: 0, Healthy: true}}}
		if err := formatNodeList(&b, []*structs.Node{testNode(), other, ineligible}); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "node_list", b.Bytes())
	})
}

func TestFormatMetrics(t *testing.T) {
	var b bytes.Buffer
	m := map[string]float64{"step": 500, "loss": 0.03125, "val_accuracy": 0.9875, "lr": 1e-4, "epoch": 5}
	if err := formatMetrics(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "metrics", b.Bytes())
}

func TestMetricNotes(t *testing.T) {
	step := 12.5
	for _, tc := range []struct {
		name string
		m    *structs.JobMetrics
		want []string
	}{
		{"none", &structs.JobMetrics{Metrics: map[string]float64{"loss": 1}}, nil},
		{"nil", nil, nil},
		{"one skipped line", &structs.JobMetrics{SkippedLines: 1}, []string{"1 line of NAI_METRICS_FILE was not JSON and was skipped"}},
		{"diverged at a fractional step", &structs.JobMetrics{NonFinite: map[string]structs.NonFiniteMetric{"loss": {Value: "-Infinity", Line: 9, Step: &step}}},
			[]string{"loss became -Infinity at step 12.5 (line 9 of NAI_METRICS_FILE)"}},
		{"a metric name the job wrote is printed safely", &structs.JobMetrics{NonFinite: map[string]structs.NonFiniteMetric{"a\nb\x1b[2J": {Value: "NaN", Line: 1}}},
			[]string{`a\nb\x1b[2J became NaN at line 1 of NAI_METRICS_FILE`}},
		{"NaN first, Infinity now: where it diverged", &structs.JobMetrics{NonFinite: map[string]structs.NonFiniteMetric{"loss": {Value: "Infinity", First: "NaN", Line: 2, Step: &step}}},
			[]string{"loss became NaN at step 12.5 (line 2 of NAI_METRICS_FILE); it is Infinity now"}},
	} {
		if got := metricNotes(tc.m); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// -all prints each value of a metrics line as the job wrote it: nested
// values as JSON, not Go's map syntax, and text made printable.
func TestHistoryValue(t *testing.T) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(`{"loss": 0.25, "nested": {"a": 1}, "tags": ["x", "y"], "phase": "train\n", "ok": true, "none": null, "step": 1000000}`), &obj); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"loss": "0.25", "nested": `{"a":1}`, "tags": `["x","y"]`, "phase": `train\n`, "ok": "true", "none": "null", "step": "1000000",
	} {
		if got := historyValue(obj[k]); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}
