package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/gossipkey"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// drainServer answers the node drain and eligibility routes as a server
// would for one node, and records each request body.
type drainServer struct {
	mu   sync.Mutex
	node structs.Node
	got  []string // "PATH BODY"
}

func newDrainServer(t *testing.T) *drainServer {
	t.Helper()
	ds := &drainServer{node: structs.Node{ID: "3f2c9a1e-77aa", Name: "gpu-07", Status: structs.NodeReady, Eligible: true}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ds.mu.Lock()
		defer ds.mu.Unlock()
		ds.got = append(ds.got, strings.TrimSpace(r.URL.Path+" "+string(body)))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/nodes/gpu-07/drain":
			var spec structs.NodeDrainSpec
			json.Unmarshal(body, &spec)
			ds.node.Drain, ds.node.Eligible, ds.node.DrainDeadline = spec.Enable, !spec.Enable, time.Time{}
			if spec.Enable && spec.Deadline != nil {
				ds.node.DrainDeadline = now.Add(spec.Deadline.D())
			}
		case "/v1/nodes/gpu-07/eligibility":
			var spec structs.NodeEligibilitySpec
			json.Unmarshal(body, &spec)
			ds.node.Eligible = spec.Eligible
		case "/v1/operator/raft/configuration":
			json.NewEncoder(w).Encode([]structs.RaftPeer{{ID: "s1", Address: "127.0.0.1:4647", Suffrage: "voter", Leader: true}})
			return
		default:
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"error": structs.NewError(structs.CodeNotFound, "node %s not found", r.URL.Path)})
			return
		}
		json.NewEncoder(w).Encode(ds.node)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("NAI_ADDR", srv.URL)
	return ds
}

func TestNodeDrainCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		request string
		stdout  string // a substring
	}{
		{"default deadline", []string{"node", "drain", "gpu-07"},
			`/v1/nodes/gpu-07/drain {"enable":true,"deadline":"1h0m0s"}`, "is draining: no new work; running jobs are stopped and requeued at"},
		{"deadline", []string{"node", "drain", "-deadline", "10m", "gpu-07"},
			`/v1/nodes/gpu-07/drain {"enable":true,"deadline":"10m0s"}`, "is draining"},
		{"stop now", []string{"node", "drain", "-deadline", "0", "gpu-07"},
			`/v1/nodes/gpu-07/drain {"enable":true,"deadline":"0s"}`, "is draining"},
		{"no deadline", []string{"node", "drain", "-no-deadline", "gpu-07"},
			`/v1/nodes/gpu-07/drain {"enable":true,"no_deadline":true}`, "running jobs run to their end"},
		{"cancel", []string{"node", "drain", "-disable", "gpu-07"},
			`/v1/nodes/gpu-07/drain {"enable":false}`, "node gpu-07 (3f2c9a1e): drain cancelled; it takes new work again\n"},
		{"eligibility disable", []string{"node", "eligibility", "-disable", "gpu-07"},
			`/v1/nodes/gpu-07/eligibility {"eligible":false}`, "node gpu-07 (3f2c9a1e) is ineligible: no new work is placed on it; running jobs carry on\n"},
		{"eligibility enable", []string{"node", "eligibility", "-enable", "gpu-07"},
			`/v1/nodes/gpu-07/eligibility {"eligible":true}`, "node gpu-07 (3f2c9a1e) is eligible: new work may be placed on it\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDrainServer(t)
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if diff := cmp.Diff([]string{tc.request}, ds.got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.stdout)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		newDrainServer(t)
		code, stdout, _ := runCLI(t, "node", "drain", "-json", "-deadline", "2h", "gpu-07")
		var n structs.Node
		if err := json.Unmarshal([]byte(stdout), &n); code != 0 || err != nil || !n.Drain || !n.DrainDeadline.Equal(now.Add(2*time.Hour)) {
			t.Errorf("exit %d, node %+v, %v", code, n, err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		newDrainServer(t)
		code, stdout, stderr := runCLI(t, "node", "drain", "nope")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "drain node nope:") || !strings.Contains(stderr, "not found") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

func TestNodeDrainUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"drain without id", []string{"node", "drain"}, "missing node ID"},
		{"negative deadline", []string{"node", "drain", "-deadline", "-1m", "x"}, "-deadline -1m0s is negative"},
		{"deadline and no deadline", []string{"node", "drain", "-deadline", "1m", "-no-deadline", "x"}, "not both"},
		{"cancel with deadline", []string{"node", "drain", "-disable", "-deadline", "1m", "x"}, "-disable cancels a drain and takes no deadline"},
		{"eligibility without a choice", []string{"node", "eligibility", "x"}, "give -enable or -disable"},
		{"eligibility with both", []string{"node", "eligibility", "-enable", "-disable", "x"}, "give -enable or -disable, not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noServer(t)
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, tc.want)
			}
		})
	}
}

func TestFormatDrain(t *testing.T) {
	n := &structs.Node{ID: "3f2c9a1e-77aa", Name: "gpu-07", Status: structs.NodeReady, Drain: true, DrainDeadline: now.Add(time.Hour)}
	var b bytes.Buffer
	for _, step := range []struct {
		n       *structs.Node
		enabled bool
	}{
		{n, true},
		{&structs.Node{ID: n.ID, Name: n.Name, Drain: true}, true},
		{&structs.Node{ID: n.ID, Name: n.Name}, true},
		{&structs.Node{ID: n.ID, Name: n.Name, Eligible: true}, false},
	} {
		if err := formatDrainResult(&b, step.n, step.enabled, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := formatNodeStatus(&b, n, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "node_drain", b.Bytes())
}

// The cluster's operator commands live under `nai operator` beside the
// policy ones.
func TestOperatorClusterCommands(t *testing.T) {
	t.Run("raft list-peers", func(t *testing.T) {
		ds := newDrainServer(t)
		code, stdout, stderr := runCLI(t, "operator", "raft", "list-peers")
		if code != 0 || stderr != "" || !strings.Contains(stdout, "s1  127.0.0.1:4647  leader  true") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if diff := cmp.Diff([]string{"/v1/operator/raft/configuration"}, ds.got); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})
	t.Run("keygen", func(t *testing.T) {
		noServer(t)
		code, stdout, stderr := runCLI(t, "operator", "keygen")
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if _, err := gossipkey.Decode(stdout); err != nil {
			t.Errorf("keygen printed %q: %v", stdout, err)
		}
	})
	t.Run("policy commands still there", func(t *testing.T) {
		noServer(t)
		code, stdout, _ := runCLI(t, "operator")
		for _, sub := range []string{"queue", "share", "quota", "raft", "keygen"} {
			if !strings.Contains(stdout, sub) {
				t.Errorf("nai operator help lacks %q (exit %d):\n%s", sub, code, stdout)
			}
		}
	})
}
