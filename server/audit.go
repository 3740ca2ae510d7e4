package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
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
	// refusals are the unattributable refusals of this window (refused).
	refusals refusalCounts
	wake     chan struct{}
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
	unidentified := false
	switch a := r.acl; {
	case a == nil:
		e.Caller = "unauthenticated"
		unidentified = true
	case !a.Enabled():
		e.Caller = "acl-disabled"
	default:
		id := a.Identity()
		switch id.Kind {
		case acl.Anonymous:
			e.Caller = "anonymous"
			unidentified = true
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
	if unidentified && e.Status >= 400 {
		// Anyone who reaches the API can send these: a budget keeps
		// them from flooding raft and the log (refused below).
		s.audit.refused(e)
		return
	}
	s.audit.add(e)
}

// Refused writes of callers the door could not identify (no token, or an
// unknown, expired or malformed one, with ACLs on) are not attributable,
// and anybody who reaches the API can send them as fast as they like:
// recorded one by one, they would fill raft and push the whole history
// out of the log (it keeps the newest Keep events). So each server
// records at most refusalBudget of them one by one per refusalWindow; the
// rest it counts by source address, and when the window ends it records
// one event per address, "N more refused requests from ADDR ...
// suppressed" (at most refusalSources addresses apart, the others in one
// event). Refusals of known callers stay recorded one by one.
var refusalWindow = time.Minute

const (
	refusalBudget  = 60
	refusalSources = 100
	// otherSources sums the addresses beyond refusalSources.
	otherSources = "other addresses"
)

// refusalCounts are one window's suppressed refusals.
type refusalCounts struct {
	start  time.Time
	budget int
	by     map[string]*refusalCount
}

type refusalCount struct {
	n    int
	last *structs.AuditEvent
}

// refused records an unattributable refusal within the budget.
func (l *auditLog) refused(e *structs.AuditEvent) {
	l.mu.Lock()
	l.rollRefusals(e.Time)
	rc := &l.refusals
	if rc.budget > 0 {
		rc.budget--
		l.mu.Unlock()
		l.add(e)
		return
	}
	src := remoteHost(e.Remote)
	c := rc.by[src]
	if c == nil {
		if len(rc.by) >= refusalSources {
			src = otherSources
			c = rc.by[src]
		}
		if c == nil {
			c = &refusalCount{}
			rc.by[src] = c
		}
	}
	c.n++
	c.last = e
	l.mu.Unlock()
}

// rollRefusals starts a new window when the last one ended at now,
// queueing its summaries. l.mu is held.
func (l *auditLog) rollRefusals(now time.Time) {
	rc := &l.refusals
	if !rc.start.IsZero() && now.Sub(rc.start) < refusalWindow {
		return
	}
	end := rc.start.Add(refusalWindow)
	srcs := make([]string, 0, len(rc.by))
	for src := range rc.by {
		srcs = append(srcs, src)
	}
	sort.Strings(srcs)
	for _, src := range srcs {
		c := rc.by[src]
		e := *c.last
		e.Time = end.UTC()
		e.Remote = src
		if src == otherSources {
			e.Remote = ""
		}
		e.Error = fmt.Sprintf("%d more refused requests from %s without a valid credential suppressed between %s and %s (the audit log records %d such refusals a minute one by one); the last: %s %s %d: %s",
			c.n, src, rc.start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), refusalBudget, c.last.Method, c.last.Path, c.last.Status, c.last.Error)
		l.pending = append(l.pending, &e)
	}
	*rc = refusalCounts{start: now, budget: refusalBudget, by: map[string]*refusalCount{}}
	if len(srcs) == 0 {
		return
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// remoteHost is the address of a request's RemoteAddr without its port.
func remoteHost(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
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
	if !l.refusals.start.IsZero() {
		// A window's summaries go out when it ends, even when no
		// refusal comes after it.
		l.rollRefusals(time.Now())
	}
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
