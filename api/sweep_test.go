package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/nai-project/nai/structs"
)

// A server too old to read a sweep spec refuses the body as unknown JSON;
// RegisterSweep then sends the members written out, as before.
func TestRegisterSweepFallsBackToJobs(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]json.RawMessage
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if _, ok := body["sweep"]; ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"invalid","message":"request body is not valid JSON for this endpoint: json: unknown field \"sweep\""}}`)
			return
		}
		var jobs []*structs.Job
		if err := json.Unmarshal(body["jobs"], &jobs); err != nil {
			t.Error(err)
		}
		resp := structs.JobRegisterResponse{ArrayID: "1"}
		for i := range jobs {
			resp.JobIDs = append(resp.JobIDs, fmt.Sprint(i+1))
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(old.Close)
	members := make([]*structs.Job, 3)
	for i := range members {
		members[i] = &structs.Job{Name: "lr", Task: structs.Task{Command: "echo", Args: []string{fmt.Sprint(i)}}}
		members[i].SetSweepMember(i, 3, 0, map[string]string{"i": fmt.Sprint(i)})
	}
	spec, err := structs.NewSweepSpec(members)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newClient(t, old.URL, "").RegisterSweep(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[1]["jobs"] == nil || len(resp.JobIDs) != 3 {
		t.Fatalf("requests %d (the second with jobs: %v), response %+v; want the spec refused, then its 3 members sent", len(bodies), len(bodies) == 2 && bodies[1]["jobs"] != nil, resp)
	}
}
