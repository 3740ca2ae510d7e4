package membership

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"log/slog"

	"github.com/nai-project/nai/structs"
)

// ServerProxy is the HTTP API of an agent that is not a server: it passes
// each request to one alive server of its datacenter found through serf,
// and moves to another when that one fails. Requests in flight to a server
// that serf declares failed (or that stopped answering, as a SIGSTOPped
// process does) are cancelled, so a long-poll never hangs on a dead server:
// its caller sees an error and retries through another.
type ServerProxy struct {
	m      *Membership
	dc     string
	logger *slog.Logger
	proxy  *httputil.ReverseProxy

	mu       sync.Mutex
	current  string             // the server in use, by name
	inflight map[string]*target // per server name
}

type target struct {
	ctx    context.Context
	cancel context.CancelFunc
}

type proxyTarget struct{}

// proxyCaller keys the context of the incoming request: when it ended,
// the caller went away, and the server is not to blame for the failure.
type proxyCaller struct{}

// NewServerProxy returns a proxy to the servers of datacenter dc, over
// TLS with tlsConf when it is set. It watches membership until m shuts
// down.
//
// Requests carry their callers' tokens and the node's secret, and a serf
// tag is only a claim: tlsConf must accept only servers' certificates
// (tlsutil's ServerPeerClientConfig), so an impostor tagged server gets
// no request. Without TLS, only gossip encryption (encrypt) keeps
// impostors out of serf; without either, gossip is open and nothing here
// can tell a server from a program that says it is one
// (docs/operations.md, "Security").
func NewServerProxy(m *Membership, dc string, logger *slog.Logger, tlsConf *tls.Config) *ServerProxy {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &ServerProxy{m: m, dc: dc, logger: logger, inflight: map[string]*target{}}
	scheme := "http"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tlsConf != nil {
		scheme, tr.TLSClientConfig = "https", tlsConf
	}
	p.proxy = &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			mem := pr.In.Context().Value(proxyTarget{}).(Member)
			pr.SetURL(&url.URL{Scheme: scheme, Host: mem.Tags.HTTPAddr})
			pr.Out.Host = pr.In.Host
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			mem := r.Context().Value(proxyTarget{}).(Member)
			if caller, _ := r.Context().Value(proxyCaller{}).(context.Context); caller != nil && caller.Err() != nil {
				// The caller went away (a stopping agent ends its
				// long-polls): the server is not to blame.
				p.logger.Debug("request cancelled by its caller", "server", mem.Name, "path", r.URL.Path, "err", err)
				return
			}
			p.drop(mem.Name)
			p.logger.Warn("server did not answer; switching servers", "server", mem.Name, "path", r.URL.Path, "err", err)
			writeError(w, http.StatusServiceUnavailable, structs.NewError(structs.CodeUnavailable,
				"server %s did not answer: %v (retry: the next request goes to another server)", mem.Name, err))
		},
	}
	go p.watch()
	return p
}

func (p *ServerProxy) watch() {
	sub := p.m.Subscribe()
	defer p.m.Unsubscribe(sub)
	for {
		select {
		case <-p.m.done:
			return
		case <-sub:
		}
		alive := map[string]bool{}
		for _, mem := range p.servers() {
			alive[mem.Name] = true
		}
		p.mu.Lock()
		for name := range p.inflight {
			if !alive[name] {
				p.dropLocked(name)
			}
		}
		p.mu.Unlock()
	}
}

// drop forgets a server as the current one and cancels what is in flight
// to it.
func (p *ServerProxy) drop(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(name)
}

func (p *ServerProxy) dropLocked(name string) {
	if t, ok := p.inflight[name]; ok {
		t.cancel()
		delete(p.inflight, name)
	}
	if p.current == name {
		p.current = ""
	}
}

// servers are the alive servers of the datacenter with an HTTP address.
// When servers of several raft clusters share the serf (a server started
// with a data dir from elsewhere), only those of the most common cluster
// are used, so a client never registers with a stray server.
func (p *ServerProxy) servers() []Member {
	var all []Member
	count := map[string]int{}
	for _, mem := range p.m.Members() {
		if mem.Alive() && mem.TagsError == "" && mem.Tags.Server && mem.Tags.Datacenter == p.dc && mem.Tags.HTTPAddr != "" {
			all = append(all, mem)
			if mem.Tags.ClusterID != "" {
				count[mem.Tags.ClusterID]++
			}
		}
	}
	best := ""
	for id, n := range count {
		if n > count[best] || (n == count[best] && id < best) {
			best = id
		}
	}
	var out []Member
	for _, mem := range all {
		if best == "" || mem.Tags.ClusterID == best || mem.Tags.ClusterID == "" {
			out = append(out, mem)
		}
	}
	return out
}

// pick keeps using the current server while it is alive, else picks one at
// random so clients spread over the servers.
func (p *ServerProxy) pick() (Member, *target, bool) {
	servers := p.servers()
	if len(servers) == 0 {
		return Member{}, nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	mem := servers[rand.IntN(len(servers))]
	for _, s := range servers {
		if s.Name == p.current {
			mem = s
		}
	}
	p.current = mem.Name
	t, ok := p.inflight[mem.Name]
	if !ok {
		ctx, cancel := context.WithCancel(context.Background())
		t = &target{ctx: ctx, cancel: cancel}
		p.inflight[mem.Name] = t
	}
	return mem, t, true
}

func (p *ServerProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mem, t, ok := p.pick()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, structs.NewError(structs.CodeUnavailable,
			"no alive server in datacenter %s is known through serf: check this agent's join addresses (`nai agent-info`)", p.dc))
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(t.ctx, cancel)
	defer stop()
	ctx = context.WithValue(ctx, proxyCaller{}, r.Context())
	p.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, proxyTarget{}, mem)))
}

func writeError(w http.ResponseWriter, status int, e *structs.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}
