package client

import (
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// The SLURM_* and PET_* variables a job sees, for the shapes of job a
// migrated script can have.
func TestTaskEnvSlurm(t *testing.T) {
	plain := func() (*structs.Allocation, *structs.Job) {
		job := &structs.Job{ID: "7", Name: "train", User: "bob", Queue: "gpu",
			Resources: structs.Resources{CPU: 8, MemoryBytes: 16 << 30, Nodes: 1, GPU: structs.GPURequest{Count: 2}},
			Task:      structs.Task{Script: "#!/bin/bash\ntrue\n", Env: map[string]string{"SLURM_JOB_ID": "forged", "MY_VAR": "1"}}}
		alloc := &structs.Allocation{ID: "7.1", JobID: "7", GPUs: []int{0, 1}, Resources: job.Resources}
		return alloc, job
	}
	tests := []struct {
		name   string
		change func(*structs.Allocation, *structs.Job)
		want   map[string]string // "" means: must not be set
	}{
		{name: "plain job", change: func(*structs.Allocation, *structs.Job) {},
			want: map[string]string{
				"SLURM_JOB_ID": "7", "SLURM_JOB_NAME": "train", "SLURM_NNODES": "1", "SLURM_NODEID": "0", "SLURM_PROCID": "0",
				"SLURM_NTASKS": "1", "SLURM_JOB_NODELIST": "node-a", "SLURM_CPUS_PER_TASK": "8", "SLURM_GPUS_ON_NODE": "2",
				"SLURM_SUBMIT_DIR": "/allocs/7.1/work", "SLURM_JOB_PARTITION": "gpu", "MY_VAR": "1",
				"SLURM_ARRAY_JOB_ID": "", "SLURM_ARRAY_TASK_ID": "", "SLURM_ARRAY_TASK_COUNT": "", "SLURM_ARRAY_TASK_MIN": "", "SLURM_ARRAY_TASK_STEP": "",
				"PET_NNODES": "", "MASTER_ADDR": "",
			}},
		{name: "tasks per node divide the CPUs", change: func(_ *structs.Allocation, j *structs.Job) { j.Task.NProcPerNode = 4 },
			want: map[string]string{"SLURM_NTASKS": "4", "SLURM_NTASKS_PER_NODE": "4", "SLURM_CPUS_PER_TASK": "2"}},
		{name: "converted --array member", change: func(a *structs.Allocation, j *structs.Job) {
			a.JobID, j.ID = "12", "12"
			j.ArrayID, j.ArrayIndex, j.ArraySize = "10", 2, 4
			j.SweepValues = map[string]string{structs.ArrayTaskIDKey: "8"}
		}, want: map[string]string{"SLURM_JOB_ID": "12", "SLURM_ARRAY_JOB_ID": "10", "SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "4",
			"SLURM_ARRAY_TASK_MIN": "", "SLURM_ARRAY_TASK_MAX": "", "SLURM_ARRAY_TASK_STEP": ""}},
		{name: "--array member: its range from task.env, as the CLI wrote it", change: func(a *structs.Allocation, j *structs.Job) {
			a.JobID, j.ID = "12", "12"
			j.ArrayID, j.ArrayIndex, j.ArraySize = "10", 2, 4
			j.SweepValues = map[string]string{structs.ArrayTaskIDKey: "8"}
			j.Task.Env = map[string]string{"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_STEP": "4"}
		}, want: map[string]string{"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_STEP": "4"}},
		{name: "HCL sweep member", change: func(_ *structs.Allocation, j *structs.Job) {
			j.ArrayID, j.ArrayIndex, j.ArraySize = "5", 1, 3
			j.SweepValues = map[string]string{"lr": "0.1"}
		}, want: map[string]string{"SLURM_ARRAY_JOB_ID": "5", "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3",
			"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_STEP": "1"}},
		{name: "HCL sweep member: the range is the indices, whatever task.env says", change: func(_ *structs.Allocation, j *structs.Job) {
			j.ArrayID, j.ArrayIndex, j.ArraySize = "5", 0, 2
			j.SweepValues = map[string]string{"lr": "0.1"}
			j.Task.Env = map[string]string{"SLURM_ARRAY_TASK_MAX": "99"}
		}, want: map[string]string{"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "1", "SLURM_ARRAY_TASK_STEP": "1"}},
		{name: "array of one", change: func(_ *structs.Allocation, j *structs.Job) {
			j.ArraySize = 1
			j.SweepValues = map[string]string{structs.ArrayTaskIDKey: "7"}
		}, want: map[string]string{"SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "1"}},
		{name: "rank 1 of a gang", change: func(a *structs.Allocation, j *structs.Job) {
			j.Resources.Nodes = 2
			a.Rank = 1
			a.Gang = &structs.GangInfo{Nodes: 2, MasterAddr: "10.0.0.1", MasterPort: 29507, NodeNames: []string{"node-b", "node-a"}}
		}, want: map[string]string{
			"SLURM_NNODES": "2", "SLURM_NODEID": "1", "SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_JOB_NODELIST": "node-b,node-a",
			"PET_NNODES": "2", "PET_NODE_RANK": "1", "PET_MASTER_ADDR": "10.0.0.1", "PET_MASTER_PORT": "29507", "PET_NPROC_PER_NODE": "2",
			"NPROC_PER_NODE": "2", "WORLD_SIZE": "4",
		}},
		{name: "gang with nproc_per_node, server without node names", change: func(a *structs.Allocation, j *structs.Job) {
			j.Resources.Nodes, j.Task.NProcPerNode = 3, 4
			a.Rank = 2
			a.Gang = &structs.GangInfo{Nodes: 3, MasterAddr: "10.0.0.1", MasterPort: 29507}
		}, want: map[string]string{
			"SLURM_PROCID": "8", "SLURM_NTASKS": "12", "SLURM_JOB_NODELIST": "node-a", "PET_NPROC_PER_NODE": "4", "WORLD_SIZE": "12",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, j := plain()
			tc.change(a, j)
			env := taskEnv(taskEnvInput{Alloc: a, Job: j, NodeName: "node-a", WorkDir: "/allocs/7.1/work", Getenv: func(string) string { return "" }})
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			for k, want := range tc.want {
				v, ok := got[k]
				if want == "" && ok {
					t.Errorf("%s = %q; want it unset", k, v)
				}
				if want != "" && v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
		})
	}
}
