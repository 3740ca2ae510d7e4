package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// GET /v1/agent/health on a client-only agent is its own answer, not a
// server's passed on: its name, ok while a server is alive, 503 once none
// is.
func TestClientAgentHealth(t *testing.T) {
	srv := startClusterAgent(t, "s1", t.TempDir(), "-server", "-bootstrap-expect", "1")
	cl := startClusterAgent(t, "c1", t.TempDir(), "-client", "-dev-gpus", "1", "-join", srv.serf)
	health := func() (int, structs.AgentHealth) {
		var h structs.AgentHealth
		resp, err := http.Get(cl.addr + "/v1/agent/health")
		if err != nil {
			return 0, h
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode, h
	}
	waitFor(t, 30*time.Second, "the client agent is healthy", func() bool {
		code, h := health()
		return code == http.StatusOK && h.Status == "ok" && h.Name == "c1"
	})
	srv.stop()
	waitFor(t, 30*time.Second, "the client agent says it has no server", func() bool {
		code, h := health()
		return code == http.StatusServiceUnavailable && h.Status == "no_servers" && h.Name == "c1"
	})
}
