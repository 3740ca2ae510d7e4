package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestArrayGate(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *harness)
		want  map[string]gateRun
	}{
		{"no sweep with max_parallel: the gate is off", func(h *harness) {
			h.running(newJob().Array("s", 0), "n1", []int{0}, t0)
			h.submit(newJob().Array("s", 0))
		}, map[string]gateRun{"2": admitted}},
		{"under max_parallel", func(h *harness) {
			h.running(newJob().Array("s", 2), "n1", []int{0}, t0)
			h.submit(newJob().Array("s", 2))
		}, map[string]gateRun{"2": admitted}},
		{"at max_parallel", func(h *harness) {
			h.running(newJob().Array("s", 2), "n1", []int{0}, t0)
			h.running(newJob().Array("s", 2), "n1", []int{1}, t0)
			h.submit(newJob().Array("s", 2))
		}, map[string]gateRun{"3": {hold, structs.WaitParallel, "ArrayLimit: sweep s already runs 2 jobs (max_parallel 2)"}}},
		{"a gang member counts once, whatever its nodes", func(h *harness) {
			g := h.running(newJob().Array("s", 2).Nodes(2), "n1", []int{0}, t0)
			h.st.allocs = append(h.st.allocs, &structs.Allocation{ID: g.ID + ".1", JobID: g.ID, NodeID: "n2", GPUs: []int{0},
				Resources: g.Resources, ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning}})
			h.submit(newJob().Array("s", 2))
		}, map[string]gateRun{"2": admitted}},
		{"another sweep's members do not count", func(h *harness) {
			h.running(newJob().Array("other", 1), "n1", []int{0}, t0)
			h.submit(newJob().Array("s", 1))
		}, map[string]gateRun{"2": admitted}},
		{"finished members do not count", func(h *harness) {
			h.running(newJob().Array("s", 1), "n1", []int{0}, t0)
			h.finish("1", structs.JobComplete)
			h.submit(newJob().Array("s", 1))
		}, map[string]gateRun{"2": admitted}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(2, newNode("n"))
			tc.setup(h)
			got := h.runGate(DefaultConfig(), "array limit")
			for id := range got {
				if _, ok := tc.want[id]; !ok {
					delete(got, id)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(gateRun{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Placements of the pass count against max_parallel.
func TestArrayLimitCountsThisPassesPlacements(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(8))
	h.submit(newJob().Array("s", 2), newJob().Array("s", 2), newJob().Array("s", 2))
	p := h.plan(DefaultConfig())
	if got := placed(p); len(got) != 2 {
		t.Errorf("placed %v, want two members", got)
	}
	if w := waitOf(t, p, "3"); w.Reason != "ArrayLimit: sweep s already runs 2 jobs (max_parallel 2)" {
		t.Errorf("job 3 waits %q", w.Reason)
	}
}
