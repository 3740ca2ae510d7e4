package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nai-project/nai/structs"
)

// MaxReplayBody is the largest request body the gateway keeps so that an
// idempotent request can be sent to another replica after a failure.
const MaxReplayBody = 1 << 20

// ReplicaHeader names, in every proxied answer, the allocation of the
// replica that answered.
const ReplicaHeader = structs.ReplicaHeader

// Config configures a gateway.
type Config struct {
	// NewTransport makes the connection pool of one replica; nil:
	// NewTransport.
	NewTransport func() *http.Transport
	Logger       *slog.Logger
}

// Gateway forwards requests to services' replicas. It is safe for
// concurrent use.
type Gateway struct {
	table        atomic.Pointer[table]
	newTransport func() *http.Transport
	logger       *slog.Logger
	rr           atomic.Uint32 // where the next tie-break starts
}

type table struct {
	byName map[string]*Service
	index  uint64
}

// Service is one service of the table.
type Service struct {
	Name  string
	JobID string
	User  string
	Group string
	// Public: anyone may call it (the door checks; the gateway carries it).
	Public bool
	// Replicas are those that may take requests: running, meant to run,
	// and healthy by their client's last report.
	Replicas []*Replica
	// Known is how many replicas the service has in all (healthy or not),
	// and Problem why those that are not healthy are not, for a 503.
	Known   int
	Problem string
}

// Replica is one healthy replica.
type Replica struct {
	AllocID string
	Address string // host:port
	// inflight counts the requests this gateway has sent it that have not
	// finished; it survives table updates, as does the replica's own pool
	// of keep-alive connections.
	inflight  atomic.Int64
	transport *http.Transport
	// gone: the replica left the table. Its idle connections are closed
	// from this side, at once and as its last requests finish, so that
	// when it is stopped none lingers in TIME_WAIT on its port (whoever
	// closes first keeps it), where a new replica may want to listen.
	gone atomic.Bool
}

// Inflight is how many requests this gateway has in flight to r.
func (r *Replica) Inflight() int64 { return r.inflight.Load() }

// NewTransport is the gateway's default transport: keep-alive connections,
// many per replica, no compression of its own (bodies pass as they are),
// and a short dial timeout so that an unreachable replica is left quickly
// for another.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
}

// New returns a gateway with an empty table.
func New(cfg Config) *Gateway {
	if cfg.NewTransport == nil {
		cfg.NewTransport = NewTransport
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{newTransport: cfg.NewTransport, logger: cfg.Logger}
	g.table.Store(&table{byName: map[string]*Service{}})
	return g
}

// Update replaces the table with services as of state index. Replicas that
// were in the table before keep their counts of requests in flight.
func (g *Gateway) Update(index uint64, services []*Service) {
	old := g.table.Load()
	prev := map[string]*Replica{}
	for _, s := range old.byName {
		for _, r := range s.Replicas {
			prev[r.AllocID+"@"+r.Address] = r
		}
	}
	t := &table{byName: make(map[string]*Service, len(services)), index: index}
	kept := map[*Replica]bool{}
	for _, s := range services {
		c := *s
		c.Replicas = make([]*Replica, 0, len(s.Replicas))
		for _, r := range s.Replicas {
			if p := prev[r.AllocID+"@"+r.Address]; p != nil {
				r = p
			} else if r.transport == nil {
				r.transport = g.newTransport()
			}
			kept[r] = true
			c.Replicas = append(c.Replicas, r)
		}
		t.byName[c.Name] = &c
	}
	g.table.Store(t)
	for _, r := range prev {
		if !kept[r] {
			r.gone.Store(true)
			r.transport.CloseIdleConnections()
		}
	}
}

// Index is the state index of the table.
func (g *Gateway) Index() uint64 { return g.table.Load().index }

// Lookup returns the service of that name, or nil.
func (g *Gateway) Lookup(name string) *Service { return g.table.Load().byName[name] }

// pick returns the replica with the fewest requests in flight, skipping
// those already tried; ties go to the first from a rotating start.
func (g *Gateway) pick(s *Service, tried []*Replica) *Replica {
	n := len(s.Replicas)
	if n == 0 {
		return nil
	}
	start := int(g.rr.Add(1) % uint32(n))
	var best *Replica
	var bestN int64
	for k := range n {
		r := s.Replicas[(start+k)%n]
		if containsReplica(tried, r) {
			continue
		}
		if v := r.inflight.Load(); best == nil || v < bestN {
			best, bestN = r, v
		}
	}
	return best
}

func containsReplica(list []*Replica, r *Replica) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// hopHeaders are meaningful for one connection only, and are not passed on
// (RFC 9110 7.6.1), nor is Authorization (it carries nai tokens).
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// Forward sends r to a replica of s at path (escaped, starting with "/";
// r's query goes along) and copies the answer to w.
func (g *Gateway) Forward(w http.ResponseWriter, r *http.Request, s *Service, path string) {
	if len(s.Replicas) == 0 {
		writeError(w, http.StatusServiceUnavailable, unavailable(s))
		return
	}
	body, replay, err := prepareBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "read the request body for service %q: %v", s.Name, err))
		return
	}
	idem := idempotent(r)
	var tried []*Replica
	var lastErr error
	for {
		rep := g.pick(s, tried)
		if rep == nil {
			break
		}
		tried = append(tried, rep)
		out := outgoing(r, rep, path, body, replay)
		rep.inflight.Add(1)
		resp, err := rep.transport.RoundTrip(out)
		if err != nil {
			rep.done()
			if r.Context().Err() != nil {
				return // the caller left
			}
			lastErr = fmt.Errorf("replica %s at %s: %w", rep.AllocID, rep.Address, err)
			sent := body != nil && body.n.Load() > 0
			if (!sent && beforeSend(err)) || (idem && (replay != nil || body == nil)) {
				g.logger.Debug("retrying on another replica", "service", s.Name, "err", lastErr)
				continue
			}
			break
		}
		g.copyResponse(w, resp, rep)
		rep.done()
		return
	}
	if lastErr == nil {
		writeError(w, http.StatusServiceUnavailable, unavailable(s))
		return
	}
	writeError(w, http.StatusBadGateway, structs.NewError(structs.CodeUnavailable,
		"service %q: no replica answered (%d tried): %v", s.Name, len(tried), lastErr))
}

// done ends a request to r; a replica that left the table loses its idle
// connections as its requests finish.
func (r *Replica) done() {
	if r.inflight.Add(-1) >= 0 && r.gone.Load() {
		r.transport.CloseIdleConnections()
	}
}

// unavailable is the 503 of a service with no healthy replica.
func unavailable(s *Service) error {
	why := "it has no replica running yet"
	if s.Known > 0 {
		why = fmt.Sprintf("none of its %d replicas is healthy", s.Known)
		if s.Known == 1 {
			why = "its one replica is not healthy"
		}
		if s.Problem != "" {
			why += ": " + s.Problem
		}
	}
	return structs.NewError(structs.CodeUnavailable, "service %q is unavailable: %s (see `nai service status %s`)", s.Name, why, s.Name)
}

// countingBody passes a request body on, counting what was read, and
// ignores Close: the transport closes a body after a failed attempt, and
// the caller's body must stay open for the next.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return nil }

// prepareBody keeps a small body of an idempotent request in memory so it
// can be sent again; any other body streams through a counting reader.
func prepareBody(r *http.Request) (*countingBody, []byte, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, nil, nil
	}
	if idempotent(r) && r.ContentLength > 0 && r.ContentLength <= MaxReplayBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxReplayBody+1))
		if err != nil {
			return nil, nil, err
		}
		return nil, b, nil
	}
	return &countingBody{r: r.Body}, nil, nil
}

// idempotent reports whether a request may be sent twice.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.Header.Get("Idempotency-Key") != "" || r.Header.Get("X-Idempotency-Key") != ""
}

// beforeSend reports whether an error happened before the request could
// have reached the replica (it refused or could not be reached).
func beforeSend(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) && strings.Contains(err.Error(), "dial")
}

func outgoing(r *http.Request, rep *Replica, path string, body *countingBody, replay []byte) *http.Request {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = "http"
	out.URL.Host = rep.Address
	out.URL.Path, out.URL.RawPath = "", ""
	out.URL.Opaque = "" // the path goes as escaped: /v1/services/NAME is gone
	out.URL.RawPath = path
	if p, err := pathUnescape(path); err == nil {
		out.URL.Path = p
	}
	out.Host = rep.Address
	out.Close = false
	switch {
	case replay != nil:
		out.Body = io.NopCloser(bytes.NewReader(replay))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(replay)), nil }
		out.ContentLength = int64(len(replay))
	case body != nil:
		out.Body = body
	default:
		out.Body = nil
	}
	h := out.Header
	for _, k := range hopHeaders {
		h.Del(k)
	}
	if c := r.Header.Get("Connection"); c != "" {
		for f := range strings.SplitSeq(c, ",") {
			h.Del(strings.TrimSpace(f))
		}
	}
	h.Del("Authorization")
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := h.Values("X-Forwarded-For"); len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		h.Set("X-Forwarded-For", ip)
	}
	h.Set("X-Forwarded-Host", r.Host)
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h.Set("X-Forwarded-Proto", proto)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // the transport must not add its own
	}
	return out
}

var unescapeCache sync.Map // small: the set of paths a service is called on

// pathUnescape decodes an escaped path, remembering recent answers: the
// same few paths are called over and over.
func pathUnescape(p string) (string, error) {
	if !strings.ContainsRune(p, '%') {
		return p, nil
	}
	if v, ok := unescapeCache.Load(p); ok {
		return v.(string), nil
	}
	u, err := url.PathUnescape(p)
	if err == nil && len(p) < 256 {
		unescapeCache.Store(p, u)
	}
	return u, err
}

// copyResponse writes the replica's answer to w, flushing as it goes when
// the answer has no length (a stream).
func (g *Gateway) copyResponse(w http.ResponseWriter, resp *http.Response, rep *Replica) {
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Set(ReplicaHeader, rep.AllocID)
	sandbox(h)
	w.WriteHeader(resp.StatusCode)
	stream := resp.ContentLength < 0
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	rc := http.NewResponseController(w)
	for {
		n, err := resp.Body.Read(*buf)
		if n > 0 {
			if _, werr := w.Write((*buf)[:n]); werr != nil {
				return // the caller left
			}
			if stream {
				_ = rc.Flush()
			}
		}
		if err != nil {
			if err != io.EOF {
				g.logger.Debug("replica's answer broke off", "alloc", rep.AllocID, "err", err)
			}
			return
		}
	}
}

// SandboxCSP is the Content-Security-Policy of every answer a replica
// gives through the gateway, whatever the replica said: services are served
// on the servers' own origin, where the web UI keeps its token, so a page
// of a service runs in a sandbox, an origin of its own that reads nothing
// of the UI's (scripts, forms, popups and downloads still work). A service
// that needs a real origin of its own (cookies, storage) belongs behind a
// separate host name (docs/operations.md).
const SandboxCSP = "sandbox allow-scripts allow-forms allow-popups allow-downloads"

// sandbox sets the headers every proxied answer carries: the sandbox, and
// no content sniffing (a JSON answer never runs as a page).
func sandbox(h http.Header) {
	h.Del("Content-Security-Policy-Report-Only")
	h.Set("Content-Security-Policy", SandboxCSP)
	h.Set("X-Content-Type-Options", "nosniff")
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writeError answers with nai's coded error body.
func writeError(w http.ResponseWriter, status int, err error) {
	var e *structs.Error
	if !errors.As(err, &e) {
		e = structs.NewError(structs.CodeInternal, "%v", err)
	}
	sandbox(w.Header())
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(structs.ErrorBody{Error: e})
}

// WriteError answers a service call with nai's coded error body, as the
// gateway answers its own errors.
func WriteError(w http.ResponseWriter, status int, err error) { writeError(w, status, err) }
