package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The one door: every HTTP route of the server is declared once in the
// route table (routes.go) with the capability it needs, and served through
// wrap, which authenticates the caller, checks the capability, runs the
// handler, writes the answer or the coded error, and records writes in the
// audit log. Handlers make the finer decisions about one object (a job, a
// dataset) by asking the request's ACL before they change anything.

// request is what a handler gets: the HTTP request and who sent it.
type request struct {
	*http.Request
	acl *acl.ACL
	// snap is the state the caller was authorized against; handlers that
	// need a consistent view of state read it rather than take another.
	snap *state.Snapshot
	// audit names the object a write touched, for the audit log, when
	// the path alone does not say it (a created job's id).
	audit string
}

// handlerFunc answers a JSON route: the answer and the state index it
// reflects (0: none).
type handlerFunc func(r *request) (any, uint64, error)

// streamFunc writes its own answer (logs, blobs, archives). An error
// returned before anything was written becomes an API error.
type streamFunc func(w http.ResponseWriter, r *request) error

// route is one endpoint of the API.
type route struct {
	// Method is the HTTP method; "" takes every method (the gateway).
	Method string
	Path   string
	// Cap is what the caller needs before the handler runs.
	Cap acl.Capability
	// Doc says in a line what the route does (the API reference).
	Doc    string
	handle handlerFunc
	stream streamFunc
	// service marks the gateway: it carries a service's own traffic, which
	// is neither audited nor forwarded to the leader (http_services.go).
	service bool
	// whileCatchingUp marks a route that describes this server rather
	// than the state, answered while the state replays raft's log
	// (catchup.go); public routes always are.
	whileCatchingUp bool
}

// pattern is the net/http mux pattern of the route.
func (rt route) pattern() string {
	if rt.Method == "" {
		return rt.Path
	}
	return rt.Method + " " + rt.Path
}

// isWrite reports whether the route changes state (and is audited).
func (rt route) isWrite() bool {
	return !rt.service && rt.Method != http.MethodGet && rt.Method != http.MethodHead
}

// tokenParams are query parameters that would carry a secret in a URL,
// where it ends up in proxies' and servers' logs: refused.
var tokenParams = []string{"token", "access_token", "secret", "secret_id", "x-nai-token"}

// wrap serves a route through the door.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request{Request: r}
		sw := &statusWriter{ResponseWriter: w}
		err := s.admit(req, rt)
		if req.snap != nil {
			sw.Header().Set(structs.LastIndexHeader, strconv.FormatUint(req.snap.Index(), 10))
		}
		if err == nil {
			err = s.serve(sw, req, rt)
		}
		if err != nil && !sw.wrote {
			s.writeError(sw, r, err)
		}
		if rt.isWrite() && rt.Cap != acl.Client && rt.Cap != acl.Server {
			s.auditWrite(req, rt, sw.status(), err)
		}
	})
}

// minIndexWait bounds how long a server waits to catch up with the index
// a caller has seen.
const minIndexWait = 5 * time.Second

// admit authenticates the caller and checks the route's capability.
func (s *Server) admit(req *request, rt route) error {
	if v := req.Header.Get(structs.MinIndexHeader); v != "" {
		// Read your writes: a caller that saw index N (on the leader) is
		// answered from a state that has it, on any server.
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > s.State().LatestIndex() {
			ctx, cancel := context.WithTimeout(req.Context(), minIndexWait)
			err := s.State().WaitIndex(ctx, n)
			cancel()
			if err != nil && req.Context().Err() == nil {
				return structs.NewError(structs.CodeUnavailable, "this server has not caught up with index %d in %s; retry", n, minIndexWait)
			}
		}
	}
	if rt.Cap != acl.Public && !rt.whileCatchingUp {
		// Nothing is answered from a half-replayed state (catchup.go).
		if err := s.awaitCaughtUp(req.Context()); err != nil {
			return err
		}
	}
	a, snap, err := s.authenticate(req.Request)
	if err != nil && rt.Cap == acl.Public && structs.CodeOf(err) == structs.CodeUnauthorized {
		// A public route answers whatever the credential: a health check
		// with a stale token still works.
		a, snap, err = acl.New(acl.Identity{}), s.State().Snapshot(), nil
	}
	if err != nil && structs.CodeOf(err) == structs.CodeUnauthorized {
		// A token issued since the state's snapshot is not "unknown"
		// while the state catches up.
		if applied, target, ok := s.caughtUp(); !ok {
			return s.catchingUpError(applied, target)
		}
	}
	if err != nil {
		return err
	}
	req.acl, req.snap = a, snap
	return a.Check(rt.Cap)
}

func (s *Server) serve(w *statusWriter, req *request, rt route) error {
	if rt.stream != nil {
		return rt.stream(w, req)
	}
	out, idx, err := rt.handle(req)
	if err != nil {
		return err
	}
	writeJSON(w, idx, out)
	return nil
}

// statusWriter remembers whether and what a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
	code  int
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote, w.code = true, code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.wrote, w.code = true, http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush lets log streams through as they are written.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wrote {
			w.wrote, w.code = true, http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// authenticate resolves who sent r. With ACLs off everyone may do
// everything; secrets in the URL are refused either way.
func (s *Server) authenticate(r *http.Request) (*acl.ACL, *state.Snapshot, error) {
	q := r.URL.Query()
	for _, p := range tokenParams {
		if q.Has(p) {
			return nil, nil, structs.NewError(structs.CodeInvalid,
				"a token in the URL (?%s=) is refused: URLs end up in logs; send the header \"Authorization: Bearer <secret>\"", p)
		}
	}
	snap := s.State().Snapshot()
	h := r.Header.Get("Authorization")
	if !s.cfg.ACL.Enabled {
		return acl.Disabled(), snap, nil
	}
	if h == "" {
		return acl.New(acl.Identity{}), snap, nil
	}
	secret, ok := strings.CutPrefix(h, "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" || strings.ContainsAny(secret, " \t") {
		return nil, nil, structs.NewError(structs.CodeUnauthorized, "malformed Authorization header: expected \"Bearer <secret>\"")
	}
	a, err := s.idents.resolve(snap, secret, time.Now())
	return a, snap, err
}

// identCache keeps resolved identities by the hash of their secret, valid
// while the identity tables' raft index does not move (and the token has
// not expired): a request then costs a hash and a map lookup.
type identCache struct {
	mu      sync.Mutex
	index   uint64
	entries map[string]identEntry
}

type identEntry struct {
	acl     *acl.ACL
	expires time.Time // zero: never
}

// maxIdentCache bounds the cache; it is emptied when full.
const maxIdentCache = 10000

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (c *identCache) resolve(snap *state.Snapshot, secret string, now time.Time) (*acl.ACL, error) {
	h := hashSecret(secret)
	idx := snap.TableIndex(state.TableACL)
	c.mu.Lock()
	if c.index != idx || len(c.entries) > maxIdentCache {
		c.entries, c.index = map[string]identEntry{}, idx
	}
	e, ok := c.entries[h]
	c.mu.Unlock()
	if ok && (e.expires.IsZero() || now.Before(e.expires)) {
		return e.acl, nil
	}
	a, expires, err := resolveSecret(snap, h, secret, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.index == idx {
		c.entries[h] = identEntry{acl: a, expires: expires}
	}
	c.mu.Unlock()
	return a, nil
}

// resolveSecret finds what a secret belongs to: a token, a client node,
// or the servers.
func resolveSecret(snap *state.Snapshot, h, secret string, now time.Time) (*acl.ACL, time.Time, error) {
	t, err := snap.TokenBySecretHash(h)
	if err != nil {
		return nil, time.Time{}, err
	}
	if t != nil {
		if t.Expired(now) {
			return nil, time.Time{}, structs.NewError(structs.CodeUnauthorized, "token %s expired at %s: ask for a new one (nai token create)", shortID(t.AccessorID), t.ExpirationTime.Format(time.RFC3339))
		}
		id := acl.Identity{Kind: acl.KindToken, Token: t}
		if t.User != "" {
			u, err := snap.UserByName(nil, t.User)
			if err != nil {
				return nil, time.Time{}, err
			}
			if u == nil {
				return nil, time.Time{}, structs.NewError(structs.CodeUnauthorized, "token %s belongs to user %s, who no longer exists", shortID(t.AccessorID), t.User)
			}
			if id.Groups, err = snap.GroupRoles(u.Name); err != nil {
				return nil, time.Time{}, err
			}
			id.User = u
		}
		return acl.New(id), t.ExpirationTime, nil
	}
	node, err := snap.NodeBySecretHash(h)
	if err != nil {
		return nil, time.Time{}, err
	}
	if node != "" {
		return acl.New(acl.Identity{Kind: acl.KindNode, NodeID: node}), time.Time{}, nil
	}
	meta, err := snap.ACLMeta()
	if err != nil {
		return nil, time.Time{}, err
	}
	if meta.ServerSecret != "" && subtle.ConstantTimeCompare([]byte(meta.ServerSecret), []byte(secret)) == 1 {
		return acl.New(acl.Identity{Kind: acl.KindServer}), time.Time{}, nil
	}
	return nil, time.Time{}, structs.NewError(structs.CodeUnauthorized, "unknown token: it was revoked, belongs to another cluster, or was never issued")
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// writeJSON answers with v and the state index.
func writeJSON(w http.ResponseWriter, index uint64, v any) {
	w.Header().Set("Content-Type", "application/json")
	if index > 0 {
		w.Header().Set(structs.IndexHeader, strconv.FormatUint(index, 10))
	}
	_ = json.NewEncoder(w).Encode(v)
}

// statusOf maps an error code to its HTTP status.
func statusOf(err error) (structs.ErrorCode, int) {
	code := structs.CodeOf(err)
	if errors.Is(err, syscall.ENOSPC) {
		return structs.CodeUnavailable, http.StatusInsufficientStorage
	}
	switch code {
	case structs.CodeNotFound:
		return code, http.StatusNotFound
	case structs.CodeInvalid:
		return code, http.StatusBadRequest
	case structs.CodeConflict:
		return code, http.StatusConflict
	case structs.CodeNotLeader, structs.CodeUnavailable, structs.CodeCatchingUp:
		return code, http.StatusServiceUnavailable
	case structs.CodeUnauthorized:
		return code, http.StatusUnauthorized
	case structs.CodeForbidden, structs.CodeQuotaExceeded:
		return code, http.StatusForbidden
	}
	return code, http.StatusInternalServerError
}

// writeError answers with the coded error body and a fitting status.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, status := statusOf(err)
	if errors.Is(err, syscall.ENOSPC) {
		// A full disk is the operator's to fix, not a bug: say so, and
		// keep serving everything that does not need space.
		err = fmt.Errorf("the server's disk is full: %w", err)
	}
	if errors.Is(err, context.Canceled) {
		// The caller went away (an agent stopping ends its long-polls)
		// or this server is shutting down: not a failure of the server.
		s.logger.Debug("request cancelled", "method", r.Method, "path", r.URL.Path, "err", err)
		code, status = structs.CodeUnavailable, http.StatusServiceUnavailable
	} else if status == http.StatusInternalServerError {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="nai"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(structs.ErrorBody{Error: &structs.Error{Code: code, Message: err.Error()}})
}
