package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

// policyConfig is the scheduling policy in force in snap: the server's
// configured policy with the queues, shares and quotas kept in raft. Queues
// come from raft alone, with the implicit default queue, because the store
// checks jobs against them at registration and cannot see this server's
// configuration; stored shares and quotas are laid over configured ones. ok
// is false when raft holds no policy, so the configured scheduler can be
// used as it is.
func (s *Server) policyConfig(snap *state.Snapshot) (cfg scheduler.Config, ok bool, err error) {
	queues, err := snap.Queues(nil)
	if err != nil {
		return cfg, false, fmt.Errorf("read queues: %w", err)
	}
	shares, err := snap.Shares(nil)
	if err != nil {
		return cfg, false, fmt.Errorf("read shares: %w", err)
	}
	quotas, err := snap.Quotas(nil)
	if err != nil {
		return cfg, false, fmt.Errorf("read quotas: %w", err)
	}
	cfg = s.cfg.Scheduler
	cfg.Queues = effectiveQueues(queues)
	if len(queues) == 0 && len(shares) == 0 && len(quotas) == 0 {
		return cfg, false, nil
	}
	// Copy every map before writing: the configured ones are shared.
	cfg.FairShare.UserShares = maps.Clone(cfg.FairShare.UserShares)
	cfg.FairShare.GroupShares = maps.Clone(cfg.FairShare.GroupShares)
	for _, sh := range shares {
		if sh.Kind == structs.AccountGroup {
			cfg.FairShare.GroupShares = put(cfg.FairShare.GroupShares, sh.Name, sh.Shares)
		} else {
			cfg.FairShare.UserShares = put(cfg.FairShare.UserShares, sh.Name, sh.Shares)
		}
	}
	cfg.UserQuotas = maps.Clone(cfg.UserQuotas)
	cfg.GroupQuotas = maps.Clone(cfg.GroupQuotas)
	for _, q := range quotas {
		if q.Kind == structs.AccountGroup {
			cfg.GroupQuotas = put(cfg.GroupQuotas, q.Name, q.Quota)
		} else {
			cfg.UserQuotas = put(cfg.UserQuotas, q.Name, q.Quota)
		}
	}
	return cfg, true, nil
}

func put[V any](m map[string]V, k string, v V) map[string]V {
	if m == nil {
		m = map[string]V{}
	}
	m[k] = v
	return m
}

// effectiveQueues is the stored queues with the implicit default queue,
// by name.
func effectiveQueues(stored []*structs.Queue) []structs.Queue {
	byName := map[string]structs.Queue{}
	for _, q := range stored {
		byName[q.Name] = *q
	}
	if _, ok := byName[structs.DefaultQueueName]; !ok {
		byName[structs.DefaultQueueName] = structs.Queue{Name: structs.DefaultQueueName}
	}
	out := slices.Collect(maps.Values(byName))
	slices.SortFunc(out, func(a, b structs.Queue) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// policyScheduler returns the scheduler for the policy in snap.
func (s *Server) policyScheduler(snap *state.Snapshot) (*scheduler.Scheduler, error) {
	cfg, stored, err := s.policyConfig(snap)
	if err != nil {
		return nil, err
	}
	if !stored && len(s.cfg.Scheduler.Queues) == 0 {
		return s.sched, nil // the same policy: one default queue, configured shares
	}
	return scheduler.New(cfg), nil
}
