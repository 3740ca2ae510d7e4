package client

import (
	"slices"
	"testing"

	"github.com/nai-project/nai/structs"
)

// Each node of a multi-node job gets torchrun's rendezvous variables; a
// single-node job keeps whatever the user set.
func TestTaskEnvGang(t *testing.T) {
	alloc, job := envAlloc()
	job.Resources.Nodes = 2
	job.Task.Env["WORLD_SIZE"] = "99" // the gang's shape wins
	alloc.Rank = 1
	alloc.Gang = &structs.GangInfo{Nodes: 2, MasterAddr: "10.1.2.3", MasterPort: 29542}
	env := taskEnv(taskEnvInput{Alloc: alloc, Job: job, Getenv: func(string) string { return "" }})
	for _, want := range []string{"MASTER_ADDR=10.1.2.3", "MASTER_PORT=29542", "NNODES=2", "NODE_RANK=1", "NPROC_PER_NODE=2", "WORLD_SIZE=4"} {
		if !slices.Contains(env, want) {
			t.Errorf("gang env lacks %s:\n%v", want, env)
		}
	}

	alloc, job = envAlloc()
	job.Task.Env["WORLD_SIZE"] = "8"
	env = taskEnv(taskEnvInput{Alloc: alloc, Job: job, Getenv: func(string) string { return "" }})
	if !slices.Contains(env, "WORLD_SIZE=8") || slices.ContainsFunc(env, func(s string) bool { return len(s) > 12 && s[:12] == "MASTER_ADDR=" }) {
		t.Errorf("single-node env should keep the user's WORLD_SIZE and have no MASTER_ADDR:\n%v", env)
	}
}

func TestGangPort(t *testing.T) {
	if p := structs.GangPort("42"); p != structs.GangPortBase+42 {
		t.Errorf("GangPort(42) = %d", p)
	}
	if a, b := structs.GangPort("12345"), structs.GangPort("2345"); a != b || a < structs.GangPortBase || a >= structs.GangPortBase+10000 {
		t.Errorf("GangPort wraps at 10,000: %d %d", a, b)
	}
}
