package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// ForwardedHeader marks a request one server forwarded to the leader. A
// server receiving it answers itself, so a request never travels in a loop
// while leadership moves.
const ForwardedHeader = "X-Nai-Forwarded-By"

// leaderWait bounds how long a request waits for an election before it is
// answered "no leader".
const leaderWait = 10 * time.Second

// maxReplay bounds the request bodies kept in memory so a forward can be
// retried when the leader it was meant for turns out dead: API requests
// are small; a large upload is forwarded once.
const maxReplay = 4 << 20

// forward wraps the API so any server answers any request: writes go to
// the raft leader, and so do reads unless they ask for ?stale (then this
// server answers from its own, possibly older, state). Agent and status
// endpoints describe this server and are always answered here. In dev mode
// (no cluster) it changes nothing.
func (s *Server) forward(next http.Handler) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target := pr.In.Context().Value(forwardTarget{}).(*url.URL)
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(ForwardedHeader, s.cfg.NodeName)
		},
		Transport: &leaderTransport{s: s, base: s.peerTransport},
		// Log streams and long-polls pass through as they are written.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			s.logger.Warn("forward to leader failed", "method", r.Method, "path", r.URL.Path, "err", err)
			writeCodedError(w, http.StatusServiceUnavailable, structs.NewError(structs.CodeUnavailable,
				"forwarding to the raft leader failed: %v (the leader may have just changed; retry)", err))
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cluster == nil || !s.mustForward(r) {
			next.ServeHTTP(w, r)
			return
		}
		target, err := s.leaderHTTP(r.Context())
		if err != nil {
			writeCodedError(w, http.StatusServiceUnavailable, err)
			return
		}
		if target == nil { // we became leader while waiting
			next.ServeHTTP(w, r)
			return
		}
		if err := s.resetFileOnFollower(r); err != nil {
			writeCodedError(w, http.StatusConflict, err)
			return
		}
		if err := replayableBody(r); err != nil {
			writeCodedError(w, http.StatusBadRequest, err)
			return
		}
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), forwardTarget{}, target)))
	})
}

type forwardTarget struct{}

// mustForward says whether a request needs the leader.
func (s *Server) mustForward(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/v1/agent/") || strings.HasPrefix(p, "/v1/status/") {
		return false
	}
	// Metrics describe the server that answers (metrics.go).
	if p == "/v1/metrics" {
		return false
	}
	// Blob data lives on each server's disk: the server a client talks to
	// stores and serves it (blob_replicate.go); holdings reach raft apart.
	if p == "/v1/blobs" || strings.HasPrefix(p, "/v1/blobs/") {
		return false
	}
	// So is the content of dataset and model versions: it is read from
	// this server's copy (the version itself is checked in its state).
	if strings.HasSuffix(p, "/content") && (strings.HasPrefix(p, "/v1/datasets/") || strings.HasPrefix(p, "/v1/models/")) {
		return false
	}
	if isServiceCall(p) {
		return false // a service call: this server's gateway answers it
	}
	if r.Header.Get(ForwardedHeader) != "" {
		return false
	}
	isRead := r.Method == http.MethodGet || r.Method == http.MethodHead
	if isRead && r.URL.Query().Has("stale") {
		// A node's allocation long-poll is stale on purpose (any server
		// carries it), but not from a server cut off from the leader: its
		// nodes would wait on a state that no longer moves.
		if isNodeAllocPoll(p) && !s.IsLeader() && (!s.inTouchWithLeader() || !s.knowsNodeSecret(r)) {
			return true
		}
		return false
	}
	return !s.IsLeader()
}

// knowsNodeSecret says whether this server's state knows the node secret
// a request presents (always, with ACLs off). A node that registered a
// moment ago may poll a follower that has not applied its registration
// yet: the leader, which committed it, answers that poll instead of this
// server refusing an "unknown token".
func (s *Server) knowsNodeSecret(r *http.Request) bool {
	if !s.cfg.ACL.Enabled {
		return true
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" {
		return true // the door answers what is wrong with it
	}
	if sec := s.serverSecret(); sec != "" && subtle.ConstantTimeCompare([]byte(sec), []byte(secret)) == 1 {
		return true
	}
	node, err := s.State().Snapshot().NodeBySecretHash(hashSecret(secret))
	return err == nil && node != ""
}

// maxPollStaleness is how long a follower may go without hearing from the
// leader and still answer nodes' long-polls itself: many heartbeats (raft
// sends one every few hundred milliseconds), so that only a server cut off
// from the cluster hands them on.
const maxPollStaleness = 5 * time.Second

// inTouchWithLeader says whether a follower heard from the leader lately.
func (s *Server) inTouchWithLeader() bool { return heardLately(s.raft.LastContact(), time.Now()) }

// heardLately says whether a last contact with the leader (zero: never)
// is recent enough at now for a follower to answer nodes' long-polls.
func heardLately(lastContact, now time.Time) bool {
	return !lastContact.IsZero() && now.Sub(lastContact) < maxPollStaleness
}

// isNodeAllocPoll matches /v1/client/nodes/{id}/allocations.
func isNodeAllocPoll(p string) bool {
	rest, ok := strings.CutPrefix(p, "/v1/client/nodes/")
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, "/allocations")
	return ok && id != "" && !strings.Contains(id, "/")
}

// leaderHTTP finds the leader's HTTP address through serf, waiting a
// little for an election. It returns nil when this server is the leader.
func (s *Server) leaderHTTP(ctx context.Context) (*url.URL, error) {
	ctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if s.IsLeader() {
			return nil, nil
		}
		_, id := s.raft.LeaderWithID()
		if id != "" {
			if mem, ok := s.cluster.memberByName(string(id)); ok && mem.Tags.HTTPAddr != "" && mem.Alive() {
				return &url.URL{Scheme: s.scheme(), Host: mem.Tags.HTTPAddr}, nil
			}
		}
		select {
		case <-ctx.Done():
			if id != "" {
				return nil, structs.NewError(structs.CodeUnavailable, "the raft leader %s has no known HTTP address in serf", id)
			}
			return nil, structs.NewError(structs.CodeNotLeader, "no raft leader after %s: the servers cannot elect one; quorum may be lost (is a majority of them up?)", leaderWait)
		case <-t.C:
		}
	}
}

// writeCodedError answers with an API error body.
func writeCodedError(w http.ResponseWriter, status int, err error) {
	var e *structs.Error
	if !errors.As(err, &e) {
		e = structs.NewError(structs.CodeInternal, "%v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(structs.ErrorBody{Error: e})
}

// replayableBody reads a small request body into memory and sets GetBody,
// so the transport can send it again to a new leader.
func replayableBody(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength < 0 || r.ContentLength > maxReplay {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxReplay+1))
	if err != nil {
		return structs.NewError(structs.CodeInvalid, "read request body: %v", err)
	}
	r.Body.Close()
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.Body, _ = r.GetBody()
	return nil
}

// leaderTransport sends a forwarded request and, when the leader cannot
// be reached at all (the request never left), waits for raft to find the
// next leader and sends it there: a client submitting while the leader
// dies sees a short delay, not an error.
type leaderTransport struct {
	s    *Server
	base http.RoundTripper
}

func (t *leaderTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), leaderWait)
	defer cancel()
	for {
		resp, err := t.base.RoundTrip(req)
		if err == nil || !isDialError(err) || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, err
		}
		failed := req.URL.Host
		var next string
		for next == "" || next == failed {
			select {
			case <-ctx.Done():
				return nil, err
			case <-time.After(50 * time.Millisecond):
			}
			next = t.s.leaderHTTPAddr()
		}
		t.s.logger.Info("leader unreachable; forwarding to the new leader", "old", failed, "new", next)
		retry := req.Clone(req.Context())
		retry.URL.Host = next
		if req.GetBody != nil {
			if retry.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		req = retry
	}
}

// leaderHTTPAddr is the HTTP address (host:port) of the raft leader as
// serf knows it, this server included; "" when unknown.
func (s *Server) leaderHTTPAddr() string {
	_, id := s.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	mem, ok := s.cluster.memberByName(string(id))
	if !ok || !mem.Alive() {
		return ""
	}
	return mem.Tags.HTTPAddr
}

// isDialError reports whether a request failed before it was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// resetFileOnFollower refuses an ACL bootstrap that a follower holding an
// ACL bootstrap reset file would forward: only the leader reads its reset
// file, so the leader would answer "already bootstrapped" as if the file
// did not exist.
func (s *Server) resetFileOnFollower(r *http.Request) error {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/acl/bootstrap" {
		return nil
	}
	if _, err := os.Stat(s.cfg.ACL.BootstrapResetFile); err != nil {
		return nil
	}
	_, leader := s.raft.LeaderWithID()
	return structs.NewError(structs.CodeConflict,
		"this server (%s) holds the ACL bootstrap reset file %s, but only the raft leader reads its own: it is %s; move the file into the leader's data dir (<data_dir>/server/acl-bootstrap-reset there) and run nai acl bootstrap against the leader",
		s.cfg.NodeName, s.cfg.ACL.BootstrapResetFile, leader)
}
