package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestReadyNodesGate(t *testing.T) {
	down := func(n *structs.Node) { n.Status = structs.NodeDown }
	drain := func(n *structs.Node) { n.Drain, n.Eligible = true, false }
	inelig := func(n *structs.Node) { n.Eligible = false }
	unreachable := func(n *structs.Node) { n.UnreachableSince = t0 }
	cases := []struct {
		name        string
		nodes       func(h *harness)
		want        gateRun
		wantFilters []structs.NodeFilterCount
	}{
		{"a ready node", func(h *harness) { h.addNodes(1, newNode("r")) }, admitted, nil},
		{"a ready node beside drained ones", func(h *harness) {
			h.addNodes(1, newNode("r")).addNodes(2, newNode("d").With(drain))
		}, admitted, nil},
		{"no node at all", func(h *harness) {}, gateRun{hold, structs.WaitNoNodes, "NoNodes: the cluster has no ready node"}, nil},
		{"one down", func(h *harness) { h.addNodes(1, newNode("n").With(down)) },
			gateRun{hold, structs.WaitNoNodes, "NoNodes: the cluster has no ready node (1 down)"},
			[]structs.NodeFilterCount{{Filter: structs.FilterDown, Nodes: 1}}},
		{"drained and ineligible", func(h *harness) {
			h.addNodes(2, newNode("d").With(drain)).addNodes(1, newNode("e").With(inelig))
		}, gateRun{hold, structs.WaitNoNodes, "NoNodes: the cluster has no ready node (2 draining, 1 ineligible)"},
			[]structs.NodeFilterCount{{Filter: structs.FilterDraining, Nodes: 2}, {Filter: structs.FilterIneligible, Nodes: 1}}},
		{"one unreachable: ready, but serf declared it failed", func(h *harness) { h.addNodes(1, newNode("u").With(unreachable)) },
			gateRun{hold, structs.WaitNoNodes, "NoNodes: the cluster has no ready node (1 unreachable)"},
			[]structs.NodeFilterCount{{Filter: structs.FilterUnreachable, Nodes: 1}}},
		{"a ready node beside an unreachable one", func(h *harness) {
			h.addNodes(1, newNode("r")).addNodes(1, newNode("u").With(unreachable))
		}, admitted, nil},
		{"a down node counts as down though drained too", func(h *harness) {
			h.addNodes(1, newNode("n").With(func(n *structs.Node) { down(n); drain(n) }))
		}, gateRun{hold, structs.WaitNoNodes, "NoNodes: the cluster has no ready node (1 down)"},
			[]structs.NodeFilterCount{{Filter: structs.FilterDown, Nodes: 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.nodes(h)
			j := h.submit(newJob())[0]
			if got := h.runGate(DefaultConfig(), "ready nodes")[j.ID]; got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if tc.want.v != hold {
				return
			}
			if diff := cmp.Diff(tc.wantFilters, waitOf(t, h.plan(DefaultConfig()), j.ID).NodeFilters); diff != "" {
				t.Errorf("node filters (-want +got):\n%s", diff)
			}
		})
	}
}
