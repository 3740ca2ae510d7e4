package scheduler

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nai-project/nai/structs"
)

func TestShares(t *testing.T) {
	h := newHarness(t)
	h.submit(newJob().User("carol").Group("vision").GPUs(1))
	cfg := DefaultConfig()
	cfg.FairShare.UserShares = map[string]float64{"alice": 3}
	cfg.FairShare.GroupShares = map[string]float64{"ml": 4}
	cfg.Usage = &Usage{Users: map[string]float64{"alice": 30, "bob": 10}, Groups: map[string]float64{"ml": 40}}
	got := New(cfg).Shares(h.st)
	// Users: alice 3 shares, bob and carol 1 each (default): 5 in all.
	// Usage: alice 30 of 40, bob 10 of 40.
	want := []structs.ShareInfo{
		{Kind: structs.AccountGroup, Name: "ml", Shares: 4, NormShares: 0.8, Usage: 40, EffectiveUsage: 1, FairShare: math.Exp2(-1 / 0.8)},
		{Kind: structs.AccountGroup, Name: "vision", Shares: 1, NormShares: 0.2, FairShare: 1},
		{Kind: structs.AccountUser, Name: "alice", Shares: 3, NormShares: 0.6, Usage: 30, EffectiveUsage: 0.75, FairShare: math.Exp2(-0.75 / 0.6)},
		{Kind: structs.AccountUser, Name: "bob", Shares: 1, NormShares: 0.2, Usage: 10, EffectiveUsage: 0.25, FairShare: math.Exp2(-0.25 / 0.2)},
		{Kind: structs.AccountUser, Name: "carol", Shares: 1, NormShares: 0.2, FairShare: 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
}

func TestExplainMatchesOrderAndFactors(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n"))
	h.submit(
		newJob().User("alice").GPUs(1),
		newJob().User("bob").GPUs(1).Priority(80),
		newJob().User("carol").GPUs(1),
	)
	cfg := DefaultConfig()
	cfg.Usage = &Usage{Users: map[string]float64{"alice": 5}, Groups: map[string]float64{}}
	s := New(cfg)
	got := s.Explain(h.st, h.now)
	order := s.Order(h.st, h.now)
	if len(got) != len(order) {
		t.Fatalf("%d factors for %d jobs", len(got), len(order))
	}
	var ids []string
	for i, j := range order {
		ids = append(ids, j.ID)
		if diff := cmp.Diff(s.Factors(h.st, j, h.now), got[i]); diff != "" {
			t.Errorf("job %s: Explain differs from Factors (-factors +explain):\n%s", j.ID, diff)
		}
	}
	// bob's own priority first, then carol (no usage) before alice.
	if diff := cmp.Diff([]string{"2", "3", "1"}, ids); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
