package server

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// drainRecheck bounds how long the drainer sleeps without a state change
// or a deadline to wake it: a guard, not the way drains move on.
const drainRecheck = 30 * time.Second

// startDrainer runs the leader's side of node drains until stop closes:
// it stops a draining node's allocations at the deadline and completes
// the drain when none is left. Everything it acts on is in raft state, so
// a new leader carries on where the old one stopped.
func (s *Server) startDrainer(stop chan struct{}) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-stop:
			case <-s.shutdownCh:
			}
			cancel()
		}()
		s.drainLoop(ctx)
	}()
}

func (s *Server) drainLoop(ctx context.Context) {
	for ctx.Err() == nil {
		now := time.Now().UTC()
		snap := s.State().Snapshot()
		seen, err := drainWatch(nil, snap)
		var ids []string
		var next time.Time
		if err == nil {
			ids, next, err = snap.DrainSteps(now)
		}
		if err != nil {
			s.logger.Error("read draining nodes", "err", err)
			if !sleepCtx(ctx, time.Second) {
				return
			}
			continue
		}
		failed := false
		for _, id := range ids {
			req := &structs.NodeDrainProgressRequest{NodeID: id, Now: now}
			if _, _, err := s.apply(fsm.NodeDrainProgress, req); err != nil {
				s.logger.Error("move node drain on", "node", id, "err", err)
				failed = true
			}
		}
		if failed && !sleepCtx(ctx, time.Second) {
			return
		}
		if len(ids) > 0 {
			continue // look at the result before sleeping
		}
		wait := drainRecheck
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(now), time.Millisecond))
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		err = s.State().BlockingQuery(wctx, seen, drainWatch)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			s.logger.Error("wait for node or allocation changes", "err", err)
		}
	}
}

// drainWatch watches what a drain depends on, the nodes and the
// allocations of draining nodes, and returns the newest change among them.
// Allocations elsewhere are not read, so a busy cluster with no drain does
// not wake the drainer.
func drainWatch(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
	nodes, err := snap.Nodes(ws)
	if err != nil {
		return 0, err
	}
	idx := uint64(1)
	for _, n := range nodes {
		idx = max(idx, n.ModifyIndex)
		if !n.Drain {
			continue
		}
		last, err := snap.NodeAllocsChanged(ws, n.ID)
		if err != nil {
			return 0, err
		}
		idx = max(idx, last)
	}
	return idx, nil
}

// sleepCtx waits d, or less when ctx ends first (false then).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
