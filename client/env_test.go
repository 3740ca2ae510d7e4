package client

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/client/executor"
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

// A task of another account than the agent's gets the system's PATH, not
// the agent's (root's ~/go/bin, pyenv shims); the agent's own account's
// tasks keep it, and task.env wins over both.
func TestTaskEnvPath(t *testing.T) {
	const agentPath = "/root/go/bin:/root/.pyenv/shims:/usr/bin"
	alice := &executor.User{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice"}
	root := &executor.User{Name: "root", UID: 0, GID: 0, Home: "/root"}
	tests := []struct {
		name     string
		user     *executor.User
		agentUID uint32
		jobPath  string
		want     string
	}{
		{name: "root agent, task as alice", user: alice, want: defaultPath},
		{name: "root agent, task as alice, job sets PATH", user: alice, jobPath: "/opt/venv/bin:/usr/bin", want: "/opt/venv/bin:/usr/bin"},
		{name: "root agent, task as root (the agent's account)", user: nil, want: agentPath},
		{name: "root agent, task.user root", user: root, want: agentPath},
		{name: "agent run by alice, task as alice", user: alice, agentUID: 1000, want: agentPath},
		{name: "agent run by alice, task as herself (no user)", user: nil, agentUID: 1000, want: agentPath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alloc, job := envAlloc()
			j := *job
			j.Task.Env = map[string]string{}
			if tc.jobPath != "" {
				j.Task.Env["PATH"] = tc.jobPath
			}
			env := taskEnv(taskEnvInput{Alloc: alloc, Job: &j, User: tc.user, AgentUID: tc.agentUID,
				Getenv: func(k string) string { return map[string]string{"PATH": agentPath}[k] }})
			got := ""
			for _, kv := range env {
				if v, ok := strings.CutPrefix(kv, "PATH="); ok {
					got = v
				}
			}
			if got != tc.want {
				t.Errorf("PATH = %q, want %q", got, tc.want)
			}
		})
	}
}

// A task of another account than the agent's gets that account's HOME, or
// its own work dir when the account has none (or one that does not exist:
// existingDir): never the agent's.
func TestTaskEnvHome(t *testing.T) {
	for _, tc := range []struct {
		name     string
		user     *executor.User
		agentUID uint32
		want     string
	}{
		{"task as alice", &executor.User{Name: "alice", UID: 1000, Home: "/home/alice"}, 0, "/home/alice"},
		{"task as an account without a home", &executor.User{Name: "svc", UID: 999}, 0, "/work/dir"},
		{"task as the agent's own account", nil, 0, "/root"},
		{"agent run by alice, task as herself without a home entry", &executor.User{Name: "alice", UID: 1000}, 1000, "/root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alloc, job := envAlloc()
			env := taskEnv(taskEnvInput{Alloc: alloc, Job: job, User: tc.user, AgentUID: tc.agentUID, WorkDir: "/work/dir",
				Getenv: func(k string) string { return map[string]string{"HOME": "/root"}[k] }})
			got := ""
			for _, kv := range env {
				if v, ok := strings.CutPrefix(kv, "HOME="); ok {
					got = v
				}
			}
			if got != tc.want {
				t.Errorf("HOME = %q, want %q", got, tc.want)
			}
		})
	}
}

// The thread pools of OpenMP, MKL and OpenBLAS are sized to the job's CPU
// limit (a quota: the libraries see every core of the host), per process
// of the task, unless the job sets them.
func TestTaskEnvThreads(t *testing.T) {
	tests := []struct {
		name   string
		cpu    float64
		nproc  int
		jobEnv map[string]string
		want   map[string]string // "" : unset
	}{
		{name: "a quarter of a core", cpu: 0.25, want: map[string]string{"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "SLURM_CPUS_PER_TASK": "1"}},
		{name: "two cores", cpu: 2, want: map[string]string{"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "SLURM_CPUS_PER_TASK": "2"}},
		{name: "2.5 cores round down", cpu: 2.5, want: map[string]string{"OMP_NUM_THREADS": "2", "SLURM_CPUS_PER_TASK": "2"}},
		{name: "eight cores over four processes", cpu: 8, nproc: 4, want: map[string]string{"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "SLURM_CPUS_PER_TASK": "2"}},
		{name: "the job's own value wins", cpu: 4, jobEnv: map[string]string{"OMP_NUM_THREADS": "16"},
			want: map[string]string{"OMP_NUM_THREADS": "16", "MKL_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "4"}},
		{name: "no CPU limit, no thread limit", cpu: 0, want: map[string]string{"OMP_NUM_THREADS": "", "MKL_NUM_THREADS": "", "OPENBLAS_NUM_THREADS": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alloc, job := envAlloc()
			a, j := *alloc, *job
			a.Resources = structs.Resources{CPU: tc.cpu, MemoryBytes: 1 << 30}
			j.Resources = a.Resources
			j.Task.Env = tc.jobEnv
			j.Task.NProcPerNode = tc.nproc
			env := taskEnv(taskEnvInput{Alloc: &a, Job: &j, Getenv: func(string) string { return "" }})
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			for k, want := range tc.want {
				v, ok := got[k]
				if want == "" && ok {
					t.Errorf("%s = %q, want it unset", k, v)
				} else if want != "" && v != want {
					t.Errorf("%s = %q (set %v), want %q", k, v, ok, want)
				}
			}
		})
	}
}

func TestExistingDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{dir: dir, "": "", "/nonexistent": "", file: "", filepath.Join(dir, "none"): ""} {
		if got := existingDir(in); got != want {
			t.Errorf("existingDir(%q) = %q, want %q", in, got, want)
		}
	}
}
