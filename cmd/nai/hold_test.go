package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// holdServer answers GET /v1/jobs?array= from sweepJobs and records the
// targets of each hold and release; a target "31" (running) is refused as
// the servers refuse it, and "99" is not found; "33" is held already and
// "34" is not held, which the servers answer as unchanged. An array id names its
// pending members, as on the servers, which answer each job's ref (A_N)
// unless old is true: a server from before JobHoldResponse.Refs.
func holdServer(t *testing.T, old bool) *[]string {
	var got []string
	jobs := sweepJobs()
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, status int, code structs.ErrorCode, format string, args ...any) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": structs.NewError(code, format, args...)})
	}
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		var out []*structs.Job
		for _, j := range jobs {
			if j.ArrayID == r.URL.Query().Get("array") {
				out = append(out, j)
			}
		}
		if len(out) == 0 {
			fail(w, 404, structs.CodeNotFound, "job array not found")
			return
		}
		w.Header().Set(api.IndexHeader, "5")
		json.NewEncoder(w).Encode(out)
	})
	for _, verb := range []string{"hold", "release"} {
		mux.HandleFunc("POST /v1/jobs/"+verb, func(w http.ResponseWriter, r *http.Request) {
			var body structs.JobHoldTargets
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("decode: %v", err)
			}
			resp := structs.JobHoldResponse{JobIDs: []string{}, Index: 6}
			var ids []string
			for _, tg := range body.Targets {
				s := verb + " " + tg.ID
				if tg.Only {
					s += " only"
				}
				ids = append(ids, s)
				switch tg.ID {
				case "31":
					fail(w, 409, structs.CodeConflict, "job 31 is running: only a pending job can be held")
					return
				case "99":
					fail(w, 404, structs.CodeNotFound, "%s: job \"99\" not found", verb)
					return
				case "33", "34":
					if (tg.ID == "33") != (verb == "release") {
						resp.Unchanged = append(resp.Unchanged, structs.JobHoldUnchanged{Ref: tg.ID, ID: tg.ID})
						continue
					}
				case "24":
					resp.Unchanged = append(resp.Unchanged, structs.JobHoldUnchanged{Ref: "20_4", ID: "24"})
					continue
				case "25":
					resp.Unchanged = append(resp.Unchanged, structs.JobHoldUnchanged{Ref: "25", ID: "25", Array: true})
					continue
				}
				changed := []*structs.Job{}
				for _, j := range jobs {
					switch {
					case j.ID == tg.ID && (tg.Only || j.ArrayID != j.ID):
						changed = append(changed, j)
					case !tg.Only && j.ArrayID == tg.ID && j.Status == structs.JobPending:
						changed = append(changed, j)
					}
				}
				if len(changed) == 0 {
					changed = append(changed, &structs.Job{ID: tg.ID})
				}
				for _, j := range changed {
					resp.JobIDs = append(resp.JobIDs, j.ID)
					if !old {
						resp.Refs = append(resp.Refs, j.ArrayRef())
					}
				}
			}
			got = append(got, ids...)
			json.NewEncoder(w).Encode(resp)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Setenv("NAI_ADDR", srv.URL)
	return &got
}

func TestJobHoldRelease(t *testing.T) {
	tests := []struct {
		name     string
		old      bool // a server that answers no refs
		args     []string
		wantCode int
		want     []string
		stdout   string
		stderr   string
	}{
		{name: "a job", args: []string{"hold", "30"}, want: []string{"hold 30"}, stdout: "Job 30 held.\n"},
		{name: "release", args: []string{"release", "30"}, want: []string{"release 30"}, stdout: "Job 30 released.\n"},
		{name: "an array id goes whole, its members named A_N", args: []string{"hold", "20"}, want: []string{"hold 20"}, stdout: "Job 20_2 (job 22) held.\n"},
		{name: "a member", args: []string{"hold", "20_2"}, want: []string{"hold 22"}, stdout: "Job 20_2 (job 22) held.\n"},
		{name: "a member by its job id", args: []string{"release", "22"}, want: []string{"release 22"}, stdout: "Job 20_2 (job 22) released.\n"},
		{name: "member 0 alone", args: []string{"release", "20_0"}, want: []string{"release 20 only"}, stdout: "Job 20_0 (job 20) released.\n"},
		{name: "a member range", args: []string{"hold", "20_[0-2]", "30"}, want: []string{"hold 20 only", "hold 21", "hold 22", "hold 30"},
			stdout: "4 jobs held: 20_0, 20_1, 20_2, 30.\n"},
		{name: "an old server: members named as typed", old: true, args: []string{"hold", "20_[1-2]", "30"}, want: []string{"hold 21", "hold 22", "hold 30"},
			stdout: "3 jobs held: 20_1, 20_2, 30.\n"},
		{name: "an old server: a member by its job id", old: true, args: []string{"hold", "22"}, want: []string{"hold 22"}, stdout: "Job 22 held.\n"},
		{name: "a running job refuses all", args: []string{"hold", "30", "31"}, wantCode: 1,
			stderr: "Error: hold 30 31: job 31 is running: only a pending job can be held\n"},
		{name: "an unknown job", args: []string{"release", "99"}, wantCode: 1,
			stderr: "Error: release 99: release: job \"99\" not found\n"},
		{name: "no member", args: []string{"hold", "20_9"}, wantCode: 1,
			stderr: "Error: job array 20 has no member 9 (members 0-3)\n"},
		{name: "a bad ref", args: []string{"hold", "20_x"}, wantCode: 1},
		// One rule for both: a job as asked already is named, as an
		// error; the others named still change.
		{name: "a job held already", args: []string{"hold", "33"}, want: []string{"hold 33"}, wantCode: 1,
			stderr: "Error: job 33 already held\n"},
		{name: "a job not held", args: []string{"release", "34"}, want: []string{"release 34"}, wantCode: 1,
			stderr: "Error: job 34 is not held; nothing to release\n"},
		{name: "held already among others", args: []string{"hold", "33", "30"}, want: []string{"hold 33", "hold 30"}, wantCode: 1,
			stdout: "Job 30 held.\n", stderr: "Error: job 33 already held\n"},
		{name: "not held among others, a member by A_N", args: []string{"release", "34", "30", "24"}, want: []string{"release 34", "release 30", "release 24"}, wantCode: 1,
			stdout: "Job 30 released.\n",
			stderr: "job 34 is not held; nothing to release\njob 20_4 (job 24) is not held; nothing to release\nError: 2 of the jobs named were not held\n"},
		{name: "several held already", args: []string{"hold", "33", "24"}, want: []string{"hold 33", "hold 24"}, wantCode: 1,
			stderr: "job 33 already held\njob 20_4 (job 24) already held\nError: 2 of the jobs named were already held\n"},
		{name: "an array held already", args: []string{"hold", "25"}, want: []string{"hold 25"}, wantCode: 1,
			stderr: "Error: job array 25 already held: every pending job in it is\n"},
		{name: "an array with no held job", args: []string{"release", "25"}, want: []string{"release 25"}, wantCode: 1,
			stderr: "Error: job array 25 has no held job; nothing to release\n"},
		{name: "-json says it too, and fails", args: []string{"hold", "-json", "33"}, want: []string{"hold 33"}, wantCode: 1,
			stdout: "{\n  \"job_ids\": [],\n  \"unchanged\": [\n    {\n      \"ref\": \"33\",\n      \"id\": \"33\"\n    }\n  ],\n  \"index\": 6\n}\n",
			stderr: "Error: job 33 already held\n"},
		{name: "no id", args: []string{"release"}, wantCode: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := holdServer(t, tc.old)
			code, stdout, stderr := runCLI(t, append([]string{"job"}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr)
			}
			if !slices.Equal(*got, tc.want) {
				t.Errorf("sent %q, want %q", *got, tc.want)
			}
			if stdout != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.stdout)
			}
			if tc.stderr != "" && stderr != tc.stderr {
				t.Errorf("stderr = %q, want %q", stderr, tc.stderr)
			}
			if tc.wantCode != 0 && tc.stderr == "" && !strings.Contains(stderr, "Usage") && !strings.Contains(stderr, "usage") {
				t.Errorf("a usage error without the usage: %q", stderr)
			}
		})
	}
}

// nai job run -hold submits the job held (sbatch -H); without it, not.
func TestJobRunHold(t *testing.T) {
	for _, hold := range []bool{false, true} {
		f := &fakeAgent{t: t, resp: structs.JobRegisterResponse{JobIDs: []string{"7"}}}
		f.start()
		args := []string{"job", "run", "-detach"}
		if hold {
			args = append(args, "-hold")
		}
		code, stdout, stderr := runCLI(t, append(args, writeFile(t, "ok.hcl", validJob))...)
		if code != 0 || stdout != "7\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if len(f.submitted) != 1 || (f.submitted[0].Hold != nil) != hold {
			t.Errorf("-hold %v: submitted %+v", hold, f.submitted)
		}
	}
}
