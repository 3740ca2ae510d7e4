package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestQuotaGate(t *testing.T) {
	cases := []struct {
		name  string
		cfg   func(*Config)
		setup func(h *harness)
		want  map[string]gateRun
	}{
		{"no quota: the gate is off", nil, func(h *harness) {
			h.running(newJob().GPUs(8), "n1", []int{0, 1, 2, 3, 4, 5, 6, 7}, t0)
			h.submit(newJob().GPUs(8))
		}, map[string]gateRun{"2": admitted}},
		{"user under GPU quota", func(c *Config) { c.UserQuotas = map[string]structs.Quota{"alice": {MaxGPUs: 4}} }, func(h *harness) {
			h.running(newJob().GPUs(2), "n1", []int{0, 1}, t0)
			h.submit(newJob().GPUs(2))
		}, map[string]gateRun{"2": admitted}},
		{"user over GPU quota", func(c *Config) { c.UserQuotas = map[string]structs.Quota{"alice": {MaxGPUs: 4}} }, func(h *harness) {
			h.running(newJob().GPUs(2), "n1", []int{0, 1}, t0)
			h.submit(newJob().GPUs(3))
		}, map[string]gateRun{"2": {hold, structs.WaitQuota, "QuotaExceeded: user alice uses 2 of 4 GPUs, this job needs 3"}}},
		{"a gang counts every node's GPUs", func(c *Config) { c.DefaultUserQuota = structs.Quota{MaxGPUs: 8} }, func(h *harness) {
			h.submit(newJob().GPUs(8).Nodes(2))
		}, map[string]gateRun{"1": {hold, structs.WaitQuota, "QuotaExceeded: user alice uses 0 of 8 GPUs, this job needs 16"}}},
		{"another user is not limited by alice's quota", func(c *Config) { c.UserQuotas = map[string]structs.Quota{"alice": {MaxGPUs: 4}} }, func(h *harness) {
			h.running(newJob().GPUs(4), "n1", []int{0, 1, 2, 3}, t0)
			h.submit(newJob().GPUs(3).User("bob"))
		}, map[string]gateRun{"2": admitted}},
		{"group over GPU quota", func(c *Config) { c.DefaultGroupQuota = structs.Quota{MaxGPUs: 2} }, func(h *harness) {
			h.running(newJob().GPUs(2).Group("ml"), "n1", []int{0, 1}, t0)
			h.submit(newJob().GPUs(1).Group("ml").User("bob"), newJob().GPUs(1))
		}, map[string]gateRun{
			"2": {hold, structs.WaitQuota, "QuotaExceeded: group ml uses 2 of 2 GPUs, this job needs 1"},
			"3": admitted, // no group, no group quota
		}},
		{"a group's own quota beats the default", func(c *Config) {
			c.DefaultGroupQuota = structs.Quota{MaxGPUs: 1}
			c.GroupQuotas = map[string]structs.Quota{"ml": {MaxGPUs: 8}}
		}, func(h *harness) {
			h.submit(newJob().GPUs(4).Group("ml"))
		}, map[string]gateRun{"1": admitted}},
		{"pending quota: the first jobs in order are considered", func(c *Config) { c.DefaultUserQuota = structs.Quota{MaxPending: 2} }, func(h *harness) {
			h.submit(newJob().Priority(10), newJob().Priority(90), newJob().Priority(50), newJob().User("bob"))
		}, map[string]gateRun{
			"1": {hold, structs.WaitQuota, "QuotaExceeded: user alice may have 2 pending jobs considered at once"},
			"2": admitted, "3": admitted, "4": admitted,
		}},
		{"group pending quota", func(c *Config) { c.GroupQuotas = map[string]structs.Quota{"ml": {MaxPending: 1}} }, func(h *harness) {
			h.submit(newJob().Group("ml"), newJob().Group("ml").User("bob"))
		}, map[string]gateRun{
			"1": admitted,
			"2": {hold, structs.WaitQuota, "QuotaExceeded: group ml may have 1 pending job considered at once"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			tc.setup(h)
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			got := h.runGate(cfg, "quotas")
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

// Placements of the pass count against the quota of the jobs after them.
func TestQuotaCountsThisPassesPlacements(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n").GPUs(8))
	h.submit(newJob().GPUs(2), newJob().GPUs(2), newJob().GPUs(1))
	cfg := DefaultConfig()
	cfg.DefaultUserQuota = structs.Quota{MaxGPUs: 4}
	p := h.plan(cfg)
	if got := placed(p); len(got) != 2 || got["3"] != "" {
		t.Errorf("placed %v, want jobs 1 and 2", got)
	}
	if w := waitOf(t, p, "3"); w.Reason != "QuotaExceeded: user alice uses 4 of 4 GPUs, this job needs 1" {
		t.Errorf("job 3 waits %q", w.Reason)
	}
}
