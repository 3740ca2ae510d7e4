package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// sweepOf is a sweep of n members that differ in an argument, as the job
// file parser makes them, written as one spec.
func sweepOf(t testing.TB, n int, user string) *structs.SweepSpec {
	t.Helper()
	jobs := make([]*structs.Job, n)
	for i := range jobs {
		j := &structs.Job{Name: "lr", User: user, Labels: map[string]string{"team": "vision"},
			Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30},
			Task:      structs.Task{Command: "/bin/echo", Args: []string{fmt.Sprint(i)}}}
		j.SetSweepMember(i, n, 0, map[string]string{"i": fmt.Sprint(i)})
		jobs[i] = j
	}
	spec, err := structs.NewSweepSpec(jobs)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// A sweep sent as one spec becomes the same array as its members sent
// written out.
func TestSweepSpecRegister(t *testing.T) {
	s, cl := testServer(t, t.TempDir())
	ctx := context.Background()
	spec := sweepOf(t, 3, "alice")
	members, err := spec.Expand()
	if err != nil {
		t.Fatal(err)
	}
	fromJobs, err := cl.Register(ctx, members...)
	if err != nil {
		t.Fatal(err)
	}
	fromSpec, err := cl.RegisterSweep(ctx, sweepOf(t, 3, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if fromSpec.ArrayID == "" || len(fromSpec.JobIDs) != 3 {
		t.Fatalf("the spec's response: %+v", fromSpec)
	}
	snap := s.State().Snapshot()
	a, err := snap.JobsByArray(nil, fromJobs.ArrayID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := snap.JobsByArray(nil, fromSpec.ArrayID)
	if err != nil {
		t.Fatal(err)
	}
	// What differs between the two arrays is only theirs: ids, times,
	// indices and the scheduler's word on them.
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("%d and %d members", len(a), len(b))
	}
	for i := range a {
		x, y := a[i].Copy(), b[i].Copy()
		for _, j := range []*structs.Job{x, y} {
			j.ID, j.ArrayID, j.CreateIndex, j.ModifyIndex, j.Reason = "", "", 0, 0, ""
			j.SubmitTime, j.EstimatedStart = j.SubmitTime.Truncate(0), j.EstimatedStart.Truncate(0)
		}
		x.SubmitTime, x.EstimatedStart = y.SubmitTime, y.EstimatedStart
		if d := cmp.Diff(x, y); d != "" {
			t.Errorf("member %d differs (-jobs +spec):\n%s", i, d)
		}
	}
}

// One job that carries sweep values (#SBATCH --array=5), sent as a job or
// as a spec of one member, is the array of one that Slurm makes: member
// A_5 of array A; a plain job stays a plain job.
func TestRegisterArrayOfOne(t *testing.T) {
	s, cl := testServer(t, t.TempDir())
	ctx := context.Background()
	one := func() *structs.Job {
		j := &structs.Job{Name: "one", User: "alice", Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30},
			Task: structs.Task{Command: "/bin/echo"}}
		j.SetSweepMember(0, 1, 0, map[string]string{structs.ArrayTaskIDKey: "5"})
		return j
	}
	fromJob, err := cl.Register(ctx, one())
	if err != nil {
		t.Fatal(err)
	}
	spec, err := structs.NewSweepSpec([]*structs.Job{one()})
	if err != nil {
		t.Fatal(err)
	}
	fromSpec, err := cl.RegisterSweep(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, resp := range []*structs.JobRegisterResponse{fromJob, fromSpec} {
		if len(resp.JobIDs) != 1 || resp.ArrayID != resp.JobIDs[0] {
			t.Fatalf("response %+v: want an array of one whose id is its member's", resp)
		}
		j, err := s.State().Snapshot().JobByID(nil, resp.JobIDs[0])
		if err != nil || j == nil {
			t.Fatalf("job %s: %v", resp.JobIDs[0], err)
		}
		if want := resp.ArrayID + "_5"; j.ArrayID != resp.ArrayID || j.ArrayRef() != want {
			t.Errorf("job %s: array %q, ref %q; want %q, %q", j.ID, j.ArrayID, j.ArrayRef(), resp.ArrayID, want)
		}
	}
	plain, err := cl.Register(ctx, &structs.Job{Name: "plain", User: "alice", Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30},
		Task: structs.Task{Command: "/bin/echo"}})
	if err != nil {
		t.Fatal(err)
	}
	if plain.ArrayID != "" {
		t.Errorf("a plain job became array %s", plain.ArrayID)
	}
}

// putJobs sends body to PUT /v1/jobs with a token, and returns the status and
// the answer.
func putJobs(t *testing.T, base, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, base+"/v1/jobs", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
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

// A bad sweep spec is refused with a message that says what is wrong, and
// changes nothing.
func TestSweepSpecBadInput(t *testing.T) {
	s, cl := testServer(t, t.TempDir(), func(c *Config) {
		c.Audit.FlushInterval = time.Hour // no audit writes in the middle of a comparison
	})
	tmpl := `{"name":"lr","resources":{"cpu":1,"memory_bytes":1073741824},"task":{"command":"/bin/echo"}}`
	// member i, changing the named fields (a JSON list) to changes.
	member := func(i int, changed, changes string) string {
		m := fmt.Sprintf(`{"values":{"i":"%d"}`, i)
		if changed != "" {
			m += `,"changed":` + changed + `,"changes":` + changes
		}
		return m + "}"
	}
	many := make([]string, MaxJobsPerSubmit+1)
	for i := range many {
		many[i] = member(i, "", "")
	}
	tests := []struct {
		name, body, want string
	}{
		{"missing template", `{"sweep":{"members":[` + member(0, "", "") + `]}}`, "no template"},
		{"zero members", `{"sweep":{"template":` + tmpl + `,"members":[]}}`, "no member"},
		{"too many members", `{"sweep":{"template":` + tmpl + `,"members":[` + strings.Join(many, ",") + `]}}`, "the limit is 10000"},
		{"unknown changed field", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, "", "") + "," + member(1, `["colour"]`, `{}`) + `]}}`, `sweep member 1 changes \"colour\"`},
		{"a state field changed", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, `["status"]`, `{"status":"running"}`) + `]}}`, `\"status\", which is not a field of a job spec`},
		{"a node chosen", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, `["node_id"]`, `{"node_id":"n1"}`) + `]}}`, `\"node_id\"`},
		{"a change of the wrong type", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, `["task.args"]`, `{"task":{"args":"x"}}`) + `]}}`, "members.changes.task.args of type []string"},
		{"changes without names", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, `["task.args"]`, `null`) + `]}}`, "names changed fields but has no changes"},
		{"an invalid member", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, "", "") + "," + member(1, `["resources"]`, `{"resources":{"cpu":-1}}`) + `]}}`, "sweep member 1 (lr) is invalid"},
		{"a member without values", `{"sweep":{"template":` + tmpl + `,"members":[{}]}}`, "sweep member 0 has no values"},
		{"a member of another owner", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, `["user"]`, `{"user":"mallory"}`) + `]}}`, "changes its owner"},
		// The spec decodes by its own UnmarshalJSON, as strict as the
		// rest of the body.
		{"an unknown field of the spec", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, "", "") + `],"colour":1}}`, `unknown field \"colour\"`},
		{"an unknown field in the template", `{"sweep":{"template":{"colour":1,` + tmpl[1:] + `,"members":[` + member(0, "", "") + `]}}`, `unknown field \"colour\"`},
		{"an unknown field in a member", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, "", "") + `,{"values":{"i":"1"},"colour":1}]}}`, `unknown field \"colour\"`},
		{"an unknown field in a member's changes", `{"sweep":{"template":` + tmpl + `,"members":[` + member(0, `["task.args"]`, `{"task":{"args":["1"],"colour":1}}`) + `]}}`, `unknown field \"colour\"`},
		{"both jobs and a sweep", `{"jobs":[` + tmpl + `],"sweep":{"template":` + tmpl + `,"members":[` + member(0, "", "") + `]}}`, "either jobs or a sweep, not both"},
		{"a job and a sweep", `{"job":` + tmpl + `,"sweep":{"template":` + tmpl + `,"members":[` + member(0, "", "") + `]}}`, "not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := stateDump(t, s)
			for _, route := range []string{"/v1/jobs", "/v1/jobs/plan"} {
				method := http.MethodPut
				if route == "/v1/jobs/plan" {
					method = http.MethodPost
				}
				req, _ := http.NewRequest(method, cl.Address()+route, strings.NewReader(tc.body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
					t.Errorf("%s %s: status %d %.300s, want 400 mentioning %s", method, route, resp.StatusCode, b, tc.want)
				}
			}
			if d := cmp.Diff(before, stateDump(t, s)); d != "" {
				t.Errorf("a refused sweep changed the state:\n%s", d)
			}
		})
	}

	// State fields in the template are the cluster's: cleared, as for
	// jobs, not refused.
	code, body := putJobs(t, cl.Address(), "", `{"sweep":{"template":{"id":"99","status":"running","node_id":"n1","attempt":3,"exit_code":1,"name":"lr","resources":{"cpu":1,"memory_bytes":1073741824},"task":{"command":"/bin/echo"}},"members":[`+member(0, "", "")+","+member(1, `["task.args"]`, `{"task":{"args":["1"]}}`)+`]}}`)
	if code != http.StatusOK {
		t.Fatalf("a template with state fields: %d %s", code, body)
	}
	var resp structs.JobRegisterResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	for _, id := range resp.JobIDs {
		j, err := s.State().Snapshot().JobByID(nil, id)
		if err != nil || j == nil {
			t.Fatal(id, err)
		}
		if j.ID == "99" || j.Status != structs.JobPending || j.NodeID != "" || j.Attempt != 0 || j.ExitCode != nil || j.User != "anonymous" {
			t.Errorf("job %s kept submitted state: %+v", id, j)
		}
	}
}

// With ACLs the token owns a sweep, as it owns jobs: a user may not submit
// one as another user, nor into a group where it is not a member.
func TestSweepSpecACL(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	as := func(caller string) *api.Client { return f.as(t, caller) }
	tests := []struct {
		name, caller string
		edit         func(*structs.SweepSpec)
		code         structs.ErrorCode
		want         string
	}{
		{"as another user", "stranger", func(s *structs.SweepSpec) { s.Template.User = "u1" }, structs.CodeForbidden, "may not submit jobs as user u1"},
		{"into a group of others", "stranger", func(s *structs.SweepSpec) { s.Template.Group = "vision" }, structs.CodeForbidden, ""},
		{"a member into a group of others", "stranger", func(s *structs.SweepSpec) {
			s.Members[1].Changed = []string{"group"}
			s.Members[1].Changes = &structs.Job{Group: "vision"}
		}, structs.CodeForbidden, ""},
		{"a member clearing its task user", "owner", func(s *structs.SweepSpec) {
			s.Members[1].Changed = []string{"task.user"}
			s.Members[1].Changes = &structs.Job{}
		}, structs.CodeInvalid, "clears its group or task user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := sweepOf(t, 2, "")
			tc.edit(spec)
			before := stateDump(t, f.s)
			_, err := as(tc.caller).RegisterSweep(ctx, spec)
			if err == nil || structs.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (code %s), want %s mentioning %q", err, structs.CodeOf(err), tc.code, tc.want)
			}
			if d := cmp.Diff(before, stateDump(t, f.s)); d != "" {
				t.Errorf("a refused sweep changed the state:\n%s", d)
			}
		})
	}
	// The owner's sweep is the owner's, every member of it.
	resp, err := as("owner").RegisterSweep(ctx, sweepOf(t, 2, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range resp.JobIDs {
		j, err := f.s.State().Snapshot().JobByID(nil, id)
		if err != nil || j == nil || j.User != "u1" || j.Group != "u1" || j.Task.User == "" {
			t.Errorf("member %s: %+v, %v; want owned by u1 in group u1", id, j, err)
		}
	}
}

// BenchmarkRegisterSweep1000 submits a 1000-member sweep through the API
// (client JSON, HTTP, the server's checks, raft, the store), as one spec
// and as its members written out. Each submission is cancelled again so
// that the queue stays the same.
//
// 2 shared cores, load ~1.6: spec 16-20 ms, 10 MB, 102k allocs (body 83
// KB); jobs 31-32 ms, 16.7 MB, 148k allocs (body 435 KB). Of the spec's,
// the handler takes ~10 ms (checks 2.5, raft apply 8 of which the store
// ~5); the rest is the client's encoding, HTTP and the scheduler's pass
// over the new members running beside it.
//
// 2026-12-03 (sweep2 branch), allocations per op 53.6k -> 33.1k, 9.5 ->
// 8.3 MB side by side with the commit before the branch (times not
// compared: load 10 from other work). In a dev agent, e2e's sweep (with
// begin_after) submitted and cancelled 30 times, the agent's CPU profile
// over the same 20 s: 3.06 -> 1.39 s in all; the plan entry that rewrote
// every member's reason 0.52 s -> none, cancels 0.55 -> 0.29 s, garbage
// collection 0.72 -> 0.22 s, the registrations' state machine 0.20 ->
// 0.13 s, the scheduler's passes 0.16 -> 0.06 s.
//
// Without ACLs the handler no longer makes the members the store makes
// again, and the store makes them with two goroutines, ahead on the
// leader (2026-12-03): spec, three alternating runs of 60 against the
// commit before, 15.75-17.4 -> 15.2-15.7 ms, 8.2-8.4 -> 6.8-6.95 MB,
// 32.3-32.8k -> 30.1-30.6k allocs. The handler's own time, instrumented
// in a dev agent, median of 25: 10.5 -> 9.5 ms.
func BenchmarkRegisterSweep1000(b *testing.B) {
	_, cl := testServer(b, b.TempDir())
	ctx := context.Background()
	spec := sweepOf(b, 1000, "alice")
	for _, tc := range []string{"spec", "jobs"} {
		b.Run(tc, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var resp *structs.JobRegisterResponse
				var err error
				if tc == "spec" {
					resp, err = cl.RegisterSweep(ctx, spec)
				} else {
					jobs, xerr := spec.Expand()
					if xerr != nil {
						b.Fatal(xerr)
					}
					resp, err = cl.Register(ctx, jobs...)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := cl.Cancel(ctx, resp.ArrayID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// A submission's body decodes as decodeBody decodes it, whether it takes
// the sweep's shortcut or not: the same body, or an error for both.
func TestDecodeRegisterBody(t *testing.T) {
	spec, err := json.Marshal(map[string]any{"sweep": sweepOf(t, 3, "alice")})
	if err != nil {
		t.Fatal(err)
	}
	s := string(spec)
	inner := strings.TrimSuffix(strings.TrimPrefix(s, `{"sweep":`), "}")
	for _, b := range []string{
		s, s + "\n", s + "  \r\n", " " + s, s + "{}", s + "x",
		`{"sweep":` + inner + `,"jobs":[]}`,
		`{"sweep":` + inner + `,"job":null}`,
		`{"sweep":null}`, `{"sweep":{}}`, `{"sweep":{"template":{"name":"a"},"members":[{"values":{"i":"1"}}],"extra":1}}`,
		`{"sweep":{"template":{"name":"a","nope":1},"members":[{"values":{"i":"1"}}]}}`,
		`{"sweep":{"template":{"name":"a"},"members":[{"values":{"i":"1"},"bogus":[]}]}}`,
		`{"sweep":` + inner + `}}`, `{"sweep":` + inner, `{"sweep":{`, `{"jobs":[{"name":"a"}]}`, ``, `null`,
	} {
		var fast, plain registerBody
		errFast := decodeRegisterBody(httptest.NewRequest("PUT", "/v1/jobs", strings.NewReader(b)), &fast)
		errPlain := decodeBody(httptest.NewRequest("PUT", "/v1/jobs", strings.NewReader(b)), &plain)
		if (errFast == nil) != (errPlain == nil) {
			t.Errorf("%.80q: error %v, decodeBody's %v", b, errFast, errPlain)
			continue
		}
		if errFast == nil && !reflect.DeepEqual(fast, plain) {
			t.Errorf("%.80q: %+v, decodeBody's %+v", b, fast, plain)
		}
	}
	// A body past the limit is refused saying so, sweep or not.
	big := `{"sweep":{"template":{"name":"` + strings.Repeat("a", maxBody) + `"}}}`
	var body registerBody
	err = decodeRegisterBody(httptest.NewRequest("PUT", "/v1/jobs", strings.NewReader(big)), &body)
	if err == nil || !strings.Contains(err.Error(), "request body larger than") {
		t.Errorf("a %d-byte body: %v, want it refused as too large", len(big), err)
	}
}
