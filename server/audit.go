package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The audit log: every write through the door (accepted or refused) is an
// event with who, what, which object, result and when. The server that
// answered keeps events in memory for a moment and sends them in batches
// through raft (the leader applies them; another server hands them to the
// leader), so the log is replicated and survives a lost server. Blob
// content uploads handled by other servers than the leader are recorded
// the same way.

// AuditConfig configures the audit log.
type AuditConfig struct {
	// FlushInterval is how long events wait to be batched; default
	// DefaultAuditFlush.
	FlushInterval time.Duration
	// Keep bounds the events kept; default DefaultAuditKeep.
	Keep int
	// Retention drops older events; default DefaultAuditRetention.
	Retention time.Duration
}

// Defaults of the audit log.
const (
	DefaultAuditFlush     = 250 * time.Millisecond
	DefaultAuditKeep      = 100_000
	DefaultAuditRetention = 90 * 24 * time.Hour
	// maxAuditBuffer bounds the events waiting for raft when it cannot
	// take them (no leader): the oldest are dropped, and said so.
	maxAuditBuffer = 10_000
)

type auditLog struct {
	s   *Server
	cfg AuditConfig

	mu      sync.Mutex
	pending []*structs.AuditEvent
	dropped int
	wake    chan struct{}
}

func newAuditLog(s *Server, cfg AuditConfig) *auditLog {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultAuditFlush
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultAuditKeep
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultAuditRetention
	}
	return &auditLog{s: s, cfg: cfg, wake: make(chan struct{}, 1)}
}

// auditWrite records one write the door answered.
func (s *Server) auditWrite(r *request, rt route, status int, err error) {
	e := &structs.AuditEvent{
		Time: time.Now().UTC(), Method: r.Method, Path: r.URL.Path, Object: r.audit,
		Status: status, Remote: r.RemoteAddr, Server: s.cfg.NodeName,
	}
	if err != nil {
		_, e.Status = statusOf(err)
		e.Error = err.Error()
	}
	if b, ok := r.Body.(*stallBody); ok && b.answered.Load() {
		// The body stalled and guardBodies answered its 408 in place of
		// the handler's refusal (body_stall.go).
		e.Status = http.StatusRequestTimeout
	}
	switch a := r.acl; {
	case a == nil:
		e.Caller = "unauthenticated"
	case !a.Enabled():
		e.Caller = "acl-disabled"
	default:
		id := a.Identity()
		switch id.Kind {
		case acl.Anonymous:
			e.Caller = "anonymous"
		case acl.KindNode:
			e.Caller = "node " + id.NodeID
		case acl.KindServer:
			e.Caller = "server"
		case acl.KindToken:
			e.User = a.UserName()
			if id.Token != nil {
				e.Accessor = id.Token.AccessorID
				if e.User == "" {
					e.Caller = "token " + id.Token.Name
				}
			}
		}
	}
	s.audit.add(e)
}

func (l *auditLog) add(e *structs.AuditEvent) {
	l.mu.Lock()
	l.pending = append(l.pending, e)
	if n := len(l.pending) - maxAuditBuffer; n > 0 {
		l.pending = l.pending[n:]
		l.dropped += n
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// flushLoop sends batches of events every FlushInterval until stop.
func (l *auditLog) flushLoop(stop <-chan struct{}) {
	t := time.NewTicker(l.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			// Last events go only where they can go at once: raft
			// is stopping and another leader may not come.
			if l.s.IsLeader() {
				l.flush()
			}
			return
		case <-t.C:
			l.flush()
		}
	}
}

func (l *auditLog) flush() {
	l.mu.Lock()
	batch, dropped := l.pending, l.dropped
	l.pending, l.dropped = nil, 0
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if dropped > 0 {
		l.s.logger.Error("audit events dropped: raft could not take them in time", "dropped", dropped)
	}
	req := &structs.AuditAppendRequest{Events: batch, Keep: l.cfg.Keep, Before: time.Now().UTC().Add(-l.cfg.Retention)}
	ctx, cancel := context.WithTimeout(context.Background(), leaderWait+l.s.cfg.ApplyTimeout)
	defer cancel()
	if err := l.s.leaderWrite(ctx, fsm.AuditAppend, http.MethodPost, "/v1/operator/audit", req); err != nil {
		// Put them back for the next try (the buffer stays bounded).
		l.mu.Lock()
		l.pending = append(batch, l.pending...)
		l.mu.Unlock()
		l.s.logger.Warn("audit events wait for raft", "events", len(batch), "err", err)
	}
}

// startAuditFlusher runs on every server for its life (started by New):
// events of writes this server answered go to raft in batches.
func (s *Server) startAuditFlusher() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.audit.flushLoop(s.shutdownCh)
	}()
}

// auditAppend is the leader's route for other servers' batches.
func (s *Server) auditAppend(r *request) (any, uint64, error) {
	var req structs.AuditAppendRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	return s.applyIndex(fsm.AuditAppend, &req)
}

// auditList answers GET /v1/operator/audit?since=&user=&limit=.
func (s *Server) auditList(r *request) (any, uint64, error) {
	q := r.URL.Query()
	f := state.AuditFilter{User: q.Get("user"), Limit: 1000}
	if v := q.Get("since"); v != "" {
		t, err := parseSince(v, time.Now().UTC())
		if err != nil {
			return nil, 0, err
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, 0, structs.NewError(structs.CodeInvalid, "limit %q is not a number of events (0: all)", v)
		}
		f.Limit = n
	}
	out, err := r.snap.Audit(f)
	if err != nil {
		return nil, 0, err
	}
	if out == nil {
		out = []*structs.AuditEvent{}
	}
	return out, r.snap.TableIndex(state.TableAudit), nil
}

// parseSince reads a time as RFC 3339, a date (2026-11-30), or an age
// ("24h", "30d") before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if n, ok := parseDays(v); ok {
		return now.Add(-time.Duration(n) * 24 * time.Hour), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, structs.NewError(structs.CodeInvalid, "since %q is not a time: expected an age such as \"24h\" or \"30d\", a date such as 2026-11-30, or an RFC 3339 time", v)
}

func parseDays(v string) (int, bool) {
	if len(v) < 2 || v[len(v)-1] != 'd' {
		return 0, false
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	return n, err == nil && n >= 0 && n <= 100_000
}
