package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// Issue 2's first scheduler: priority then submit order, best fit of whole
// GPUs, CPU and memory, one reason for every job that waits.
func TestPlacementStories(t *testing.T) {
	type story struct {
		name        string
		setup       func(h *harness)
		cfg         Config
		wantPlaced  map[string]string
		wantWaits   map[string]structs.WaitCode
		wantReasons map[string]string // job -> exact reason
	}
	cases := []story{
		{
			name: "best fit picks the node with fewest free GPUs that fits",
			setup: func(h *harness) {
				h.addNodes(1, newNode("a").GPUs(4)).addNodes(1, newNode("b").GPUs(8)).addNodes(1, newNode("c").GPUs(4))
				h.running(newJob().GPUs(3), "a1", []int{0, 1, 2}, t0.Add(-time.Minute))
				h.submit(newJob().GPUs(1), newJob().GPUs(2), newJob().GPUs(5))
			},
			wantPlaced: map[string]string{"2": "a1:[3]", "3": "c1:[0 1]", "4": "b1:[0 1 2 3 4]"},
			wantWaits:  map[string]structs.WaitCode{},
		},
		{
			name: "three 2-GPU jobs on 4 GPUs: two start, the third waits for resources",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(4))
				h.submit(newJob().GPUs(2), newJob().GPUs(2), newJob().GPUs(2))
			},
			wantPlaced:  map[string]string{"1": "n1:[0 1]", "2": "n1:[2 3]"},
			wantWaits:   map[string]structs.WaitCode{"3": structs.WaitResources},
			wantReasons: map[string]string{"3": "Resources: needs 2 GPUs, 0 free on the best node"},
		},
		{
			name: "a job larger than any node never fits",
			setup: func(h *harness) {
				h.addNodes(2, newNode("n").GPUs(4))
				h.submit(newJob().GPUs(8), newJob().GPUs(1))
			},
			wantPlaced:  map[string]string{"2": "n1:[0]"},
			wantWaits:   map[string]structs.WaitCode{"1": structs.WaitNoNodeFits},
			wantReasons: map[string]string{"1": "NoNodeFits: needs 8 GPUs, largest node has 4"},
		},
		{
			name: "fits but not now: reason names the free GPUs on the best node",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(4))
				h.running(newJob().GPUs(3), "n1", []int{0, 1, 2}, t0)
				h.submit(newJob().GPUs(2))
			},
			wantPlaced:  map[string]string{},
			wantWaits:   map[string]structs.WaitCode{"2": structs.WaitResources},
			wantReasons: map[string]string{"2": "Resources: needs 2 GPUs, 1 free on the best node"},
		},
		{
			name: "no ready node at all",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").With(func(n *structs.Node) { n.Status = structs.NodeDown }))
				h.submit(newJob())
			},
			wantPlaced:  map[string]string{},
			wantWaits:   map[string]structs.WaitCode{"1": structs.WaitNoNodes},
			wantReasons: map[string]string{"1": "NoNodes: the cluster has no ready node (1 down)"},
		},
		{
			name: "a drained cluster says so",
			setup: func(h *harness) {
				h.addNodes(2, newNode("d").With(func(n *structs.Node) { n.Drain, n.Eligible = true, false }))
				h.addNodes(1, newNode("e").With(func(n *structs.Node) { n.Eligible = false }))
				h.submit(newJob())
			},
			wantPlaced:  map[string]string{},
			wantWaits:   map[string]structs.WaitCode{"1": structs.WaitNoNodes},
			wantReasons: map[string]string{"1": "NoNodes: the cluster has no ready node (2 draining, 1 ineligible)"},
		},
		{
			name: "drained and ineligible nodes get no work",
			setup: func(h *harness) {
				h.addNodes(1, newNode("d").With(func(n *structs.Node) { n.Drain = true }))
				h.addNodes(1, newNode("e").With(func(n *structs.Node) { n.Eligible = false }))
				h.addNodes(1, newNode("r").GPUs(2))
				h.submit(newJob().GPUs(2), newJob().GPUs(4))
			},
			wantPlaced:  map[string]string{"1": "r1:[0 1]"},
			wantWaits:   map[string]structs.WaitCode{"2": structs.WaitNoNodeFits},
			wantReasons: map[string]string{"2": "NoNodeFits: needs 4 GPUs, largest node has 2"},
		},
		{
			name: "unhealthy GPUs are not free",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(4).With(func(n *structs.Node) { n.GPUs[0].Healthy = false; n.GPUs[2].Healthy = false }))
				h.submit(newJob().GPUs(2), newJob().GPUs(1))
			},
			wantPlaced:  map[string]string{"1": "n1:[1 3]"},
			wantWaits:   map[string]structs.WaitCode{"2": structs.WaitResources},
			wantReasons: map[string]string{"2": "Resources: needs 1 GPU, 0 free on the best node"},
		},
		{
			name: "higher priority first, then submit order",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(2))
				h.submit(newJob().Priority(10), newJob().Priority(90), newJob().Priority(90))
			},
			wantPlaced: map[string]string{"2": "n1:[0]", "3": "n1:[1]"},
			wantWaits:  map[string]structs.WaitCode{"1": structs.WaitResources},
		},
		{
			name: "ties in submit time go to the smaller numeric id",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(1))
				h.submit(newJob().ID("10").Submitted(t0), newJob().ID("9").Submitted(t0))
			},
			wantPlaced: map[string]string{"9": "n1:[0]"},
			wantWaits:  map[string]structs.WaitCode{"10": structs.WaitResources},
		},
		{
			name: "a blocked higher job keeps lower jobs off its resources",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(4))
				h.running(newJob().GPUs(2), "n1", []int{0, 1}, t0)
				h.submit(newJob().GPUs(4).Priority(80), newJob().GPUs(1).Priority(50))
			},
			cfg:         strict(),
			wantPlaced:  map[string]string{},
			wantWaits:   map[string]structs.WaitCode{"2": structs.WaitResources, "3": structs.WaitPriority},
			wantReasons: map[string]string{"3": "Priority: waiting behind higher-priority job 2"},
		},
		{
			name: "a blocked job does not hold nodes it could never use",
			setup: func(h *harness) {
				h.addNodes(1, newNode("big").GPUs(8).Model("H100"))
				h.addNodes(1, newNode("small").GPUs(2).Model("A100"))
				h.running(newJob().GPUs(4), "big1", []int{0, 1, 2, 3}, t0)
				h.submit(newJob().GPUs(8).Priority(80), newJob().GPUs(1).Model("A100"))
			},
			cfg:        strict(),
			wantPlaced: map[string]string{"3": "small1:[0]"},
			wantWaits:  map[string]structs.WaitCode{"2": structs.WaitResources},
		},
		{
			name: "cpu cores, fractional, and memory count against the node",
			setup: func(h *harness) {
				h.addNodes(1, newNode("n").GPUs(0).CPU(2).Memory(8<<30))
				h.submit(newJob().GPUs(0).CPU(0.5), newJob().GPUs(0).CPU(1.5), newJob().GPUs(0).CPU(0.25),
					newJob().GPUs(0).CPU(4), newJob().GPUs(0).CPU(0.1).Memory(16<<30))
			},
			cfg:        strict(),
			wantPlaced: map[string]string{"1": "n1:[]", "2": "n1:[]"},
			wantWaits: map[string]structs.WaitCode{"3": structs.WaitResources, "4": structs.WaitNoNodeFits,
				"5": structs.WaitNoNodeFits},
			wantReasons: map[string]string{"4": "NoNodeFits: needs 4 CPUs, largest node has 2",
				"5": "NoNodeFits: needs 16GiB of memory, largest node has 8GiB"},
		},
		{
			name: "gpu model and memory constraints",
			setup: func(h *harness) {
				h.addNodes(1, newNode("a").GPUs(4).Model("NVIDIA A100-SXM4-40GB").GPUMemory(40<<30))
				h.addNodes(1, newNode("h").GPUs(4).Model("NVIDIA H100 80GB HBM3").GPUMemory(80<<30))
				h.submit(newJob().GPUs(1).Model("h100"), newJob().GPUs(1).GPUMemory(60<<30), newJob().GPUs(8).Model("H100"),
					newJob().GPUs(1).Model("a100"))
			},
			wantPlaced: map[string]string{"1": "h1:[0]", "2": "h1:[1]", "4": "a1:[0]"},
			wantWaits:  map[string]structs.WaitCode{"3": structs.WaitNoNodeFits},
			wantReasons: map[string]string{
				"3": "NoNodeFits: needs 8 x H100, largest node has 4 such GPUs (4 GPUs in all)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			cfg := tc.cfg
			if cfg.Weights == (structs.PriorityWeights{}) {
				cfg = strict()
			}
			p := h.plan(cfg)
			if diff := cmp.Diff(tc.wantPlaced, placed(p)); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWaits, waits(p)); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			for id, want := range tc.wantReasons {
				if got := waitOf(t, p, id).Reason; got != want {
					t.Errorf("job %s reason = %q, want %q", id, got, want)
				}
			}
		})
	}
}

// The same input gives the same plan, whatever the map order inside.
func TestPlanIsDeterministic(t *testing.T) {
	h := newHarness(t)
	h.addNodes(6, newNode("n").GPUs(8).NVLinkPairs())
	for i := 0; i < 40; i++ {
		h.submit(newJob().GPUs(1 + i%5).User([]string{"a", "b", "c"}[i%3]).TimeLimit(time.Duration(1+i%4) * time.Hour))
	}
	first := h.plan(DefaultConfig())
	for i := 0; i < 20; i++ {
		if diff := cmp.Diff(first, New(DefaultConfig()).Plan(h.st, h.now)); diff != "" {
			t.Fatalf("plan changed between runs (-first +again):\n%s", diff)
		}
	}
}

// Three 2-GPU jobs on 4 GPUs run two at a time and all finish, as the
// leader would drive it.
func TestThreeJobsOnFourGPUsDrain(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(4))
	h.submit(newJob().GPUs(2), newJob().GPUs(2), newJob().GPUs(2))
	for round := 0; round < 4 && len(h.st.PendingJobs()) > 0; round++ {
		p := h.plan(strict())
		h.apply(p)
		running := 0
		for _, a := range h.st.LiveAllocs() {
			running += len(a.GPUs)
		}
		if running > 4 {
			t.Fatalf("round %d: %d GPUs in use on a 4-GPU node", round, running)
		}
		// The oldest running job ends.
		for _, a := range h.st.LiveAllocs() {
			h.finish(a.JobID, structs.JobComplete)
			break
		}
		h.now = h.now.Add(time.Minute)
	}
	if n := len(h.st.PendingJobs()); n != 0 {
		t.Fatalf("%d jobs still pending", n)
	}
	if !strings.HasPrefix(h.plans[0].Waiting[0].Reason, "Resources:") {
		t.Errorf("first wait reason = %q", h.plans[0].Waiting[0].Reason)
	}
}

// The zero Config is issue 2's first scheduler: priority, then submit
// order, strict. Age alone is first-in first-out.
func TestZeroConfigOrders(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(1))
	h.submit(newJob().Priority(10), newJob().Priority(90), newJob().Priority(50))
	ids := func(js []*structs.Job) []string {
		var out []string
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"2", "3", "1"}, ids(New(Config{}).Order(h.st, h.now))); diff != "" {
		t.Errorf("zero config order (-want +got):\n%s", diff)
	}
	fifo := Config{Weights: structs.PriorityWeights{Age: 1}}
	if diff := cmp.Diff([]string{"1", "2", "3"}, ids(New(fifo).Order(h.st, h.now))); diff != "" {
		t.Errorf("age-only order (-want +got):\n%s", diff)
	}
	p := h.plan(Config{})
	if diff := cmp.Diff(map[string]string{"2": "n1:[0]"}, placed(p)); diff != "" {
		t.Errorf("placements (-want +got):\n%s", diff)
	}
}

// A job that slipped past validation waits with a reason instead of
// breaking the pass.
func TestInvalidResourcesDoNotPanic(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(2))
	bad := h.submit(newJob().GPUs(-1), newJob().CPU(-2), newJob().Nodes(-3))
	good := h.submit(newJob())[0]
	p := h.plan(DefaultConfig())
	for _, j := range bad {
		if w := waitOf(t, p, j.ID); w.Code != structs.WaitNoNodeFits || !strings.HasPrefix(w.Reason, "NoNodeFits: invalid request: ") {
			t.Errorf("job %s: %+v", j.ID, w)
		}
	}
	if placed(p)[good.ID] == "" {
		t.Errorf("good job not placed: %+v", p)
	}
}

// A State that breaks its promises (nodes out of ID order, allocations on
// unknown nodes or GPUs) still gets a sound plan.
func TestUntidyState(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("b").GPUs(2)).addNodes(1, newNode("a").GPUs(2))
	h.st.nodes[0], h.st.nodes[1] = h.st.nodes[1], h.st.nodes[0] // b1 before a1
	h.running(newJob().GPUs(2), "a1", []int{0, 1}, t0)
	h.running(newJob().GPUs(1), "gone", []int{0}, t0)
	h.running(newJob().GPUs(1), "b1", []int{7}, t0)
	j := h.submit(newJob().GPUs(2))[0]
	p := h.plan(DefaultConfig())
	if got := placed(p)[j.ID]; got != "b1:[0 1]" {
		t.Errorf("placed %q, want b1:[0 1]", got)
	}
}
