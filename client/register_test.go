package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// authServers wraps fakeServers with the door's view of node secrets: a
// registration with the agent's token makes the node's secret known, and
// any call with an unknown secret is refused and counted.
type authServers struct {
	*fakeServers
	mu      sync.Mutex
	known   map[string]bool
	refused []string // "METHOD PATH" of every call refused as unknown
	agent   int      // registrations with the agent's token
}

func newAuthServers(t *testing.T, agentToken string) *authServers {
	a := &authServers{fakeServers: newFakeServers(t), known: map[string]bool{}}
	inner := a.srv.Config.Handler
	a.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		a.mu.Lock()
		ok := a.known[secret]
		if secret == agentToken && r.Method == http.MethodPut && r.URL.Path == "/v1/client/nodes" {
			ok = true
			a.agent++
		}
		if !ok {
			a.refused = append(a.refused, r.Method+" "+r.URL.Path)
		}
		a.mu.Unlock()
		if !ok {
			writeError(w, http.StatusUnauthorized, structs.NewError(structs.CodeUnauthorized, "unknown token"))
			return
		}
		if r.Method == http.MethodPut && r.URL.Path == "/v1/client/nodes" {
			// The door takes the body's secret from here on.
			a.mu.Lock()
			a.known[registeredSecret(t, r)] = true
			a.mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	})
	return a
}

// registeredSecret reads the node secret a registration carries, leaving the body
// for the handler.
func registeredSecret(t *testing.T, r *http.Request) string {
	t.Helper()
	var req structs.NodeRegisterRequest
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Error(err)
		return ""
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := json.Unmarshal(body, &req); err != nil {
		t.Error(err)
	}
	return req.SecretID
}

// A client's first start registers with the agent's token at once (its
// secret is new: no server can know it) and polls with its own secret,
// so nothing it sends is refused; a restart refreshes the registration
// with its own secret, without the agent's token.
func TestFirstRegistrationMakesNoRefusedCall(t *testing.T) {
	const token = "agent-token-0123456789"
	a := newAuthServers(t, token)
	dir := t.TempDir()
	start := func() func() {
		c := newTestClient(t, a.fakeServers, dir, nil)
		c.cfg.RegisterToken = func() string { return token }
		return runClient(t, c)
	}
	stop := start()
	polled := func(n int) func() bool {
		return func() bool { a.fakeServers.mu.Lock(); defer a.fakeServers.mu.Unlock(); return a.polls >= n }
	}
	waitFor(t, 10*time.Second, "the client polls", polled(2))
	stop()
	a.mu.Lock()
	refused, agent := append([]string(nil), a.refused...), a.agent
	a.mu.Unlock()
	if len(refused) != 0 || agent != 1 {
		t.Fatalf("first start: refused %q, %d registrations with the agent's token, want none and 1", refused, agent)
	}
	a.fakeServers.mu.Lock()
	before := a.polls
	a.fakeServers.mu.Unlock()
	stop = start()
	waitFor(t, 10*time.Second, "the restarted client polls", polled(before+1))
	stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.refused) != 0 || a.agent != 1 {
		t.Errorf("restart: refused %q, %d registrations with the agent's token, want none and 1", a.refused, a.agent)
	}
}
