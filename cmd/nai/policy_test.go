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

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// policyServer answers the policy routes with fixed objects and records
// what the CLI sends.
type policyServer struct {
	mu   sync.Mutex
	got  []string // "METHOD PATH BODY"
	gets map[string]any
}

func newPolicyServer(t *testing.T, gets map[string]any) *policyServer {
	t.Helper()
	ps := &policyServer{gets: gets}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ps.mu.Lock()
		ps.got = append(ps.got, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(body)))
		ps.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet {
			json.NewEncoder(w).Encode(map[string]uint64{"index": 7})
			return
		}
		v, ok := ps.gets[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"error": structs.NewError(structs.CodeNotFound, "%s not found", r.URL.Path)})
			return
		}
		json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("NAI_ADDR", srv.URL)
	return ps
}

var testWeights = structs.PriorityWeights{Job: 1_000_000, Queue: 10_000, FairShare: 10_000, Age: 1_000, Runtime: 30_000}

func TestShareAndPriorityOutput(t *testing.T) {
	shares := []structs.ShareInfo{
		{Kind: structs.AccountGroup, Name: "ml", Shares: 4, NormShares: 0.8, Usage: 120.5, EffectiveUsage: 1, FairShare: 0.42044820762685725},
		{Kind: structs.AccountGroup, Name: "vision", Shares: 1, NormShares: 0.2, FairShare: 1},
		{Kind: structs.AccountUser, Name: "alice", Shares: 2, NormShares: 0.5, Usage: 100, EffectiveUsage: 0.8298755186721992, FairShare: 0.3162},
		{Kind: structs.AccountUser, Name: "bob", Shares: 1, NormShares: 0.25, Usage: 20.5, EffectiveUsage: 0.17012448132780084, FairShare: 0.6238},
		{Kind: structs.AccountUser, Name: "carol", Shares: 1, NormShares: 0.25, FairShare: 1},
	}
	prio := structs.PriorityFactors{JobID: "12", Age: 0.0119, FairShare: 0.6238, Job: 0.5, Runtime: 0.7893,
		ExpectedRuntime: structs.Duration(4 * time.Hour), Weights: testWeights}
	prio.Priority = 1000*prio.Age + 10000*prio.FairShare + 1e6*prio.Job + 30000*prio.Runtime
	newPolicyServer(t, map[string]any{"/v1/share": shares, "/v1/jobs/12/priority": prio})

	tests := []struct {
		name   string
		args   []string
		golden string
		json   any
	}{
		{"share", []string{"share"}, "share", nil},
		{"share json", []string{"share", "-json"}, "", shares},
		{"job priority", []string{"job", "priority", "12"}, "job_priority", nil},
		{"job priority json", []string{"job", "priority", "-json", "12"}, "", prio},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if tc.golden != "" {
				checkGolden(t, tc.golden, []byte(stdout))
				return
			}
			want, _ := json.MarshalIndent(tc.json, "", "  ")
			if diff := cmp.Diff(string(want)+"\n", stdout); diff != "" {
				t.Errorf("json (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueExplainOutput(t *testing.T) {
	var out bytes.Buffer
	jobs := []*structs.Job{
		testJob("4", "pretrain", structs.JobRunning, running("dev", time.Hour, 0, 1)),
		testJob("7", "finetune", structs.JobPending, func(j *structs.Job) {
			j.User, j.Reason, j.EstimatedStart = "bob", "Resources: needs 2 GPUs, 1 free on the best node", now.Add(50*time.Minute)
			j.NodeFilters = []structs.NodeFilterCount{{Filter: structs.FilterFreeGPUs, Nodes: 6}, {Filter: structs.FilterDraining, Nodes: 2}}
		}),
		testJob("6", "eval", structs.JobPending, func(j *structs.Job) { j.Reason = "Priority" }),
	}
	factors := []structs.PriorityFactors{
		{JobID: "7", Age: 0.001, FairShare: 1, Job: 0.5, Runtime: 1, Weights: testWeights, Priority: 540001},
		{JobID: "6", Age: 0.002, FairShare: 0.25, Job: 0.5, Weights: testWeights, Priority: 502502},
	}
	if err := formatQueueExplain(&out, jobs, factors, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "queue_explain", out.Bytes())
}

func TestOperatorCommands(t *testing.T) {
	queueFile := writeFile(t, "queues.hcl", `queue "gpu-long" {
  max_time_limit   = "72h"
  max_gpus_per_job = 16
}
`)
	tests := []struct {
		name    string
		args    []string
		stdout  string
		request string
	}{
		{"queue apply", []string{"operator", "queue", "apply", queueFile}, "queue gpu-long applied\n",
			`PUT /v1/queues/gpu-long {"name":"gpu-long","priority":0,"priority_tier":0,"max_time_limit":"72h0m0s","max_gpus_per_job":16}`},
		{"queue delete", []string{"operator", "queue", "delete", "gpu-long"}, "queue gpu-long deleted\n", "DELETE /v1/queues/gpu-long"},
		{"share set user", []string{"operator", "share", "set", "-user", "alice", "-shares", "2"}, "user alice has 2 shares\n",
			`PUT /v1/shares {"kind":"user","name":"alice","shares":2}`},
		{"share set group", []string{"operator", "share", "set", "-group", "ml", "-shares", "4"}, "group ml has 4 shares\n",
			`PUT /v1/shares {"kind":"group","name":"ml","shares":4}`},
		{"share delete", []string{"operator", "share", "delete", "-user", "alice"}, "user alice has the default shares again\n", "DELETE /v1/shares/user/alice"},
		{"quota set", []string{"operator", "quota", "set", "-group", "ml", "-max-gpus", "8", "-max-pending", "20"}, "group ml: max GPUs 8, max pending jobs 20\n",
			`PUT /v1/quotas {"kind":"group","name":"ml","max_gpus":8,"max_pending":20}`},
		{"quota delete", []string{"operator", "quota", "delete", "-group", "ml"}, "group ml has no quota\n", "DELETE /v1/quotas/group/ml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := newPolicyServer(t, nil)
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 0 || stdout != tc.stdout {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and %q", code, stdout, stderr, tc.stdout)
			}
			if diff := cmp.Diff([]string{tc.request}, ps.got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOperatorUsageErrors(t *testing.T) {
	bad := writeFile(t, "bad.hcl", "queue \"a\" {\n  max_time_limit = \"3 days\"\n}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"share without account", []string{"operator", "share", "set", "-shares", "2"}, "missing -user NAME or -group NAME"},
		{"share with both", []string{"operator", "share", "set", "-user", "a", "-group", "b", "-shares", "2"}, "give -user or -group, not both"},
		{"share without shares", []string{"operator", "share", "set", "-user", "a"}, "missing -shares N"},
		{"quota without limits", []string{"operator", "quota", "set", "-user", "a"}, "missing -max-gpus N or -max-pending N"},
		{"apply without file", []string{"operator", "queue", "apply"}, "missing queue file"},
		{"apply bad file", []string{"operator", "queue", "apply", bad}, `bad.hcl:2:20: Invalid duration`},
		{"priority without id", []string{"job", "priority"}, "missing job ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noServer(t)
			code, _, stderr := runCLI(t, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tc.want)
			}
		})
	}
}

// Commands that change something print the change with -json, so a script
// can read back what it did.
func TestChangesPrintJSON(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"operator", "quota", "set", "-user", "alice", "-max-gpus", "4", "-json"},
			`{"action":"updated","kind":"quota","name":"alice","index":7,"detail":{"kind":"user","name":"alice","max_gpus":4}}`},
		{[]string{"operator", "share", "delete", "-group", "ml", "-json"},
			`{"action":"removed","kind":"share","name":"ml","index":7,"detail":{"kind":"group","name":"ml","shares":0}}`},
		{[]string{"operator", "queue", "delete", "-json", "long"}, `{"action":"removed","kind":"queue","name":"long","index":7}`},
		{[]string{"group", "add-member", "-role", "admin", "-json", "ml", "bob"},
			`{"action":"updated","kind":"group","name":"ml","detail":{"user":"bob","role":"admin"}}`},
		{[]string{"token", "revoke", "-json", "acc-1"}, `{"action":"removed","kind":"token","name":"acc-1"}`},
	} {
		t.Run(strings.Join(tc.args[:3], " "), func(t *testing.T) {
			newPolicyServer(t, nil)
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got, want any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON: %q", stdout)
			}
			json.Unmarshal([]byte(tc.want), &want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
