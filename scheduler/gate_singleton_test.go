package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestSingletonGate(t *testing.T) {
	single := func(id string) gateRun {
		return gateRun{hold, structs.WaitDependency, `Dependency: singleton: waiting for job ` + id + ` (same name "train" and user alice) to end`}
	}
	cases := []struct {
		name  string
		setup func(h *harness)
		want  map[string]gateRun
	}{
		{"a lone singleton runs", func(h *harness) {
			h.submit(newJob().Name("train").Singleton())
		}, map[string]gateRun{"1": admitted}},
		{"a job of the same name and user runs: the singleton waits", func(h *harness) {
			h.running(newJob().Name("train"), "n1", []int{0}, t0)
			h.submit(newJob().Name("train").Singleton())
		}, map[string]gateRun{"2": single("1")}},
		{"a job of the same name and user waits ahead: the singleton waits behind it", func(h *harness) {
			h.submit(newJob().Name("train"), newJob().Name("train").Singleton())
		}, map[string]gateRun{"1": admitted, "2": single("1")}},
		{"only the first of a line of singletons may go", func(h *harness) {
			h.submit(newJob().Name("train").Singleton(), newJob().Name("train").Singleton(), newJob().Name("train").Singleton())
		}, map[string]gateRun{"1": admitted, "2": single("1"), "3": single("1")}},
		{"submit order decides, not priority", func(h *harness) {
			h.submit(newJob().Name("train").Singleton().Priority(10), newJob().Name("train").Singleton().Priority(90))
		}, map[string]gateRun{"1": admitted, "2": single("1")}},
		{"equal submit times: the smaller id is first", func(h *harness) {
			h.submit(newJob().ID("10").Name("train").Singleton().Submitted(t0), newJob().ID("9").Name("train").Singleton().Submitted(t0))
		}, map[string]gateRun{"9": admitted, "10": single("9")}},
		{"a later job of the same name does not hold an earlier singleton", func(h *harness) {
			h.submit(newJob().Name("train").Singleton(), newJob().Name("train"))
		}, map[string]gateRun{"1": admitted, "2": admitted}},
		{"another user's job of the same name does not count", func(h *harness) {
			h.running(newJob().Name("train").User("bob"), "n1", []int{0}, t0)
			h.submit(newJob().Name("train").Singleton())
		}, map[string]gateRun{"2": admitted}},
		{"another name of the same user does not count", func(h *harness) {
			h.running(newJob().Name("eval"), "n1", []int{0}, t0)
			h.submit(newJob().Name("train").Singleton())
		}, map[string]gateRun{"2": admitted}},
		{"a finished job of the same name does not count", func(h *harness) {
			h.running(newJob().Name("train"), "n1", []int{0}, t0)
			h.finish("1", structs.JobComplete)
			h.submit(newJob().Name("train").Singleton())
		}, map[string]gateRun{"2": admitted}},
		{"a job being stopped still runs", func(h *harness) {
			h.running(newJob().Name("train"), "n1", []int{0}, t0)
			h.st.allocs[0].DesiredStatus = structs.DesiredStop
			h.submit(newJob().Name("train").Singleton())
		}, map[string]gateRun{"2": single("1")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			tc.setup(h)
			got := h.runGate(DefaultConfig(), "singleton")
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

// Within one pass a job placed earlier holds back a singleton of its name
// that comes later in priority order, though it was submitted later.
func TestSingletonSeesThisPassesPlacements(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(8))
	h.submit(newJob().Name("train").Singleton().Priority(10), newJob().Name("train").Priority(90))
	p := h.plan(strict())
	if got := placed(p); got["2"] == "" || got["1"] != "" {
		t.Fatalf("placed %v, want job 2 only", got)
	}
	if w := waitOf(t, p, "1"); w.Reason != `Dependency: singleton: waiting for job 2 (same name "train" and user alice) to end` {
		t.Errorf("singleton waits %q", w.Reason)
	}
}
