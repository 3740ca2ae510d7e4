package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/testtool"
	"github.com/nai-project/nai/structs"
)

// The habits of Slurm and Unix users (issue 12), each driven through the
// whole CLI against a fake cluster that answers the API from a fixed list
// of jobs and records what it was asked to do.

// waitUntil polls cond (for the fake's handlers, which must not fail the
// test from their own goroutine).
func waitUntil(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// A Python job that crashes: its traceback is shown in place, marked, and
// the summary points at the full stderr.
func TestFollowShowsStderrInOrder(t *testing.T) {
	run := testJob("7", "tb", structs.JobRunning, running("dev", 5*time.Second))
	failed := testJob("7", "tb", structs.JobFailed, ended(5*time.Second, 0, intp(1), structs.ExitExited))
	out := &testtool.Buffer{}
	f := &fakeAgent{t: t, versions: []*structs.Job{run, failed},
		logs: "epoch 1 loss 0.9\nepoch 2 loss 0.7\n",
		stderr: "Traceback (most recent call last):\n  File \"train.py\", line 9, in <module>\n" +
			"    loss = 1 / 0\nZeroDivisionError: division by zero\n",
		resp: structs.JobRegisterResponse{JobIDs: []string{"7"}}}
	// The job prints once it runs, and the traceback comes after both
	// epochs, as the job wrote it.
	f.beforeLogs = func(typ string) bool {
		want := "running on node"
		if typ == "stderr" {
			want = "epoch 2"
		}
		return waitUntil(func() bool { return strings.Contains(out.String(), want) })
	}
	f.start()
	code := run_(t, out, "job", "run", writeFile(t, "tb.hcl", validJob))
	if code != 1 {
		t.Errorf("exit code = %d, want the job's 1", code)
	}
	checkGolden(t, "follow_python_traceback", []byte(out.String()))
}

// run_ runs the CLI with both outputs into w.
func run_(t *testing.T, w *testtool.Buffer, args ...string) int {
	t.Helper()
	return runIO(context.Background(), append([]string{"nai"}, args...), strings.NewReader(""), w, w)
}

func TestLogMux(t *testing.T) {
	var out, errw bytes.Buffer
	m := newLogMux(&out, &errw)
	so, se := m.stream(0), m.stream(1)
	so.Write([]byte("half a "))
	se.Write([]byte("warn: x\nprogress 10%\rprogress 20%"))
	so.Write([]byte("line\n"))
	se.Write([]byte("\rdone\n"))
	m.note("==> note")
	se.Write([]byte("no newline at the end"))
	m.flush()
	if got, want := out.String(), "half a line\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	want := "stderr: warn: x\nstderr: progress 10%\rstderr: progress 20%\rstderr: done\n==> note\nstderr: no newline at the end\n"
	if got := errw.String(); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if n := m.stderrLines(); n != 3 {
		t.Errorf("stderr lines = %d, want 3", n)
	}
}

func TestTailer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\n", 5, "a\n"},
		{"a\nb\n", 0, ""},
	} {
		tl := newTailer(tc.n)
		for _, ch := range strings.SplitAfter(tc.in, "") {
			tl.Write([]byte(ch)) // byte by byte: lines span writes
		}
		if got := string(tl.bytes()); got != tc.want {
			t.Errorf("tail -%d of %q = %q, want %q", tc.n, tc.in, got, tc.want)
		}
	}
}

// fakeCluster answers the read, cancel and identity routes from a fixed
// list of jobs.
type fakeCluster struct {
	t     *testing.T
	jobs  []*structs.Job
	acl   bool     // ACLs on: users lists the known users
	users []string // with acl
	me    string   // the token's user, with acl
	logs  map[string]string
	// oldServer answers POST /v1/jobs/cancel as a release without bulk
	// cancel does (405).
	oldServer bool

	mu        sync.Mutex
	cancelled []string
	submitted []*structs.Job
	blobs     map[string]bool
	uploads   int
	logBytes  int64 // log bytes served
}

func (f *fakeCluster) start() {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set(api.IndexHeader, "5")
		json.NewEncoder(w).Encode(v)
	}
	fail := func(w http.ResponseWriter, status int, code structs.ErrorCode, format string, args ...any) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": structs.NewError(code, format, args...)})
	}
	find := func(id string) *structs.Job {
		for _, j := range f.jobs {
			if j.ID == id {
				return j
			}
		}
		return nil
	}
	list := func(all bool) []*structs.Job {
		var out []*structs.Job
		for _, j := range f.jobs {
			if all || !j.Status.Terminal() {
				out = append(out, j)
			}
		}
		return out
	}
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		if arr := r.URL.Query().Get("array"); arr != "" {
			var out []*structs.Job
			for _, j := range f.jobs {
				if j.ArrayID == arr {
					out = append(out, j)
				}
			}
			if len(out) == 0 {
				fail(w, 404, structs.CodeNotFound, "job array %s not found", arr)
				return
			}
			writeJSON(w, out)
			return
		}
		writeJSON(w, list(r.URL.Query().Get("all") == "true"))
	})
	mux.HandleFunc("GET /v1/queue", func(w http.ResponseWriter, r *http.Request) {
		jobs := list(r.URL.Query().Get("all") == "true")
		if r.URL.Query().Get("view") == "row" {
			rows := make([]structs.JobRow, len(jobs))
			for i, j := range jobs {
				rows[i] = j.Row()
			}
			writeJSON(w, rows)
			return
		}
		writeJSON(w, jobs)
	})
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if j := find(r.PathValue("id")); j != nil {
			writeJSON(w, j)
			return
		}
		fail(w, 404, structs.CodeNotFound, "job %s not found", r.PathValue("id"))
	})
	mux.HandleFunc("GET /v1/jobs/{id}/allocations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []*structs.Allocation{})
	})
	mux.HandleFunc("GET /v1/jobs/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		// As the servers do: a negative offset counts from the end.
		logs := f.logs[r.PathValue("id")+"/"+r.URL.Query().Get("type")]
		off, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
		start, _ := structs.LogRange(off, 0, int64(len(logs)))
		start = min(start, int64(len(logs)))
		w.Header().Set(structs.OffsetHeader, strconv.FormatInt(start, 10))
		w.Header().Set(structs.SizeHeader, strconv.Itoa(len(logs)))
		f.mu.Lock()
		f.logBytes += int64(len(logs)) - start
		f.mu.Unlock()
		w.Write([]byte(logs[start:]))
	})
	// named is what a cancel target names, as the servers see it: every
	// member of a sweep by its id, unless only.
	named := func(id string, only bool) []*structs.Job {
		var out []*structs.Job
		for _, j := range f.jobs {
			if !only && j.ArrayID == id {
				out = append(out, j)
			}
		}
		if len(out) == 0 {
			if j := find(id); j != nil {
				out = append(out, j)
			}
		}
		return out
	}
	mux.HandleFunc("DELETE /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if find(id) == nil {
			fail(w, 404, structs.CodeNotFound, "job %s not found", id)
			return
		}
		only := r.URL.Query().Get("only") == "true"
		f.mu.Lock()
		if only {
			f.cancelled = append(f.cancelled, id+"?only=true")
		} else {
			f.cancelled = append(f.cancelled, id)
		}
		f.mu.Unlock()
		if f.oldServer {
			writeJSON(w, structs.JobCancelResponse{JobID: id, Index: 6})
			return
		}
		live, ended := structs.SplitEnded("", named(id, only))
		writeJSON(w, structs.JobCancelResponse{JobID: id, Index: 6, Cancelled: live, Ended: ended})
	})
	mux.HandleFunc("POST /v1/jobs/cancel", func(w http.ResponseWriter, r *http.Request) {
		if f.oldServer {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		var body structs.JobCancelManyRequest
		json.NewDecoder(r.Body).Decode(&body)
		out := structs.JobCancelManyResponse{Cancelled: []string{}, NotFound: []string{}, Ended: []structs.EndedJob{}, Index: 6}
		f.mu.Lock()
		for _, t := range body.Targets {
			switch {
			case find(t.ID) == nil:
				out.NotFound = append(out.NotFound, t.ID)
				continue
			case t.Only:
				f.cancelled = append(f.cancelled, t.ID+"?only=true")
			default:
				f.cancelled = append(f.cancelled, t.ID)
			}
			live, ended := structs.SplitEnded(t.ID, named(t.ID, t.Only))
			out.Ended = append(out.Ended, ended...)
			if len(live) > 0 {
				out.Cancelled = append(out.Cancelled, t.ID)
			}
		}
		f.mu.Unlock()
		writeJSON(w, out)
	})
	mux.HandleFunc("PUT /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Jobs []*structs.Job }
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.submitted = append(f.submitted, body.Jobs...)
		f.mu.Unlock()
		writeJSON(w, structs.JobRegisterResponse{JobIDs: []string{"40"}, Index: 7})
	})
	mux.HandleFunc("GET /v1/acl/token/self", func(w http.ResponseWriter, r *http.Request) {
		if !f.acl {
			writeJSON(w, structs.Whoami{ACLDisabled: true})
			return
		}
		writeJSON(w, structs.Whoami{Token: &structs.Token{AccessorID: "acc", User: f.me}, User: &structs.User{Name: f.me}})
	})
	mux.HandleFunc("GET /v1/acl/users/{name}", func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(f.users, r.PathValue("name")) {
			fail(w, 404, structs.CodeNotFound, "user %s not found", r.PathValue("name"))
			return
		}
		writeJSON(w, structs.User{Name: r.PathValue("name")})
	})
	mux.HandleFunc("HEAD /v1/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		held := f.blobs[r.PathValue("digest")]
		f.mu.Unlock()
		if !held {
			w.WriteHeader(404)
		}
	})
	mux.HandleFunc("POST /v1/blobs/uploads", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, structs.UploadSession{ID: "up1"})
	})
	var upload bytes.Buffer
	mux.HandleFunc("PATCH /v1/blobs/uploads/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		n, _ := upload.ReadFrom(r.Body)
		f.uploads++
		_ = n
		writeJSON(w, structs.UploadSession{ID: "up1", Offset: int64(upload.Len())})
	})
	mux.HandleFunc("PUT /v1/blobs/uploads/{id}", func(w http.ResponseWriter, r *http.Request) {
		d := r.URL.Query().Get("digest")
		f.mu.Lock()
		if f.blobs == nil {
			f.blobs = map[string]bool{}
		}
		f.blobs[d] = true
		size := upload.Len()
		upload.Reset()
		f.mu.Unlock()
		writeJSON(w, structs.BlobInfo{Digest: d, Size: int64(size)})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		fail(w, 404, structs.CodeNotFound, "no route")
	})
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	f.t.Setenv("NAI_ADDR", srv.URL)
	f.t.Setenv("NAI_TOKEN", "")
}

// sweepJobs is a sweep 20 of four members (20 is member 0) and two jobs
// of other users.
func sweepJobs() []*structs.Job {
	member := func(id string, idx int, st structs.JobStatus, lr string, metrics map[string]float64) *structs.Job {
		return testJob(id, "lr-sweep", st, func(j *structs.Job) {
			j.ArrayID, j.ArrayIndex, j.ArraySize = "20", idx, 4
			j.SweepValues = map[string]string{"lr": lr}
			j.Metrics = metrics
		})
	}
	return []*structs.Job{
		member("20", 0, structs.JobRunning, "0.1", map[string]float64{"loss": 0.41, "accuracy": 0.88}),
		member("21", 1, structs.JobRunning, "0.03", map[string]float64{"loss": 0.32, "accuracy": 0.91}),
		member("22", 2, structs.JobPending, "0.01", nil),
		member("23", 3, structs.JobComplete, "0.003", map[string]float64{"loss": 0.55, "accuracy": 0.84}),
		testJob("30", "bert-base", structs.JobPending, func(j *structs.Job) { j.User, j.Queue = "bob", "long" }),
		testJob("31", "eval", structs.JobRunning, func(j *structs.Job) { j.User = "bob"; running("dev", time.Minute, 2)(j) }),
		testJob("32", "old", structs.JobFailed, func(j *structs.Job) { j.User = "carol" }),
	}
}

const queueUsage = "nai queue [-json | -format TEMPLATE] [-all] [-explain] [-u USERS | -me] [-state STATES] [-queue QUEUES] [-name GLOBS] [-jobs IDS]"

func TestQueueSelection(t *testing.T) {
	tests := []struct {
		name     string
		acl      bool
		args     []string
		wantCode int
		stdout   string // exact, when set
		contains []string
		stderr   string
	}{
		{name: "by user", args: []string{"-u", "bob", "-format", "{{.ID}} {{.Name}} {{.User}} {{.Status}}"},
			stdout: "30 bert-base bob pending\n31 eval bob running\n"},
		{name: "me without ACLs is the local account", args: []string{"-me", "-format", "{{.ID}}"}},
		{name: "state and queue", args: []string{"-state", "PD", "-queue", "long", "-format", "{{.ID}}"}, stdout: "30\n"},
		{name: "finished state lists finished jobs", args: []string{"-t", "failed,cd", "-format", "{{.ID}} {{.Status}}"},
			stdout: "23 complete\n32 failed\n"},
		{name: "name glob", args: []string{"-name", "lr-*", "-state", "running", "-format", `{{.ID}}\t{{index .SweepValues "lr"}}`},
			stdout: "20\t0.1\n21\t0.03\n"},
		{name: "json is filtered too", args: []string{"-u", "carol", "-all", "-json"}, contains: []string{`"id": "32"`}},
		{name: "nothing matches", args: []string{"-u", "bob", "-state", "complete"}, stderr: "No jobs match.\n"},
		{name: "unknown user without ACLs", args: []string{"-u", "dave"}, wantCode: 1,
			stderr: "Error: user \"dave\" is unknown: no job on this cluster was submitted by dave\n"},
		{name: "unknown user with ACLs", acl: true, args: []string{"-u", "dave"}, wantCode: 1,
			stderr: "Error: user \"dave\" not found: `nai user list` shows the users\n"},
		{name: "me with ACLs is the token's user", acl: true, args: []string{"-me", "-format", "{{.ID}}"}, stdout: "30\n31\n"},
		{name: "job list is queue", args: []string{"-u", "bob", "-format", "{{.ID}}"}, stdout: "30\n31\n"},
		{name: "squeue codes", args: []string{"-u", "bob", "-format", "%i %j %T"}, stdout: "30 bert-base PENDING\n31 eval RUNNING\n"},
		{name: "squeue's -o", args: []string{"-u", "bob", "-o", "%.4i|%-5j|%t|%P"}, stdout: "  30|bert-|PD|long\n  31|eval |R|default\n"},
		{name: "an unknown squeue code", args: []string{"-format", "%i %Y"}, wantCode: 1,
			stderr: "Error: -format: %Y is not a squeue code nai knows; it knows " + squeueCodeList() + "; or give a Go template such as '{{.ID}} {{.Name}}' (usage: " + queueUsage + ")\n"},
		{name: "a format with no field", args: []string{"-format", "ID NAME"}, wantCode: 1,
			stderr: "Error: -format \"ID NAME\" has no {{...}} field and no %-code, so it would print the same line for every job: give a Go template such as '{{.ID}} {{.Name}}' or squeue's codes such as '%i %j %T' (usage: " + queueUsage + ")\n"},
		{name: "by id, finished ones too", args: []string{"-j", "31,32", "-format", "{{.ID}} {{.Status}}"}, stdout: "31 running\n32 failed\n"},
		{name: "an array's id is its members", args: []string{"-jobs", "20", "-format", "{{.ID}}"}, stdout: "20\n21\n22\n23\n"},
		{name: "one member", args: []string{"-j", "20_2", "-t", "PD", "-format", "{{.ID}}"}, stdout: "22\n"},
		{name: "no job of that id", args: []string{"-j", "99"}, stderr: "No jobs match.\n"},
		{name: "a bad id", args: []string{"-j", "20_x"}, wantCode: 1,
			stderr: "Error: -jobs: job \"20_x\": expected an id (12) or an array member (12_3) (usage: " + queueUsage + ")\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jobs := sweepJobs()
			if tc.name == "me without ACLs is the local account" {
				jobs[4].User = currentUser()
				tc.stdout = "30\n"
			}
			f := &fakeCluster{t: t, jobs: jobs, acl: tc.acl, users: []string{"alice", "bob", "carol"}, me: "bob"}
			f.start()
			args := append([]string{"queue"}, tc.args...)
			if tc.name == "job list is queue" {
				args = append([]string{"job", "list"}, tc.args...)
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr)
			}
			if tc.stdout != "" && stdout != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.stdout)
			}
			for _, c := range tc.contains {
				if !strings.Contains(stdout, c) {
					t.Errorf("stdout lacks %q:\n%s", c, stdout)
				}
			}
			if stderr != tc.stderr {
				t.Errorf("stderr = %q, want %q", stderr, tc.stderr)
			}
		})
	}
}

func TestQueueTableByUser(t *testing.T) {
	f := &fakeCluster{t: t, jobs: sweepJobs()}
	f.start()
	code, stdout, stderr := runCLI(t, "queue", "-u", "alice")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Elapsed times depend on the clock: compare the columns before TIME.
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		f := strings.Fields(line)
		b.WriteString(strings.Join(f[:min(6, len(f))], " ") + "\n")
	}
	checkGolden(t, "queue_by_user", []byte(b.String()))
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name          string
		args          []string
		stdin         string
		wantCode      int
		wantCancelled []string
		stdout        string
		stderr        string
		oldServer     bool
	}{
		{name: "several ids", args: []string{"30", "31"}, wantCancelled: []string{"30", "31"},
			stdout: "Cancel requested for job 30.\nCancel requested for job 31.\n2 jobs cancelled.\n"},
		{name: "valid and unknown ids", args: []string{"30", "99", "20_7", "31"}, wantCode: 1, wantCancelled: []string{"30", "31"},
			stdout: "Cancel requested for job 30.\nCancel requested for job 31.\n2 jobs cancelled.\n",
			stderr: "Error: jobs 99, 20_7 not found\n"},
		{name: "array member", args: []string{"20_2"}, wantCancelled: []string{"22"},
			stdout: "Cancel requested for job 20_2 (job 22).\n"},
		{name: "member range", args: []string{"20_[1-2]"}, wantCancelled: []string{"21", "22"},
			stdout: "Cancel requested for job 20_1 (job 21).\nCancel requested for job 20_2 (job 22).\n2 jobs cancelled.\n"},
		{name: "every live member is the whole array", args: []string{"20_[0-2]"}, wantCancelled: []string{"20"},
			stdout: "Cancel requested for job array 20 (3 jobs).\n"},
		{name: "member 0 alone", args: []string{"20_0"}, wantCancelled: []string{"20?only=true"},
			stdout: "Cancel requested for job 20_0 (job 20).\n"},
		{name: "the array id", args: []string{"20"}, wantCancelled: []string{"20"},
			stdout: "Cancel requested for job array 20 (3 jobs).\n"},
		{name: "by user", args: []string{"-u", "bob"}, wantCancelled: []string{"30", "31"},
			stdout: "Cancel requested for job 30.\nCancel requested for job 31.\n2 jobs cancelled.\n"},
		{name: "by user and state", args: []string{"-u", "bob", "-state", "pending"}, wantCancelled: []string{"30"},
			stdout: "Cancel requested for job 30.\n"},
		{name: "ids filtered by the selection", args: []string{"-u", "bob", "30", "21"}, wantCancelled: []string{"30"},
			stdout: "Cancel requested for job 30.\n"},
		{name: "by name", args: []string{"-name", "bert*"}, wantCancelled: []string{"30"},
			stdout: "Cancel requested for job 30.\n"},
		{name: "stop is cancel", args: []string{"31"}, wantCancelled: []string{"31"}, stdout: "Cancel requested for job 31.\n"},
		{name: "unknown user", args: []string{"-u", "dave"}, wantCode: 1,
			stderr: "Error: user \"dave\" is unknown: no job on this cluster was submitted by dave\n"},
		{name: "nothing matches", args: []string{"-u", "carol"},
			stderr: "No pending or running jobs match: nothing cancelled.\n"},
		// An agent of an older release lacks the bulk cancel: one DELETE
		// per target, the same report.
		{name: "older server: one by one", oldServer: true, args: []string{"30", "99", "31"}, wantCode: 1, wantCancelled: []string{"30", "31"},
			stdout: "Cancel requested for job 30.\nCancel requested for job 31.\n2 jobs cancelled.\n",
			stderr: "Error: job 99 not found\n"},
		// Jobs that had already ended are not reported cancelled: with
		// nothing cancelled, the cancel fails as scancel's does.
		{name: "an ended job", args: []string{"32"}, wantCode: 1, wantCancelled: []string{"32"},
			stderr: "Error: job 32 already ended (failed); nothing to cancel\n"},
		{name: "an ended member", args: []string{"20_3"}, wantCode: 1, wantCancelled: []string{"23"},
			stderr: "Error: job 20_3 already ended (complete); nothing to cancel\n"},
		{name: "ended members", args: []string{"40_[0-1]"}, wantCode: 1, wantCancelled: []string{"40?only=true", "41"},
			stderr: "Error: jobs 40_0 (complete), 40_1 (failed) already ended; nothing to cancel\n"},
		{name: "an ended array", args: []string{"40"}, wantCode: 1, wantCancelled: []string{"40"},
			stderr: "Error: job array 40 already ended (2 jobs: 1 complete, 1 failed); nothing to cancel\n"},
		{name: "ended and live", args: []string{"30", "32"}, wantCancelled: []string{"30", "32"},
			stdout: "Cancel requested for job 30.\nJob 32 already ended (failed); nothing to cancel.\n1 job cancelled, 1 already ended.\n"},
		{name: "ended, live and unknown", args: []string{"20_[2-3]", "99"}, wantCode: 1, wantCancelled: []string{"22", "23"},
			stdout: "Cancel requested for job 20_2 (job 22).\nJob 20_3 already ended (complete); nothing to cancel.\n1 job cancelled, 1 already ended.\n",
			stderr: "Error: job 99 not found\n"},
		// An older agent does not say which had ended: the CLI's own look
		// at the jobs does.
		{name: "older server: an ended job", oldServer: true, args: []string{"32"}, wantCode: 1, wantCancelled: []string{"32"},
			stderr: "Error: job 32 already ended (failed); nothing to cancel\n"},
		{name: "older server: ended and live", oldServer: true, args: []string{"32", "30"}, wantCancelled: []string{"32", "30"},
			stdout: "Cancel requested for job 30.\nJob 32 already ended (failed); nothing to cancel.\n1 job cancelled, 1 already ended.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{t: t, jobs: append(sweepJobs(), endedSweep()...), oldServer: tc.oldServer}
			f.start()
			verb := "cancel"
			if tc.name == "stop is cancel" {
				verb = "stop"
			}
			var stdout, stderr bytes.Buffer
			code := runIO(context.Background(), append([]string{"nai", "job", verb}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			if !slices.Equal(f.cancelled, tc.wantCancelled) {
				t.Errorf("cancelled %q, want %q", f.cancelled, tc.wantCancelled)
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.stdout)
			}
			if stderr.String() != tc.stderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}

// More than 10 jobs ask first; -yes does not; without a terminal (a pipe,
// /dev/null, a file) nothing is asked or read and nothing cancelled.
func TestCancelConfirmation(t *testing.T) {
	var jobs []*structs.Job
	for i := range 12 {
		jobs = append(jobs, testJob(strconv.Itoa(100+i), "many", structs.JobPending))
	}
	pipe := func(t *testing.T) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString("y\n") // never read
		w.Close()
		t.Cleanup(func() { r.Close() })
		return r
	}
	file := func(t *testing.T) *os.File {
		f, err := os.Open(writeFile(t, "answers", "y\n"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stdin  func(*testing.T) *os.File
		answer string
		want   int
	}{
		{"answer yes", nil, nil, "y\n", 12},
		{"answer no", nil, nil, "n\n", 0},
		{"-yes", []string{"-yes"}, nil, "", 12},
		{"-yes without a terminal", []string{"-yes"}, devNull, "", 12},
		{"/dev/null", nil, devNull, "", 0},
		{"a pipe", nil, pipe, "", 0},
		{"a file", nil, file, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{t: t, jobs: jobs}
			f.start()
			var in io.Reader = strings.NewReader(tc.answer)
			if tc.stdin != nil {
				in = tc.stdin(t)
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"nai", "job", "cancel", "-name", "many"}, tc.args...)
			code := runIO(context.Background(), args, in, &stdout, &stderr)
			if len(f.cancelled) != tc.want {
				t.Errorf("cancelled %d jobs, want %d (stderr %q)", len(f.cancelled), tc.want, stderr.String())
			}
			if (code == 0) != (tc.want > 0) {
				t.Errorf("exit %d with %d cancelled", code, len(f.cancelled))
			}
			got := stderr.String()
			switch {
			case tc.args != nil: // -yes: nothing asked
			case tc.stdin != nil:
				if !strings.HasPrefix(got, "Error: Cancel 12 jobs (100, 101,") || strings.Contains(got, "[y/N]") ||
					!strings.HasSuffix(got, ": there is no terminal to ask on; add -yes to go ahead\n") {
					t.Errorf("stderr %q: want a refusal that names -yes, and no question", got)
				}
			case !strings.HasPrefix(got, "Cancel 12 jobs (") || !strings.Contains(got, "[y/N]"):
				t.Errorf("no question on stderr: %q", got)
			}
		})
	}
}

func devNull(t *testing.T) *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// endedSweep is a sweep 40 of two members, both ended.
func endedSweep() []*structs.Job {
	member := func(id string, idx int, st structs.JobStatus) *structs.Job {
		return testJob(id, "done-sweep", st, func(j *structs.Job) { j.ArrayID, j.ArrayIndex, j.ArraySize = "40", idx, 2 })
	}
	return []*structs.Job{member("40", 0, structs.JobComplete), member("41", 1, structs.JobFailed)}
}

func TestCancelJSON(t *testing.T) {
	f := &fakeCluster{t: t, jobs: sweepJobs()}
	f.start()
	code, stdout, _ := runCLI(t, "job", "cancel", "-json", "30", "nope", "20_1", "32")
	if code != 1 {
		t.Errorf("exit %d, want 1 for the unknown id", code)
	}
	var rep cancelReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("decode %q: %v", stdout, err)
	}
	if len(rep.Cancelled) != 2 || rep.Cancelled[1].JobID != "21" || !slices.Equal(rep.NotFound, []string{"nope"}) {
		t.Errorf("report %+v", rep)
	}
	if want := []endedJob{{Ref: "32", JobID: "32", Status: structs.JobFailed}}; !slices.Equal(rep.Ended, want) {
		t.Errorf("ended %+v, want %+v", rep.Ended, want)
	}

	// Nothing cancelled: the report says why, and the exit code fails.
	code, stdout, stderr := runCLI(t, "job", "cancel", "-json", "32")
	if code != 1 || !strings.Contains(stderr, "job 32 already ended (failed); nothing to cancel") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	rep = cancelReport{}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("decode %q: %v", stdout, err)
	}
	if len(rep.Cancelled) != 0 || len(rep.Ended) != 1 {
		t.Errorf("report %+v", rep)
	}
}

// Array members (ID_N) are accepted by every job command.
func TestArrayMemberIDs(t *testing.T) {
	f := &fakeCluster{t: t, jobs: sweepJobs(), logs: map[string]string{"21/stdout": "step 1\nstep 2\nstep 3\n", "21/stderr": "warning\n"}}
	f.start()
	for _, tc := range []struct {
		args   []string
		stdout string
		code   int
		stderr string
	}{
		{[]string{"job", "logs", "20_1"}, "step 1\nstep 2\nstep 3\n", 0, ""},
		{[]string{"job", "logs", "-tail", "2", "20_1"}, "step 2\nstep 3\n", 0, ""},
		{[]string{"job", "logs", "-stderr", "20_1"}, "warning\n", 0, ""},
		{[]string{"job", "inspect", "-json", "20_1"}, "", 0, ""},
		{[]string{"job", "metrics", "20_9"}, "", 1, "Error: job array 20 has no member 9 (members 0-3)\n"},
		{[]string{"job", "logs", "77_1"}, "", 1, "Error: job array 77 not found\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || stderr != tc.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, tc.code, tc.stderr)
			}
			if tc.stdout != "" && stdout != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.stdout)
			}
			if strings.Contains(tc.args[1], "inspect") && !strings.Contains(stdout, `"id": "21"`) {
				t.Errorf("inspect 20_1 shows %s, want job 21", stdout)
			}
		})
	}
}

// nai job metrics ARRAY compares the members side by side, best first.
func TestArrayMetrics(t *testing.T) {
	f := &fakeCluster{t: t, jobs: sweepJobs()}
	f.start()
	var all strings.Builder
	for _, args := range [][]string{
		{"job", "metrics", "20"},
		{"job", "metrics", "-sort", "loss", "20"},
		{"job", "metrics", "-sort", "accuracy", "20"},
		{"job", "metrics", "-sort", "loss:desc", "20"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		fmt.Fprintf(&all, "$ nai %s\n%s\n", strings.Join(args, " "), stdout)
	}
	checkGolden(t, "array_metrics", []byte(all.String()))
	code, _, stderr := runCLI(t, "job", "metrics", "-sort", "f1", "20")
	if code != 1 || !strings.Contains(stderr, `no member of array 20 has reported "f1" (metrics: accuracy, loss)`) {
		t.Errorf("unknown sort key: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "job", "metrics", "-sort", "loss", "30")
	if code != 1 || !strings.Contains(stderr, "-sort orders the members of an array") {
		t.Errorf("-sort on a plain job: exit %d, %q", code, stderr)
	}
}

// A member whose loss became NaN shows NaN, not '-' (which says it
// reported none) nor its last finite loss, and sorts after the members
// with a loss, before those without.
func TestArrayMetricsNonFinite(t *testing.T) {
	jobs := sweepJobs()
	for _, j := range jobs {
		if j.ID == "21" {
			j.Metrics = map[string]float64{"accuracy": 0.91}
			j.NonFiniteMetrics = map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 4}}
		}
	}
	f := &fakeCluster{t: t, jobs: jobs}
	f.start()
	var all strings.Builder
	for _, args := range [][]string{
		{"job", "metrics", "20"},
		{"job", "metrics", "-sort", "loss", "20"},
		{"job", "metrics", "-sort", "loss:desc", "20"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		fmt.Fprintf(&all, "$ nai %s\n%s\n", strings.Join(args, " "), stdout)
	}
	checkGolden(t, "array_metrics_non_finite", []byte(all.String()))
	code, stdout, stderr := runCLI(t, "job", "metrics", "-json", "20")
	if code != 0 || !strings.Contains(stdout, `"non_finite": {`) || !strings.Contains(stdout, `"value": "NaN"`) {
		t.Errorf("-json: exit %d, %s%s", code, stdout, stderr)
	}
}

// A model version made by a run that diverged says so in the versions'
// metrics column, not the last finite value.
func TestMetricsSummaryNonFinite(t *testing.T) {
	got := metricsSummary(map[string]float64{"acc": 0.5}, map[string]structs.NonFiniteMetric{"loss": {Value: "NaN"}})
	if want := "acc=0.5 loss=NaN"; got != want {
		t.Errorf("metricsSummary = %q, want %q", got, want)
	}
}

// nai job run -- COMMAND submits the command as a job.
func TestOneLiner(t *testing.T) {
	code := t.TempDir()
	os.WriteFile(filepath.Join(code, "train.py"), []byte("print(1)\n"), 0o644)
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, j *structs.Job)
	}{
		{"python with resources", []string{"-gpus", "2", "-cpu", "4", "-mem", "16GiB", "-time", "1:30:00", "-queue", "long", "--", "python3", "-u", "train.py", "--lr", "0.1"},
			func(t *testing.T, j *structs.Job) {
				if j.Name != "train" || j.Task.Command != "python3" || !slices.Equal(j.Task.Args, []string{"-u", "train.py", "--lr", "0.1"}) ||
					j.Resources.GPU.Count != 2 || j.Resources.CPU != 4 || j.Resources.MemoryBytes != 16<<30 || j.TimeLimit.D() != 90*time.Minute || j.Queue != "long" {
					t.Errorf("job %+v", j)
				}
			}},
		{"a bare -mem is MiB, as sbatch's --mem", []string{"-mem", "10", "--", "true"}, func(t *testing.T, j *structs.Job) {
			if j.Resources.MemoryBytes != 10<<20 {
				t.Errorf("memory %d bytes, want 10 MiB", j.Resources.MemoryBytes)
			}
		}},
		{"-mem with a fraction and no unit", []string{"-mem", "6.5", "-cpu", "0.5", "--", "true"}, func(t *testing.T, j *structs.Job) {
			if j.Resources.MemoryBytes != 13<<19 || j.Resources.CPU != 0.5 {
				t.Errorf("memory %d bytes, cpu %v; want 6.5 MiB and half a core", j.Resources.MemoryBytes, j.Resources.CPU)
			}
		}},
		{"-dependency, as sbatch --wrap -d", []string{"-dependency", "afterok:30_1,singleton", "--", "python3", "eval.py"}, func(t *testing.T, j *structs.Job) {
			if !slices.Equal(j.DependsOn, []structs.Dependency{{Type: structs.AfterOK, JobID: "30_1"}}) || !j.Singleton {
				t.Errorf("dependencies %v, singleton %v", j.DependsOn, j.Singleton)
			}
		}},
		{"python -c", []string{"--", "python3", "-c", "print(1)"}, func(t *testing.T, j *structs.Job) {
			if j.Name != "python3" || j.Task.Command != "python3" || !slices.Equal(j.Task.Args, []string{"-c", "print(1)"}) {
				t.Errorf("job %+v", j)
			}
		}},
		{"one string is a script", []string{"-name", "two-steps", "--", "python3 a.py && python3 b.py"}, func(t *testing.T, j *structs.Job) {
			if j.Name != "two-steps" || j.Task.Script != "python3 a.py && python3 b.py\n" || j.Task.Command != "" {
				t.Errorf("job %+v", j)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{t: t}
			f.start()
			code, stdout, stderr := runCLI(t, append([]string{"job", "run", "-detach"}, tc.args...)...)
			if code != 0 || stdout != "40\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if len(f.submitted) != 1 {
				t.Fatalf("submitted %d jobs", len(f.submitted))
			}
			tc.check(t, f.submitted[0])
			if f.submitted[0].User != currentUser() {
				t.Errorf("owner %q, want the local account", f.submitted[0].User)
			}
		})
	}
	t.Run("code is uploaded once", func(t *testing.T) {
		f := &fakeCluster{t: t}
		f.start()
		var msgs []string
		for range 2 {
			code, _, stderr := runCLI(t, "job", "run", "-detach", "-code", code, "--", "python3", "train.py")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			msgs = append(msgs, stderr)
		}
		if !strings.HasPrefix(msgs[0], "Uploaded code "+code+" (1 file, 9B) as sha256:") {
			t.Errorf("first run says %q", msgs[0])
		}
		if !strings.Contains(msgs[1], "is already on the server as sha256:") || !strings.Contains(msgs[1], ", nothing sent\n") {
			t.Errorf("second run says %q", msgs[1])
		}
		if f.uploads != 1 || f.submitted[0].Code == "" || f.submitted[1].Code != f.submitted[0].Code {
			t.Errorf("%d uploads, codes %q and %q; want one upload, the same digest twice", f.uploads, f.submitted[0].Code, f.submitted[1].Code)
		}
	})
	t.Run("a local file without -code is pointed out", func(t *testing.T) {
		f := &fakeCluster{t: t}
		f.start()
		t.Chdir(code)
		_, _, stderr := runCLI(t, "job", "run", "-detach", "--", "python3", "train.py")
		if stderr != "Note: train.py is a file here, but no code is sent with the job; add -code . to send this folder.\n" {
			t.Errorf("stderr = %q", stderr)
		}
	})
}

// The output of `nai job inspect -hcl` submits the same job, code
// included; code the servers no longer hold is refused before submitting.
func TestInspectHCLRunsAgain(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	j := testJob("50", "train", structs.JobComplete, func(j *structs.Job) { j.Code = digest })
	f := &fakeCluster{t: t, jobs: []*structs.Job{j}, blobs: map[string]bool{digest: true}}
	f.start()
	code, hcl, stderr := runCLI(t, "job", "inspect", "-hcl", "50")
	if code != 0 || !strings.Contains(hcl, `code     = "sha256:`+digest+`"`) {
		t.Fatalf("exit %d, stderr %q, hcl:\n%s", code, stderr, hcl)
	}
	file := writeFile(t, "again.hcl", hcl)
	if code, _, stderr := runCLI(t, "job", "run", "-detach", file); code != 0 {
		t.Fatalf("run the inspected file: exit %d: %s", code, stderr)
	}
	got := f.submitted[0]
	if got.Code != digest || got.Name != "train" || !slices.Equal(got.Task.Args, j.Task.Args) || got.Resources.GPU.Count != 2 {
		t.Errorf("submitted %+v, want the inspected job with its code", got)
	}
	delete(f.blobs, digest)
	code, _, stderr = runCLI(t, "job", "run", "-detach", file)
	if code != 1 || !strings.Contains(stderr, "which the servers no longer hold") || len(f.submitted) != 1 {
		t.Errorf("code gone: exit %d, %q, %d submissions", code, stderr, len(f.submitted))
	}
}

func TestDidYouMean(t *testing.T) {
	noServer(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"job", "lsit"}, `unknown command "lsit"; did you mean "list"?`},
		{[]string{"jbo"}, `unknown command "jbo"; did you mean "job"?`},
		{[]string{"job", "stat", "1"}, `unknown command "stat"; did you mean "status"?`},
		{[]string{"queue", "-usr", "bob"}, `flag provided but not defined: -usr; did you mean -user?`},
		{[]string{"job", "logs", "-tial", "3", "1"}, `flag provided but not defined: -tial; did you mean -tail?`},
		{[]string{"job", "frobnicate"}, `unknown command "frobnicate" (usage`},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("nai %s: exit %d, %q; want %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

// A large code folder warns with its largest folders; what .gitignore and
// .naiignore list is not sent.
func TestLargeCodeWarning(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"train.py": 10, "data/a.npy": 3000, "ckpt/w.pt": 2000, "logs/x.log": 9000, ".git/objects/o": 5000, "notes/n.md": 100} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("logs/\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".naiignore"), []byte("notes/\n"), 0o644)
	old := largeCodeBytes
	largeCodeBytes = 4 << 10
	t.Cleanup(func() { largeCodeBytes = old })
	f := &fakeCluster{t: t}
	f.start()
	code, _, stderr := runCLI(t, "job", "run", "-detach", "-code", dir, "--", "python3", "train.py")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := fmt.Sprintf("Warning: code folder %s holds 4.9KiB, more than 4KiB; largest: data/ (2.9KiB), ckpt/ (2KiB), train.py (10B). "+
		"Keep data in a dataset (nai dataset push) and list the rest in .naiignore or .gitignore.\nUploaded code %s (5 files, 4.9KiB) as sha256:", dir, dir)
	if !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr:\n%s\nwant it to start with:\n%s", stderr, want)
	}
}

// nai job logs of a job that never ran says so (on stderr, exit 0) rather
// than print nothing; a job that ran and printed nothing gets no note.
func TestLogsOfJobThatNeverRan(t *testing.T) {
	jobs := []*structs.Job{
		testJob("15", "never", structs.JobCancelled),
		testJob("16", "waits", structs.JobPending),
		testJob("17", "quiet", structs.JobComplete, running("dev", time.Minute)),
		testJob("18", "talks", structs.JobComplete, running("dev", time.Minute)),
	}
	f := &fakeCluster{t: t, jobs: jobs, logs: map[string]string{"18/stdout": "hello\n"}}
	f.start()
	for _, tc := range []struct {
		args   []string
		stdout string
		stderr string
	}{
		{[]string{"15"}, "", "Job 15 never started (cancelled): it has no logs.\n"},
		{[]string{"-tail", "5", "15"}, "", "Job 15 never started (cancelled): it has no logs.\n"},
		{[]string{"-f", "15"}, "", "Job 15 never started (cancelled): it has no logs.\n"},
		{[]string{"-stderr", "15"}, "", "Job 15 never started (cancelled): it has no logs.\n"},
		{[]string{"16"}, "", "Job 16 has not started yet (pending): no logs yet.\n"},
		{[]string{"17"}, "", ""},
		{[]string{"18"}, "hello\n", ""},
		{[]string{"-tail", "1", "18"}, "hello\n", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"job", "logs"}, tc.args...)...)
			if code != 0 || stdout != tc.stdout || stderr != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q, %q", code, stdout, stderr, tc.stdout, tc.stderr)
			}
		})
	}
}
