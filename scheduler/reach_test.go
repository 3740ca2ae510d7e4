package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// ReachOf applies the pass's per-node test to every node given, down,
// draining or with unhealthy GPUs too (they may come back), within the
// job's queue, and keeps the largest of each resource for the words.
func TestReachOf(t *testing.T) {
	down := newNode("down").GPUs(8).With(func(n *structs.Node) { n.Status = structs.NodeDown }).Build()
	sick := newNode("sick").GPUs(2).Model("NVIDIA A100-SXM4-40GB").GPUMemory(40 << 30).CPU(16).Memory(64 << 30).
		With(func(n *structs.Node) { n.GPUs[0].Healthy = false; n.Drain = true }).Build()
	nodes := []*structs.Node{down, sick}
	cases := []struct {
		name string
		job  *structs.Job
		q    *structs.Queue
		want Reach
	}{
		{"every node, any GPU", newJob().GPUs(2).Build(), nil,
			Reach{Nodes: 2, Fit: 2, GPUs: 8, ModelGPUs: 8, MatchingGPUs: 8, CPU: 64, MemoryBytes: 512 << 30, GPUMemoryBytes: 80 << 30}},
		{"a model one node has, unhealthy GPU counted", newJob().GPUs(2).Model("a100").Build(), nil,
			Reach{Nodes: 2, Fit: 1, GPUs: 8, ModelGPUs: 2, MatchingGPUs: 2, CPU: 64, MemoryBytes: 512 << 30, GPUMemoryBytes: 40 << 30}},
		{"GPU memory no GPU of the model has", newJob().GPUs(1).Model("a100").GPUMemory(48 << 30).Build(), nil,
			Reach{Nodes: 2, Fit: 0, GPUs: 8, ModelGPUs: 2, MatchingGPUs: 0, CPU: 64, MemoryBytes: 512 << 30, GPUMemoryBytes: 40 << 30}},
		{"a queue of one node, by name", newJob().GPUs(1).Memory(100 << 30).Build(), &structs.Queue{Name: "q", Nodes: []string{"sick"}},
			Reach{Nodes: 1, Fit: 0, GPUs: 2, ModelGPUs: 2, MatchingGPUs: 2, CPU: 16, MemoryBytes: 64 << 30, GPUMemoryBytes: 40 << 30}},
		{"a queue of no registered node", newJob().Build(), &structs.Queue{Name: "q", Nodes: []string{"elsewhere"}}, Reach{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ReachOf(tc.job, tc.q, nodes)
			models := got.Models
			got.Models = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("reach (-want +got):\n%s", diff)
			}
			if tc.want.Nodes == 2 && !cmp.Equal(models, map[string]int{"NVIDIA H100 80GB HBM3": 1, "NVIDIA A100-SXM4-40GB": 1}) {
				t.Errorf("models %v", models)
			}
		})
	}
}
