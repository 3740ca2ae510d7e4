package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestFormatPlan(t *testing.T) {
	start := func(name, node string, gpus ...int) structs.JobPlanResult {
		return structs.JobPlanResult{PlanID: "plan-1", Name: name, Position: 1,
			Placements: []structs.Placement{{JobID: "plan-1", NodeID: "3f2c9a1e-5b7d", NodeName: node, GPUs: gpus}}}
	}
	waitFor := func(name, reason string, est time.Time) structs.JobPlanResult {
		return structs.JobPlanResult{PlanID: "plan-1", Name: name, Position: 3,
			Wait: &structs.WaitStatus{JobID: "plan-1", Code: structs.WaitResources, Reason: reason, EstimatedStart: est}}
	}
	gang := start("gang", "gpu1", 0, 1)
	gang.Placements = append(gang.Placements, structs.Placement{JobID: "plan-1", NodeID: "9a8b7c6d-0000", GPUs: []int{2, 3}, Rank: 1})
	filtered := waitFor("big", "Resources: needs 8 GPUs, 4 free on the best node", time.Time{})
	filtered.Wait.NodeFilters = []structs.NodeFilterCount{{Filter: structs.FilterFreeGPUs, Nodes: 6}, {Filter: structs.FilterDraining, Nodes: 2}}
	cancelled := waitFor("after", "DependencyNeverSatisfied", time.Time{})
	cancelled.Cancelled = true
	preempting := waitFor("urgent", "Resources: preempting job 4", now.Add(time.Minute))
	preempting.Preempt = []structs.Preemption{{AllocID: "4.1", JobID: "4", ForJobID: "plan-1"}}
	var members []structs.JobPlanResult
	for i, lr := range []string{"0.1", "0.01", "0.001"} {
		m := start("lr-search", "dev", i)
		if i == 2 {
			m = waitFor("lr-search", "ArrayLimit: its sweep would already run 2 jobs (max_parallel 2)", now.Add(62*time.Minute))
		}
		m.ArrayIndex, m.SweepValues = i, map[string]string{"lr": lr, "batch": "32"}
		members = append(members, m)
	}
	tests := []struct {
		name  string
		resp  structs.JobPlanResponse
		sweep bool
		want  string
	}{
		{"starts now", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{start("train", "dev", 0, 1)}, Pending: 1},
			false, "Job \"train\" would start now on node dev with GPUs 0,1\nQueue position 1 of 1 pending job\n"},
		{"one GPU", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{start("train", "dev", 3)}, Pending: 2},
			false, "Job \"train\" would start now on node dev with GPU 3\nQueue position 1 of 2 pending jobs\n"},
		{"no GPUs, node by id", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{start("cpu", "")}, Pending: 1},
			false, "Job \"cpu\" would start now on node 3f2c9a1e with no GPUs\nQueue position 1 of 1 pending job\n"},
		{"gang", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{gang}, Pending: 1},
			false, "Job \"gang\" would start now on 2 nodes: gpu1 (GPUs 0,1), 9a8b7c6d (GPUs 2,3)\nQueue position 1 of 1 pending job\n"},
		{"waits with estimate", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{waitFor("big", "Resources: needs 8 GPUs, 4 free on the best node", now.Add(62*time.Minute))}, Pending: 3},
			false, "Job \"big\" would wait: Resources: needs 8 GPUs, 4 free on the best node; estimated start 2026-11-25T21:02:00Z (in 1h2m)\nQueue position 3 of 3 pending jobs\n"},
		{"waits, with the nodes each test ruled out", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{filtered}, Pending: 3},
			false, "Job \"big\" would wait: Resources: needs 8 GPUs, 4 free on the best node; no estimated start\n" +
				"  6 nodes: not enough free GPUs; 2 nodes: draining\nQueue position 3 of 3 pending jobs\n"},
		{"waits without estimate", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{waitFor("big", "Resources: needs 8 GPUs, 4 free on the best node", time.Time{})}, Pending: 3},
			false, "Job \"big\" would wait: Resources: needs 8 GPUs, 4 free on the best node; no estimated start\nQueue position 3 of 3 pending jobs\n"},
		{"cancelled", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{cancelled}, Pending: 3},
			false, "Job \"after\" would be cancelled at once: DependencyNeverSatisfied\nQueue position 3 of 3 pending jobs\n"},
		{"preempts", structs.JobPlanResponse{Jobs: []structs.JobPlanResult{preempting}, Pending: 3},
			false, "Job \"urgent\" would wait: Resources: preempting job 4; estimated start 2026-11-25T20:01:00Z (in 1m)\n  it would preempt job 4 (allocation 4.1)\nQueue position 3 of 3 pending jobs\n"},
		{"sweep", structs.JobPlanResponse{Jobs: members, Pending: 3}, true,
			"Sweep \"lr-search\" of 3 jobs: 2 would start now, 1 would wait\n" +
				"  Job \"lr-search\" [0] (batch=32, lr=0.1) would start now on node dev with GPU 0\n" +
				"  Job \"lr-search\" [1] (batch=32, lr=0.01) would start now on node dev with GPU 1\n" +
				"  Job \"lr-search\" [2] (batch=32, lr=0.001) would wait: ArrayLimit: its sweep would already run 2 jobs (max_parallel 2); estimated start 2026-11-25T21:02:00Z (in 1h2m)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := formatPlan(&b, &tc.resp, tc.sweep, now); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}

// planAgent answers POST /v1/jobs/plan with resp and records what it got.
func planAgent(t *testing.T, resp structs.JobPlanResponse, got *[]*structs.Job) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs/plan", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Jobs []*structs.Job }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode plan request: %v", err)
		}
		*got = body.Jobs
		json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a plan made the request %s %s; it must only ask for the plan", r.Method, r.URL)
		http.Error(w, "no", http.StatusTeapot)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Setenv("NAI_ADDR", srv.URL)
}

// The exit status tells "starts now" (0) from "would wait" (1) and from
// any error (2), whatever the error is.
func TestJobPlanExitCodes(t *testing.T) {
	starts := structs.JobPlanResponse{Pending: 1, Jobs: []structs.JobPlanResult{{Name: "train", Position: 1,
		Placements: []structs.Placement{{NodeID: "n1", NodeName: "dev", GPUs: []int{0, 1}}}}}}
	waits := structs.JobPlanResponse{Pending: 1, Jobs: []structs.JobPlanResult{{Name: "train", Position: 1,
		Wait: &structs.WaitStatus{Code: structs.WaitResources, Reason: "Resources: needs 2 GPUs, 0 free on the best node"}}}}

	t.Run("starts now", func(t *testing.T) {
		var got []*structs.Job
		planAgent(t, starts, &got)
		code, stdout, stderr := runCLI(t, "job", "plan", writeFile(t, "job.hcl", validJob))
		if code != 0 || !strings.Contains(stdout, `Job "train" would start now on node dev with GPUs 0,1`) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if len(got) != 1 || got[0].Name != "train" || got[0].Resources.GPU.Count != 2 {
			t.Errorf("the agent was asked about %v", got)
		}
	})
	t.Run("would wait, json", func(t *testing.T) {
		var got []*structs.Job
		planAgent(t, waits, &got)
		code, stdout, _ := runCLI(t, "job", "plan", "-json", writeFile(t, "job.hcl", validJob))
		var resp structs.JobPlanResponse
		if err := json.Unmarshal([]byte(stdout), &resp); err != nil || code != 1 || resp.Jobs[0].Wait == nil {
			t.Errorf("exit %d, stdout %q (%v); want 1 and the plan as JSON", code, stdout, err)
		}
	})
	t.Run("var sets a value", func(t *testing.T) {
		var got []*structs.Job
		planAgent(t, starts, &got)
		src := "variable \"gpus\" {\n  type = number\n}\n" + strings.Replace(validJob, "count = 2", "count = var.gpus", 1)
		if code, _, stderr := runCLI(t, "job", "plan", "-var", "gpus=3", writeFile(t, "job.hcl", src)); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if len(got) != 1 || got[0].Resources.GPU.Count != 3 {
			t.Errorf("the agent was asked about %v, want 3 GPUs", got)
		}
	})
	t.Run("flags override the file", func(t *testing.T) {
		var got []*structs.Job
		planAgent(t, starts, &got)
		if code, _, stderr := runCLI(t, "job", "plan", "-gpus", "1", "-time", "5m", writeFile(t, "job.hcl", validJob)); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if len(got) != 1 || got[0].Resources.GPU.Count != 1 || got[0].TimeLimit.D() != 5*time.Minute {
			t.Errorf("the agent was asked about %+v, want 1 GPU for 5m", got)
		}
	})
	sweepFile := "job \"lr\" {\n  sweep {\n    values = { lr = [\"0.1\", \"0.01\"] }\n  }\n  task {\n    command = \"python3\"\n    args    = [\"train.py\", sweep.lr]\n  }\n}\n"
	member := func(i int, starts bool) structs.JobPlanResult {
		r := structs.JobPlanResult{Name: "lr", ArrayIndex: i, SweepValues: map[string]string{"lr": []string{"0.1", "0.01"}[i]}}
		if starts {
			r.Placements = []structs.Placement{{NodeID: "n1", NodeName: "dev", GPUs: []int{}}}
		} else {
			r.Wait = &structs.WaitStatus{Code: structs.WaitParallel, Reason: "ArrayLimit: its sweep would already run 1 job (max_parallel 1)"}
		}
		return r
	}
	for _, tc := range []struct {
		name string
		resp structs.JobPlanResponse
		code int
	}{
		{"a sweep that would start exits 0", structs.JobPlanResponse{Pending: 2, Jobs: []structs.JobPlanResult{member(0, true), member(1, false)}}, 0},
		{"a sweep of which none would start exits 1", structs.JobPlanResponse{Pending: 2, Jobs: []structs.JobPlanResult{member(0, false), member(1, false)}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []*structs.Job
			planAgent(t, tc.resp, &got)
			code, stdout, stderr := runCLI(t, "job", "plan", writeFile(t, "sweep.hcl", sweepFile))
			if code != tc.code || strings.Contains(stdout, "plan-1") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d", code, stdout, stderr, tc.code)
			}
		})
	}
	t.Run("a command after --, as job run takes it", func(t *testing.T) {
		var got []*structs.Job
		planAgent(t, starts, &got)
		if code, _, stderr := runCLI(t, "job", "plan", "-gpus", "2", "-mem", "512", "--", "sleep", "1"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if len(got) != 1 || got[0].Task.Command != "sleep" || got[0].Task.Args[0] != "1" || got[0].Resources.GPU.Count != 2 || got[0].Resources.MemoryBytes != 512<<20 {
			t.Errorf("the agent was asked about %+v, want sleep 1 with 2 GPUs and 512MiB", got)
		}
	})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name   string
		args   func(t *testing.T) []string
		stderr string
	}{
		{"missing file argument", func(t *testing.T) []string { return nil }, "missing job file"},
		{"unknown flag", func(t *testing.T) []string { return []string{"-nope", "x.hcl"} }, "-nope"},
		{"bad var", func(t *testing.T) []string { return []string{"-var", "novalue", writeFile(t, "job.hcl", validJob)} }, "expected name=value"},
		{"invalid file", func(t *testing.T) []string {
			return []string{writeFile(t, "bad.hcl", "job \"x\" {\n  task {\n    command = \n  }\n}\n")}
		}, "bad.hcl:3:"},
		{"a command without --", func(t *testing.T) []string { return []string{"sleep", "1"} },
			`too many arguments: ["sleep" "1"]; to run a command, put it after --: nai job plan -- sleep 1`},
		{"bad flags with a file", func(t *testing.T) []string { return []string{"-gpus", "-2", writeFile(t, "job.hcl", validJob)} },
			"-gpus -2: expected 0 or more"},
		{"a Python program", func(t *testing.T) []string { return []string{writeFile(t, "t.py", "import os\n")} },
			"t.py is a Python program, not a job file: nai runs HCL job files (a job block) and batch scripts with #SBATCH lines; to run it as a command: nai job plan -code "},
		{"no agent", func(t *testing.T) []string {
			return []string{"-address", deadAddr, writeFile(t, "job.hcl", validJob)}
		}, "Is the nai agent there running, and reachable from this host? Check NAI_ADDR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noServer(t)
			code, _, stderr := runCLI(t, append([]string{"job", "plan"}, tc.args(t)...)...)
			if code != 2 || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.stderr)
			}
		})
	}
}

// -hcl prints a job file; -hcl with -json is a usage error.
func TestJobInspectHCL(t *testing.T) {
	f := &fakeAgent{t: t, versions: []*structs.Job{testJob("7", "train", structs.JobRunning, running("dev", time.Minute, 0, 1))}}
	f.start()
	code, stdout, stderr := runCLI(t, "job", "inspect", "-hcl", "7")
	if code != 0 || !strings.HasPrefix(stdout, "# Job 7, owned by alice.\n\njob \"train\" {\n") || !strings.Contains(stdout, `args    = ["train.py"]`) {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	if code, _, stderr := runCLI(t, "job", "inspect", "-hcl", "-json", "7"); code != 1 || !strings.Contains(stderr, "alternatives") {
		t.Errorf("-hcl -json: exit %d, stderr %q; want a usage error", code, stderr)
	}
}
