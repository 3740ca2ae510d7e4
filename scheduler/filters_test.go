package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// A job no node can take counts the nodes each filter ruled out, for
// `nai job plan` and `nai queue -explain`.
func TestNodeFilterCounts(t *testing.T) {
	fc := func(f structs.NodeFilter, n int) structs.NodeFilterCount {
		return structs.NodeFilterCount{Filter: f, Nodes: n}
	}
	drain := func(n *structs.Node) { n.Drain = true }
	cases := []struct {
		name   string
		setup  func(h *harness) *jobBuilder // returns the job under test
		queues []structs.Queue
		code   structs.WaitCode
		reason string
		want   []structs.NodeFilterCount
	}{
		{"too few GPUs anywhere", func(h *harness) *jobBuilder {
			h.addNodes(2, newNode("a").GPUs(4)).addNodes(1, newNode("d").GPUs(8).With(drain)).addNodes(1, newNode("o").GPUs(8))
			return newJob().GPUs(8).Queue("small")
		}, []structs.Queue{{Name: "small", Nodes: []string{"a1", "a2", "d1"}}}, structs.WaitNoNodeFits,
			"NoNodeFits: needs 8 GPUs, largest node has 4",
			[]structs.NodeFilterCount{fc(structs.FilterGPUs, 2), fc(structs.FilterQueue, 1), fc(structs.FilterDraining, 1)}},
		{"GPU model and memory", func(h *harness) *jobBuilder {
			h.addNodes(2, newNode("a").GPUs(8).Model("NVIDIA A100-SXM4-80GB").GPUMemory(80<<30))
			h.addNodes(1, newNode("h").GPUs(8).Model("NVIDIA H100 PCIe").GPUMemory(40<<30))
			h.addNodes(1, newNode("s").GPUs(1).Model("NVIDIA H100 80GB HBM3"))
			return newJob().GPUs(2).Model("H100").GPUMemory(80 << 30)
		}, nil, structs.WaitNoNodeFits,
			"NoNodeFits: needs 2 x H100 with 80GiB, largest node has 1 such GPU (8 GPUs in all)",
			[]structs.NodeFilterCount{fc(structs.FilterGPUModel, 2), fc(structs.FilterGPUs, 1), fc(structs.FilterGPUMemory, 1)}},
		{"CPU and memory of the idle node", func(h *harness) *jobBuilder {
			h.addNodes(1, newNode("c").CPU(4)).addNodes(2, newNode("m").Memory(8<<30))
			return newJob().CPU(8).Memory(16 << 30)
		}, nil, structs.WaitNoNodeFits,
			"NoNodeFits: no node has 1 GPU, 8 CPUs and 16GiB together",
			[]structs.NodeFilterCount{fc(structs.FilterMemory, 2), fc(structs.FilterCPU, 1)}},
		{"a queue without a ready node", func(h *harness) *jobBuilder {
			h.addNodes(2, newNode("d").With(drain)).addNodes(1, newNode("r"))
			return newJob().Queue("q")
		}, []structs.Queue{{Name: "default"}, {Name: "q", Nodes: []string{"d1", "d2"}}}, structs.WaitNoNodeFits,
			`NoNodeFits: queue "q" has no ready node (2 draining)`,
			[]structs.NodeFilterCount{fc(structs.FilterDraining, 2), fc(structs.FilterQueue, 1)}},
		{"not enough free now, beside static failures", func(h *harness) *jobBuilder {
			h.addNodes(3, newNode("n")).addNodes(1, newNode("d").With(drain)).addNodes(1, newNode("s").GPUs(2))
			for _, n := range []string{"n1", "n2", "n3"} {
				h.running(newJob().GPUs(6), n, []int{0, 1, 2, 3, 4, 5}, t0)
			}
			return newJob().GPUs(4)
		}, nil, structs.WaitResources,
			"Resources: needs 4 GPUs, 2 free on the best node",
			[]structs.NodeFilterCount{fc(structs.FilterFreeGPUs, 3), fc(structs.FilterDraining, 1), fc(structs.FilterGPUs, 1)}},
		{"free CPUs and memory", func(h *harness) *jobBuilder {
			h.addNodes(1, newNode("c").CPU(8)).addNodes(1, newNode("m").Memory(64<<30))
			h.running(newJob().GPUs(1).CPU(6), "c1", []int{0}, t0)
			h.running(newJob().GPUs(1).Memory(60<<30), "m1", []int{0}, t0)
			return newJob().CPU(4).Memory(8 << 30)
		}, nil, structs.WaitResources,
			"Resources: needs 4 CPUs, 2 free on the node with most free GPUs",
			[]structs.NodeFilterCount{fc(structs.FilterFreeCPU, 1), fc(structs.FilterFreeMemory, 1)}},
		{"nodes held by an exclusive job, or not idle for an exclusive one", func(h *harness) *jobBuilder {
			h.addNodes(3, newNode("n"))
			h.running(newJob().GPUs(1).Exclusive(), "n1", []int{0}, t0)
			h.running(newJob().GPUs(1), "n2", []int{0}, t0)
			h.running(newJob().GPUs(8), "n3", []int{0, 1, 2, 3, 4, 5, 6, 7}, t0)
			return newJob().GPUs(2).Exclusive()
		}, nil, structs.WaitResources,
			"Resources: needs a node to itself (exclusive), none of the 3 nodes that fit it is idle",
			[]structs.NodeFilterCount{fc(structs.FilterBusy, 2), fc(structs.FilterExclusive, 1)}},
		{"a gang counts the nodes that do not fit, not those that do", func(h *harness) *jobBuilder {
			h.addNodes(3, newNode("n"))
			h.running(newJob().GPUs(4), "n1", []int{0, 1, 2, 3}, t0)
			return newJob().GPUs(8).Nodes(3)
		}, nil, structs.WaitResources,
			"Resources: needs 3 nodes with 8 GPUs free, 2 have them now",
			[]structs.NodeFilterCount{fc(structs.FilterFreeGPUs, 1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			j := h.submit(tc.setup(h))[0]
			cfg := strict()
			cfg.Queues = tc.queues
			w := waitOf(t, h.plan(cfg), j.ID)
			if w.Code != tc.code || w.Reason != tc.reason {
				t.Errorf("got %s %q, want %s %q", w.Code, w.Reason, tc.code, tc.reason)
			}
			if diff := cmp.Diff(tc.want, w.NodeFilters); diff != "" {
				t.Errorf("node filters (-want +got):\n%s", diff)
			}
		})
	}
}

// Jobs held by a gate, or behind a higher job, name no node filters: no
// node was looked at for them.
func TestNoNodeFiltersWithoutPlacement(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(4))
	h.running(newJob().GPUs(2), "n1", []int{0, 1}, t0)
	h.submit(newJob().GPUs(4).Priority(90), newJob().GPUs(1).Priority(10), newJob().BeginAt(t0.Add(1e12)))
	p := h.plan(strict())
	for id, code := range map[string]structs.WaitCode{"2": structs.WaitResources, "3": structs.WaitPriority, "4": structs.WaitBeginTime} {
		w := waitOf(t, p, id)
		if w.Code != code {
			t.Errorf("job %s waits %s, want %s", id, w.Code, code)
		}
		if wantFilters := code == structs.WaitResources; (len(w.NodeFilters) > 0) != wantFilters {
			t.Errorf("job %s (%s) has node filters %v", id, code, w.NodeFilters)
		}
	}
}
