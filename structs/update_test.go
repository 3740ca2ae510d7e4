package structs

import (
	"testing"
	"time"
)

func TestJobUpdateApply(t *testing.T) {
	ptr := func(v int) *int { return &v }
	limit := Duration(time.Hour)
	base := func(nodes, gpus int) *Job {
		return &Job{Name: "a", Priority: 50, Resources: Resources{CPU: 1, MemoryBytes: 1 << 30, Nodes: nodes, GPU: GPURequest{Count: gpus}}}
	}
	for _, tc := range []struct {
		name     string
		job      *Job
		u        JobUpdate
		gpus     int // per node after
		nodes    int
		checkErr bool
		fields   string
	}{
		{"GPUs of a one-node job", base(1, 1), JobUpdate{GPUs: ptr(4)}, 4, 1, false, "GPUs 4"},
		{"GPUs in all, split over two nodes", base(2, 4), JobUpdate{GPUs: ptr(4)}, 2, 2, false, "GPUs 4"},
		{"GPUs that do not split evenly", base(2, 4), JobUpdate{GPUs: ptr(3)}, 1, 2, true, "GPUs 3"},
		{"nodes and GPUs together", base(1, 8), JobUpdate{Nodes: ptr(4), GPUs: ptr(16)}, 4, 4, false, "GPUs 16, nodes 4"},
		{"nodes alone keep each node's GPUs", base(1, 8), JobUpdate{Nodes: ptr(2)}, 8, 2, false, "nodes 2"},
		{"a time limit and priority", base(0, 1), JobUpdate{TimeLimit: &limit, Priority: ptr(9)}, 1, 0, false, "priority 9, time limit 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.u.CheckGPUs(tc.job); (err != nil) != tc.checkErr {
				t.Errorf("CheckGPUs = %v, want an error: %v", err, tc.checkErr)
			}
			j := tc.job.Copy()
			tc.u.Apply(j)
			if j.Resources.GPU.Count != tc.gpus || j.Resources.Nodes != tc.nodes {
				t.Errorf("after: %d GPUs a node on %d nodes, want %d on %d", j.Resources.GPU.Count, j.Resources.Nodes, tc.gpus, tc.nodes)
			}
			if got := tc.u.Fields(); got != tc.fields {
				t.Errorf("Fields() = %q, want %q", got, tc.fields)
			}
			if tc.u.Empty() {
				t.Error("Empty() of an update that changes something")
			}
		})
	}
	if !(&JobUpdate{}).Empty() || !(*JobUpdate)(nil).Empty() {
		t.Error("an update without fields is not Empty()")
	}
}
