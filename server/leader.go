package server

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

// monitorLeadership starts the leader loop when this server becomes leader
// and stops it when it steps down.
func (s *Server) monitorLeadership() {
	defer s.wg.Done()
	var stop chan struct{}
	done := make(chan struct{})
	for {
		select {
		case isLeader := <-s.leaderCh:
			switch {
			case isLeader && stop == nil:
				stop = make(chan struct{})
				done = make(chan struct{})
				s.logger.Info("became raft leader; scheduling", "server", s.cfg.NodeName)
				go func(stop, done chan struct{}) {
					defer close(done)
					s.leaderLoop(stop)
				}(stop, done)
			case !isLeader && stop != nil:
				s.logger.Info("lost raft leadership", "server", s.cfg.NodeName)
				close(stop)
				<-done
				stop = nil
			}
		case <-s.shutdownCh:
			if stop != nil {
				close(stop)
				<-done
			}
			return
		}
	}
}

// schedDebounce gathers a burst of state changes into one scheduling pass.
const schedDebounce = time.Millisecond

// maxPassGap bounds passGap.
const maxPassGap = 250 * time.Millisecond

// passGap is how long after the end of a pass the next one may start:
// the debounce, or as long as the last pass took when that is longer (at
// most maxPassGap). With thousands of jobs pending a pass takes
// milliseconds; planning after every single submission would then spend
// nearly all of the leader's CPU on passes that each place one job, while
// this keeps scheduling to about half of it and plans a burst at once. A
// change that comes after the gap is over is planned at once: a lone
// submission on a quiet cluster waits for no timer.
func passGap(last time.Duration) time.Duration {
	return min(max(schedDebounce, last), maxPassGap)
}

// passWait is how long a change that comes at now waits for the next
// pass, the last one having ended at end: until the gap is over, and not
// at all after it.
func passWait(end time.Time, gap time.Duration, now time.Time) time.Duration {
	return max(end.Add(gap).Sub(now), 0)
}

// leaderLoop plans on every state change and on a slow timer, and commits
// each plan through raft.
func (s *Server) leaderLoop(stop chan struct{}) {
	// Everything committed by earlier leaders must be applied here before
	// we plan from it.
	if !s.leaderBarrier(stop, func() error { return s.await(s.raft.Barrier(s.cfg.ApplyTimeout)) }) {
		return
	}
	if err := s.ensureServerSecret(); err != nil {
		s.logger.Error("make the servers' shared secret", "err", err)
	}
	if err := s.ensureInitialTokens(); err != nil {
		s.logger.Error("initial tokens", "err", err)
	}
	s.startClusterLeader(stop)
	s.startDrainer(stop)
	s.startJobGC(stop)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watchRollouts(stop)
	}()
	ticker := time.NewTicker(s.cfg.SchedulerInterval)
	defer ticker.Stop()
	gather := time.NewTimer(0)
	<-gather.C
	for {
		start := time.Now()
		if err := s.schedulePass(); errors.Is(err, raft.ErrAbortedByRestore) {
			// An operator's snapshot restore replaced the state under
			// the plan: nothing of it was applied, the next pass plans
			// on the restored state.
			s.logger.Info("scheduling pass dropped: a snapshot restore replaced the state", "err", err)
		} else if err != nil {
			s.logger.Error("scheduling pass failed", "err", err)
		}
		end := time.Now()
		gap := passGap(end.Sub(start))
		select {
		case <-stop:
			return
		case <-s.changeCh:
			// Passes are at least gap apart, counted from the end of the
			// last one: a change after a quiet spell is planned at once
			// (a lone submission does not wait for the debounce), while a
			// burst right after a pass gathers until the gap is over.
			if wait := passWait(end, gap, time.Now()); wait > 0 {
				gather.Reset(wait)
				select {
				case <-stop:
					gather.Stop()
					return
				case <-gather.C:
				}
			}
		case <-ticker.C:
		}
	}
}

// barrierBackoff is the first and the longest wait between failed
// barriers of a new leader.
var barrierBackoff = [2]time.Duration{100 * time.Millisecond, 5 * time.Second}

// leaderBarrier waits until every entry committed by earlier leaders is
// applied here, retrying a failed barrier (a slow disk, a busy FSM) with
// backoff: giving up would leave the cluster without scheduling for the
// whole term. It returns false when leadership ends or the server shuts
// down first.
func (s *Server) leaderBarrier(stop chan struct{}, barrier func() error) bool {
	wait := barrierBackoff[0]
	for attempt := 1; ; attempt++ {
		err := barrier()
		if err == nil {
			if attempt > 1 {
				s.logger.Info("leader barrier succeeded; scheduling", "attempts", attempt)
			}
			return true
		}
		s.logger.Error("leader barrier failed; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		select {
		case <-stop:
			return false
		case <-s.shutdownCh:
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, barrierBackoff[1])
	}
}

// schedulePass computes one plan and, when it changes anything, commits it
// as one raft entry: placements, changed waiting reasons, preemptions and
// never-runnable cancels apply in one transaction (and wake the scheduler
// once). A plan of more than maxPlanEntryAllocs placements and nothing
// else but waiting reasons goes as several entries (planEntries).
func (s *Server) schedulePass() error {
	start := time.Now()
	defer func() { s.metrics.schedPass.Observe(time.Since(start).Seconds()) }()
	snap := s.State().Snapshot()
	now := time.Now().UTC()
	sched, err := s.schedulerFor(snap, now)
	if err != nil {
		return err
	}
	view := newPassView(snap)
	plan := sched.Plan(view, now)
	req := &structs.PlanApplyRequest{Now: now, Preempt: plan.Preempt, Cancel: plan.Cancel}
	nth := map[string]int{} // placements of each service so far: one attempt each
	for _, p := range plan.Placements {
		a, err := s.allocFor(snap, p, now, nth)
		if err != nil {
			return err
		}
		req.Allocs = append(req.Allocs, a)
	}
	placed := map[string]bool{}
	for _, a := range req.Allocs {
		placed[a.JobID] = true
	}
	for _, w := range plan.Waiting {
		if placed[w.JobID] {
			continue
		}
		j := view.Job(w.JobID)
		if j == nil || !waitChanged(j, w) {
			continue
		}
		req.Waiting = append(req.Waiting, w)
	}
	if len(req.Allocs) > 0 || len(req.Waiting) > 0 || len(req.Preempt) > 0 || len(req.Cancel) > 0 {
		// The entries go to raft at once, not one after the other's
		// commit: they are independent (each job whole in one), raft
		// writes them in one append, and the pass ends after one commit.
		parts := planEntries(req, maxPlanEntryAllocs)
		errs := make([]error, len(parts))
		var wg sync.WaitGroup
		for i, part := range parts {
			wg.Go(func() { _, _, errs[i] = s.apply(fsm.PlanApply, part) })
		}
		wg.Wait()
		for i, part := range parts {
			if errs[i] != nil {
				return fmt.Errorf("apply plan: %w", errs[i])
			}
			s.metrics.placements.Add(float64(len(part.Allocs)))
		}
	}
	return nil
}

// maxPlanEntryAllocs bounds the placements and waiting reasons of one
// plan entry (planEntries). Each server
// applies an entry as one state-store transaction, and memdb's radix
// trees track at most 8192 changed nodes a transaction per index: past
// that they fall back to walking the changed trees at commit and copy
// nodes again that they have evicted from their cache. A thousand nodes
// freeing GPUs at once gave plans of thousands of placements, and the
// fallback took a third of the servers' time in applying plans
// (TestBench/Scale profiles); fsm/state BenchmarkLifecycle: 92-95 us a
// job in plans of 256 or 1024 placements, 109 us in plans of 2048.
const maxPlanEntryAllocs = 512

// planEntries splits a plan of placements and waiting reasons into
// entries of at most max of them together, each job's allocations (a
// gang's members) in one entry, the waiting reasons filling what the
// placements leave. A waiting reason is a job row written, as a placement
// is: the reasons of the thousands of jobs a burst of submissions brings
// all went with the last entry, and took it past memdb's tracking of a
// transaction's changes (a tenth of a follower's CPU in walking the trees
// at commit in a 100,000-job run). A plan that preempts or cancels stays
// whole: its placements may stand on what the preemptions free, which
// must then be in the same transaction.
func planEntries(req *structs.PlanApplyRequest, max int) []*structs.PlanApplyRequest {
	if len(req.Allocs)+len(req.Waiting) <= max || len(req.Preempt) > 0 || len(req.Cancel) > 0 {
		return []*structs.PlanApplyRequest{req}
	}
	var order []string
	byJob := map[string][]*structs.Allocation{}
	for _, a := range req.Allocs {
		if _, ok := byJob[a.JobID]; !ok {
			order = append(order, a.JobID)
		}
		byJob[a.JobID] = append(byJob[a.JobID], a)
	}
	var out []*structs.PlanApplyRequest
	cur := &structs.PlanApplyRequest{Now: req.Now}
	for _, id := range order {
		group := byJob[id]
		if len(cur.Allocs) > 0 && len(cur.Allocs)+len(group) > max {
			out = append(out, cur)
			cur = &structs.PlanApplyRequest{Now: req.Now}
		}
		cur.Allocs = append(cur.Allocs, group...)
	}
	for waiting := req.Waiting; len(waiting) > 0; {
		room := max - len(cur.Allocs) - len(cur.Waiting)
		if room <= 0 {
			out = append(out, cur)
			cur = &structs.PlanApplyRequest{Now: req.Now}
			continue
		}
		n := min(room, len(waiting))
		cur.Waiting = append(cur.Waiting, waiting[:n]...)
		waiting = waiting[n:]
	}
	return append(out, cur)
}

// waitChanged reports whether a waiting status differs enough from what the
// job shows to be worth a raft write. Estimated starts that move by less
// than a minute are not: otherwise every pass would write, and every write
// would trigger another pass.
func waitChanged(j *structs.Job, w structs.WaitStatus) bool {
	if j.Reason != w.Reason || !slices.Equal(j.NodeFilters, w.NodeFilters) {
		return true
	}
	d := j.EstimatedStart.Sub(w.EstimatedStart)
	if d < 0 {
		d = -d
	}
	return d >= time.Minute || j.EstimatedStart.IsZero() != w.EstimatedStart.IsZero()
}

// allocFor turns a placement into an allocation. Its id is chosen here,
// before raft, so applying the log stays deterministic. A service's
// replicas are allocations of their own: each placement takes the next
// attempt number (nth counts them per job in this plan), and its Rank is
// the replica number.
func (s *Server) allocFor(snap *state.Snapshot, p structs.Placement, now time.Time, nth map[string]int) (*structs.Allocation, error) {
	j, err := snap.JobByID(nil, p.JobID)
	if err != nil || j == nil {
		return nil, fmt.Errorf("plan names job %s which is not in state: %v", p.JobID, err)
	}
	n, err := snap.NodeByID(nil, p.NodeID)
	if err != nil || n == nil {
		return nil, fmt.Errorf("plan names node %s which is not in state: %v", p.NodeID, err)
	}
	attempt := j.Attempt + 1
	if j.IsService() {
		nth[j.ID]++
		attempt = j.Attempt + nth[j.ID]
	}
	id := fmt.Sprintf("%s.%d", j.ID, attempt)
	if j.Resources.Nodes > 1 {
		id = fmt.Sprintf("%s.%d.%d", j.ID, attempt, p.Rank)
	}
	a := &structs.Allocation{
		ID:            id,
		JobID:         j.ID,
		JobName:       j.Name,
		NodeID:        n.ID,
		NodeName:      n.Name,
		GPUs:          slices.Clone(p.GPUs),
		Resources:     j.Resources,
		Attempt:       attempt,
		DesiredStatus: structs.DesiredRun,
		Rank:          p.Rank,
		ClientStatus:  structs.ClientStatusFields{Status: structs.AllocPending},
		CreateTime:    now,
	}
	if j.IsService() {
		a.Rank, a.Replica, a.JobVersion = 0, p.Rank, j.Version
	}
	if a.GPUs == nil {
		a.GPUs = []int{}
	}
	for _, gi := range p.GPUs {
		for _, g := range n.GPUs {
			if g.Index == gi {
				a.GPUUUIDs = append(a.GPUUUIDs, g.UUID)
			}
		}
	}
	return a, nil
}

// fairShareRefresh is how old the fair-share usage may be. Usage decays
// over days, so a second of staleness changes no decision, and it saves
// reading every allocation on every pass of a busy leader.
const fairShareRefresh = time.Second

// fairShareMaxAge bounds how old the usage may grow when computing it is
// slow (Slurm recomputes its priorities every five minutes by default).
const fairShareMaxAge = 30 * time.Second

// fairShareAge is how long usage that took cost to compute is used: a
// second, or fifty times the cost, so that a state with many allocations
// (the computation reads them all) spends at most about 2 % of a core on
// it rather than a share that grows with the state.
func fairShareAge(cost time.Duration) time.Duration {
	return min(max(fairShareRefresh, 50*cost), fairShareMaxAge)
}

// usageCache holds the last fair-share usage computed from state.
type usageCache struct {
	mu    sync.Mutex
	at    time.Time
	usage *scheduler.Usage
	// cost is how long computing it took.
	cost time.Duration
}

// schedulerFor returns the scheduler for the policy in the snapshot
// (policy.go) with the fair-share usage of every
// allocation in the snapshot, decayed to now (or to a moment at most
// fairShareAge before it). The usage is computed from raft state alone, so
// a new leader plans as the old one did.
func (s *Server) schedulerFor(snap *state.Snapshot, now time.Time) (*scheduler.Scheduler, error) {
	sched, err := s.policyScheduler(snap)
	if err != nil {
		return nil, err
	}
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	if s.usage.usage != nil && now.Sub(s.usage.at) >= 0 && now.Sub(s.usage.at) < fairShareAge(s.usage.cost) {
		return sched.WithUsage(s.usage.usage), nil
	}
	start := time.Now()
	allocs, err := snap.Allocs(nil)
	if err != nil {
		return nil, fmt.Errorf("read allocations for fair share: %w", err)
	}
	recs := make([]scheduler.UsageRecord, 0, len(allocs))
	for _, a := range allocs {
		j, err := snap.JobByID(nil, a.JobID)
		if err != nil {
			return nil, fmt.Errorf("read job %s for fair share: %w", a.JobID, err)
		}
		if r, ok := scheduler.RecordOf(a, j); ok {
			recs = append(recs, r)
		}
	}
	// Finished jobs that job GC removed count through the usage rows.
	archived, err := archivedUsage(snap)
	if err != nil {
		return nil, fmt.Errorf("read archived usage for fair share: %w", err)
	}
	recs = append(recs, archived...)
	u := scheduler.AccumulateUsage(recs, now, s.cfg.Scheduler.FairShare.HalfLife)
	s.usage.at, s.usage.usage, s.usage.cost = now, u, time.Since(start)
	return sched.WithUsage(u), nil
}
