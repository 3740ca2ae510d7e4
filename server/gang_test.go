package server

import (
	"context"
	"testing"

	"github.com/nai-project/nai/structs"
)

// A two-node job starts on two nodes at once, and each node's allocation
// says where rank 0 runs, so both can rendezvous.
func TestGangAllocationsKnowTheirMaster(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	n1, n2 := testNode("n1", 4), testNode("n2", 4)
	n1.HTTPAddr, n2.HTTPAddr = "http://10.0.0.1:4646", "http://10.0.0.2:4646"
	for _, n := range []*structs.Node{n1, n2} {
		if err := c.RegisterNode(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	job := gpuJob("gang", 4)
	job.Resources.Nodes = 2
	resp, err := c.Register(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	var got []*structs.Allocation
	waitUntil(t, "both nodes get their rank", func() bool {
		got = got[:0]
		for _, n := range []string{"n1", "n2"} {
			as, _, err := c.NodeAllocations(ctx, n, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, as...)
		}
		return len(got) == 2
	})
	master := ""
	ranks := map[int]bool{}
	for _, a := range got {
		if a.JobID != id || a.Gang == nil {
			t.Fatalf("allocation %s has no gang info: %+v", a.ID, a)
		}
		if a.Gang.Nodes != 2 || a.Gang.MasterPort != structs.GangPort(id) {
			t.Errorf("allocation %s gang = %+v", a.ID, a.Gang)
		}
		if a.Rank == 0 {
			master = map[string]string{"n1": "10.0.0.1", "n2": "10.0.0.2"}[a.NodeID]
		}
		ranks[a.Rank] = true
	}
	if !ranks[0] || !ranks[1] {
		t.Fatalf("ranks = %v, want 0 and 1", ranks)
	}
	for _, a := range got {
		if a.Gang.MasterAddr != master {
			t.Errorf("allocation %s: MASTER_ADDR %q, want rank 0's host %q", a.ID, a.Gang.MasterAddr, master)
		}
	}
}
