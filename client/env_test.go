package client

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func envAlloc() (*structs.Allocation, *structs.Job) {
	job := &structs.Job{
		ID: "j-42", Name: "digits-mlp", User: "alice", Queue: "default",
		Resources: structs.Resources{CPU: 2, MemoryBytes: 4 << 30, GPU: structs.GPURequest{Count: 2}},
		ArrayID:   "j-40", ArrayIndex: 2, ArraySize: 6,
		SweepValues: map[string]string{"lr": "0.01", "batch-size": "64"},
		Task: structs.Task{Command: "python3", Env: map[string]string{
			"SEED":                 "1",
			"PATH":                 "/opt/venv/bin:/usr/bin",
			"CUDA_DEVICE_ORDER":    "FASTEST_FIRST",
			"CUDA_VISIBLE_DEVICES": "0,1,2,3", // a job must not widen its GPUs
			"NAI_JOB_ID":           "forged",
		}},
	}
	alloc := &structs.Allocation{ID: "j-42.1", JobID: "j-42", Attempt: 1, GPUs: []int{1, 3},
		Resources: structs.Resources{CPU: 1.5, MemoryBytes: 2 << 30}}
	return alloc, job
}

func TestTaskEnvGolden(t *testing.T) {
	alloc, job := envAlloc()
	agentEnv := map[string]string{"HOME": "/home/agent", "LANG": "en_US.UTF-8", "SECRET": "agent-only"}
	env := taskEnv(taskEnvInput{
		Alloc: alloc, Job: job, NodeName: "gpu-1", WorkDir: "/data/allocs/j-42.1/work",
		OutputDir: "/data/allocs/j-42.1/output", MetricsFile: "/data/allocs/j-42.1/metrics.jsonl",
		CheckpointDir: "/data/checkpoints/j-42",
		Getenv:        func(k string) string { return agentEnv[k] },
	})
	got := strings.Join(env, "\n") + "\n"
	golden := filepath.Join("testdata", "env.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("task env (-want +got):\n%s", diff)
	}
}

func TestTaskEnvRules(t *testing.T) {
	alloc, job := envAlloc()
	tests := []struct {
		name   string
		gpus   []int
		getenv map[string]string
		want   map[string]string
	}{
		{name: "no gpus means empty CUDA_VISIBLE_DEVICES", gpus: nil,
			want: map[string]string{"CUDA_VISIBLE_DEVICES": "", "NAI_NUM_GPUS": "0"}},
		{name: "bare agent gets defaults", gpus: []int{0}, getenv: map[string]string{},
			want: map[string]string{"HOME": defaultHome, "LANG": defaultLang, "CUDA_VISIBLE_DEVICES": "0"}},
		{name: "user values win where allowed", gpus: []int{2},
			want: map[string]string{"PATH": "/opt/venv/bin:/usr/bin", "CUDA_DEVICE_ORDER": "FASTEST_FIRST", "NAI_JOB_ID": "j-42", "SEED": "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := *alloc
			a.GPUs = tc.gpus
			env := taskEnv(taskEnvInput{Alloc: &a, Job: job, Getenv: func(k string) string { return tc.getenv[k] }})
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			for k, want := range tc.want {
				if v, ok := got[k]; !ok || v != want {
					t.Errorf("%s = %q (set %v), want %q", k, v, ok, want)
				}
			}
		})
	}
}
