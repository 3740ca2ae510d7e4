package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

func TestNodeStatusSelf(t *testing.T) {
	cases := []struct {
		name       string
		role       string
		args       []string
		code       int
		out, err   string
		wantLookup string // the node the CLI asked for
	}{
		{"client agent", "client", []string{"-self"}, 0, "gpu-07", "", "gpu-07"},
		{"server and client", "server,client", []string{"-self", "-json"}, 0, `"name": "gpu-07"`, "", "gpu-07"},
		{"server agent", "server", []string{"-self"}, 1, "", "is a server and runs no GPU client", ""},
		{"both id and -self", "client", []string{"-self", "gpu-07"}, 1, "", "-self and a node ID are exclusive", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var looked string
			mux := http.NewServeMux()
			mux.HandleFunc("GET /v1/agent/self", func(w http.ResponseWriter, r *http.Request) {
				json.NewEncoder(w).Encode(structs.AgentSelf{Name: "gpu-07", Role: tc.role})
			})
			mux.HandleFunc("GET /v1/nodes/{id}", func(w http.ResponseWriter, r *http.Request) {
				looked = r.PathValue("id")
				json.NewEncoder(w).Encode(&structs.Node{ID: "3f2c9a1e-0000-0000-0000-000000000000", Name: "gpu-07", Status: structs.NodeReady,
					GPUs: []structs.GPU{{Index: 0, UUID: "GPU-0", Model: "H100", Healthy: true}}})
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			t.Setenv("NAI_ADDR", srv.URL)
			code, stdout, stderr := runCLI(t, append([]string{"node", "status"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stdout, tc.out) || !strings.Contains(stderr, tc.err) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tc.code, stdout, tc.out, stderr, tc.err)
			}
			if looked != tc.wantLookup {
				t.Errorf("looked up node %q, want %q", looked, tc.wantLookup)
			}
		})
	}
}
