package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// nai job update prints the warnings the server answers on stderr, as nai
// job run does: -json too, whose stdout stays the answer alone.
func TestJobUpdatePrintsWarnings(t *testing.T) {
	const warning = "job 12 asks for 8 GPUs per node, but the largest node has 4"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/jobs/update" {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			http.Error(w, "no", http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(structs.JobUpdateResponse{JobIDs: []string{"12"}, Refs: []string{"12"}, Index: 9, Warnings: []string{warning}})
	}))
	t.Cleanup(srv.Close)
	t.Setenv("NAI_ADDR", srv.URL)
	for _, args := range [][]string{{"job", "update", "-gpus", "8", "12"}, {"job", "update", "-json", "-gpus", "8", "12"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit code %d: %s", args, code, stderr)
		}
		if !strings.Contains(stderr, "Warning: "+warning+"\n") {
			t.Errorf("%v: stderr lacks the warning:\n%s", args, stderr)
		}
		if strings.Contains(stdout, "Warning:") {
			t.Errorf("%v: stdout has the warning:\n%s", args, stdout)
		}
	}
}
