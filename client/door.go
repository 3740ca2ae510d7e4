package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nai-project/nai/structs"
)

// The client agent's own routes go through one door too. The client keeps
// no identities: with ACLs on, it asks the servers, with the caller's own
// token, whether the caller may do what it asks, and remembers the answer
// for a little while. Servers proxying a user's request pass the user's
// token along, so the same check covers them.

// clientRoute is one route the client agent serves.
type clientRoute struct {
	Method, Path string
	// Need is what the caller must have: "job-data" (read the logs of
	// the allocation's job) or "operator".
	Need    string
	Doc     string
	handler http.HandlerFunc
}

// Routes lists the client agent's routes with what each needs.
func (c *Client) routes() []clientRoute {
	return []clientRoute{
		{Method: "GET", Path: "/v1/client/allocations/{id}/logs", Need: "job-data", handler: c.serveLogs,
			Doc: "an allocation's stdout or stderr, served by its node (servers proxy /v1/jobs/{id}/logs here)"},
		{Method: "GET", Path: "/v1/client/allocations/{id}/metrics", Need: "job-data", handler: c.serveAllocMetrics,
			Doc: "the lines an allocation wrote to NAI_METRICS_FILE from ?offset= (servers proxy /v1/jobs/{id}/metrics?all=true here while it runs)"},
		{Method: "GET", Path: "/v1/metrics", Need: "operator", handler: c.serveMetrics,
			Doc: "Prometheus exposition of a client-only agent: its GPUs and Go runtime (operator read)"},
		{Method: "POST", Path: "/v1/client/dev/gpu-fault", Need: "operator", handler: c.serveGPUFault,
			Doc: "inject a fault into a fake GPU of a dev agent"},
	}
}

// RouteTable lists the client agent's routes (method, path, what the
// caller needs, what it does).
func (c *Client) RouteTable() [][4]string {
	var out [][4]string
	for _, r := range c.routes() {
		out = append(out, [4]string{r.Method, r.Path, r.Need, r.Doc})
	}
	return out
}

// Handler serves the client agent's routes through its door.
func (c *Client) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range c.routes() {
		mux.Handle(rt.Method+" "+rt.Path, c.wrap(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, structs.NewError(structs.CodeNotFound, "no route %s %s on this client", r.Method, r.URL.Path))
	})
	return mux
}

func (c *Client) wrap(rt clientRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.authorize(r, rt); err != nil {
			status := http.StatusForbidden
			if structs.CodeOf(err) == structs.CodeUnauthorized {
				status = http.StatusUnauthorized
			} else if structs.CodeOf(err) == structs.CodeInvalid {
				status = http.StatusBadRequest
			}
			writeError(w, status, &structs.Error{Code: structs.CodeOf(err), Message: err.Error()})
			return
		}
		rt.handler(w, r)
	})
}

// authzTTL is how long a yes or no of the servers is reused.
const authzTTL = 30 * time.Second

type authzCache struct {
	mu      sync.Mutex
	entries map[string]authzEntry
}

type authzEntry struct {
	err error
	at  time.Time
}

func (a *authzCache) get(key string, now time.Time) (error, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[key]
	if !ok || now.Sub(e.at) > authzTTL {
		return nil, false
	}
	return e.err, true
}

func (a *authzCache) put(key string, err error, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.entries == nil || len(a.entries) > 10000 {
		a.entries = map[string]authzEntry{}
	}
	a.entries[key] = authzEntry{err: err, at: now}
}

// authorize asks the servers whether the caller may use rt.
func (c *Client) authorize(r *http.Request, rt clientRoute) error {
	for _, p := range []string{"token", "access_token", "secret", "secret_id"} {
		if r.URL.Query().Has(p) {
			return structs.NewError(structs.CodeInvalid, "a token in the URL (?%s=) is refused: send the header \"Authorization: Bearer <secret>\"", p)
		}
	}
	if !c.cfg.ACLEnabled {
		return nil
	}
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	token = strings.TrimSpace(token)
	if h == "" || !ok || token == "" {
		return structs.NewError(structs.CodeUnauthorized, "this node's API needs a token with rights on the job (send \"Authorization: Bearer <secret>\")")
	}
	var target string
	switch rt.Need {
	case "job-data":
		target = jobOfAlloc(r.PathValue("id"))
	case "operator":
		target = "operator"
	}
	sum := sha256.Sum256([]byte(token))
	key := hex.EncodeToString(sum[:]) + "|" + rt.Need + "|" + target
	now := time.Now()
	if err, ok := c.authz.get(key, now); ok {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	as := c.cfg.Servers.WithToken(token)
	var err error
	switch rt.Need {
	case "job-data":
		// Reading a job's metrics needs the same right as its logs.
		_, err = as.Metrics(ctx, target)
	case "operator":
		var who *structs.Whoami
		if who, err = as.TokenSelf(ctx); err == nil && !who.ACLDisabled &&
			(who.Token == nil || !slices.ContainsFunc(who.Token.Policies, func(p string) bool {
				return p == structs.PolicyOperator || p == structs.PolicyManagement
			})) {
			err = structs.NewError(structs.CodeForbidden, "permission denied: this needs an operator or management token")
		}
	}
	code := structs.CodeOf(err)
	if err != nil && code != structs.CodeUnauthorized && code != structs.CodeForbidden && code != structs.CodeNotFound {
		// The servers could not answer: say so, and do not remember it.
		return structs.NewError(structs.CodeUnavailable, "cannot ask the servers whether this caller may read it: %v", err)
	}
	if code == structs.CodeNotFound {
		err = structs.NewError(structs.CodeForbidden, "permission denied: %v", err)
	}
	c.authz.put(key, err, now)
	return err
}

// jobOfAlloc is the job of an allocation id ("12.1" or "12.1.0": job 12).
func jobOfAlloc(id string) string {
	j, _, _ := strings.Cut(id, ".")
	return j
}
