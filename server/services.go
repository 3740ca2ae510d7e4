package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/gateway"
	"github.com/nai-project/nai/structs"
)

// Services on the server side: every server keeps its gateway's replica
// table in step with its own state (runGatewayTable), and the leader rolls
// back rollouts whose new replicas are not healthy by their deadline
// (watchRollouts). The API is in http_services.go.

// runGatewayTable rebuilds the gateway's table whenever a service or one
// of its allocations changes in this server's state, until shutdown.
func (s *Server) runGatewayTable() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.shutdownCh
		cancel()
	}()
	for ctx.Err() == nil {
		snap := s.State().Snapshot()
		ws := memdb.NewWatchSet()
		svcs, err := gatewayServices(snap, ws)
		if err != nil {
			s.logger.Error("build the gateway's replica table", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		s.gateway.Update(snap.Index(), svcs)
		// A restore from a raft snapshot replaces the whole store.
		ws.Add(snap.AbandonCh())
		_ = ws.WatchCtx(ctx)
	}
}

// gatewayServices is the replica table of a state: every service that has
// not ended, with the replicas that may take requests (running, meant to
// run, reported healthy with an address).
func gatewayServices(snap *state.Snapshot, ws memdb.WatchSet) ([]*gateway.Service, error) {
	jobs, err := snap.Services(ws)
	if err != nil {
		return nil, err
	}
	out := make([]*gateway.Service, 0, len(jobs))
	for _, j := range jobs {
		allocs, err := snap.AllocsByJob(ws, j.ID)
		if err != nil {
			return nil, err
		}
		svc := &gateway.Service{Name: j.Name, JobID: j.ID, User: j.User, Group: j.Group}
		if j.Service != nil {
			svc.Public = j.Service.Public
		}
		var problems []string
		for _, a := range allocs {
			if a.Terminal() || a.DesiredStatus != structs.DesiredRun {
				continue
			}
			svc.Known++
			h := a.ClientStatus.Service
			if a.ClientStatus.Status == structs.AllocRunning && h != nil && h.Healthy && h.Address != "" {
				svc.Replicas = append(svc.Replicas, &gateway.Replica{AllocID: a.ID, Address: h.Address})
				continue
			}
			problems = append(problems, replicaProblem(a))
		}
		if len(problems) > 2 {
			problems = append(problems[:2], fmt.Sprintf("and %d more", len(problems)-2))
		}
		svc.Problem = strings.Join(problems, "; ")
		out = append(out, svc)
	}
	return out, nil
}

// replicaProblem says in a few words why a replica takes no requests.
func replicaProblem(a *structs.Allocation) string {
	why := "starting"
	h := a.ClientStatus.Service
	switch {
	case a.ClientStatus.Status == structs.AllocPending && a.ClientStatus.Message != "":
		why = a.ClientStatus.Message
	case a.ClientStatus.Status == structs.AllocPending:
		why = "not started yet"
	case h != nil && h.HealthError != "":
		why = "unhealthy: " + h.HealthError
	case h != nil && h.LastExit != "":
		why = "restarting after " + h.LastExit
	}
	return fmt.Sprintf("replica %d (%s): %s", a.Replica, a.ID, why)
}

// rolloutCheck is how often the leader looks for rollouts past their
// deadline.
const rolloutCheck = time.Second

// watchRollouts rolls back, on the leader, every rollout whose deadline
// has passed with its new replicas not yet healthy (a healthy one would
// have completed it in the state store).
func (s *Server) watchRollouts(stop chan struct{}) {
	t := time.NewTicker(rolloutCheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.shutdownCh:
			return
		case <-t.C:
		}
		if err := s.rollbackLateRollouts(time.Now().UTC()); err != nil {
			s.logger.Error("roll back late rollouts", "err", err)
		}
	}
}

func (s *Server) rollbackLateRollouts(now time.Time) error {
	snap := s.State().Snapshot()
	jobs, err := snap.Services(nil)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		r := j.Rollout
		if r == nil || r.Status != structs.RolloutRunning || r.Deadline.IsZero() || now.Before(r.Deadline) {
			continue
		}
		allocs, err := snap.AllocsByJob(nil, j.ID)
		if err != nil {
			return err
		}
		reason := rollbackReason(j, allocs, r.Deadline.Sub(r.StartTime))
		s.logger.Warn("rolling back a rollout whose new replicas are not healthy", "service", j.Name, "job", j.ID, "to_version", r.ToVersion, "reason", reason)
		if _, _, err := s.apply(fsm.ServiceRollback, &structs.ServiceRollbackRequest{JobID: j.ID, ToVersion: r.ToVersion, Reason: reason, Now: now}); err != nil {
			return fmt.Errorf("roll back service %s: %w", j.Name, err)
		}
	}
	return nil
}

// rollbackReason says why a rollout failed: how many new replicas became
// healthy in how long, and what the others said.
func rollbackReason(j *structs.Job, allocs []*structs.Allocation, took time.Duration) string {
	healthy, total := 0, 0
	var problems []string
	for _, a := range allocs {
		if a.Terminal() || a.DesiredStatus != structs.DesiredRun || a.JobVersion != j.Version {
			continue
		}
		total++
		if h := a.ClientStatus.Service; h != nil && h.Healthy && a.ClientStatus.Status == structs.AllocRunning {
			healthy++
			continue
		}
		p := replicaProblem(a)
		if h := a.ClientStatus.Service; h != nil && h.Restarts == 1 {
			p += " (restarted once)"
		} else if h != nil && h.Restarts > 1 {
			p += fmt.Sprintf(" (restarted %d times)", h.Restarts)
		}
		problems = append(problems, p)
	}
	slices.Sort(problems)
	want := 0
	if j.Service != nil {
		want = j.Service.Replicas
	}
	msg := fmt.Sprintf("%d of %d new replicas healthy after %s", healthy, want, took.Round(time.Second))
	if total < want {
		msg += fmt.Sprintf(" (%d placed)", total)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		msg += ": " + strings.Join(problems, "; ")
	}
	return msg
}

// GuardServicePaths refuses a service call whose path has dot segments or
// empty ones (/v1/services/NAME/../x, encoded or not): net/http would
// otherwise clean it and redirect the caller out of the service. The
// agent wraps its whole HTTP handler in it.
func GuardServicePaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/v1/services/") && (structs.HasDotSegment(p) || strings.Contains(p, "//")) {
			name, _, _ := strings.Cut(strings.TrimPrefix(p, "/v1/services/"), "/")
			writeCodedError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid,
				"path %q leaves service %q: '.', '..' and empty segments are refused in /v1/services/NAME/ paths", r.URL.EscapedPath(), name))
			return
		}
		next.ServeHTTP(w, r)
	})
}
