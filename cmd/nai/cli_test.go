package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

// runCLI runs the CLI in-process and returns its exit code and streams.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"nai"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// noServer points NAI_ADDR at a server that fails the test if called.
func noServer(t *testing.T) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("NAI_ADDR", srv.URL)
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validJob = `job "train" {
  resources {
    gpu { count = 2 }
  }
  task {
    command = "python3"
    args    = ["train.py"]
  }
}
`

func TestJobRunInvalidFileMakesNoRequest(t *testing.T) {
	tests := []struct {
		name string
		body string
		pos  string // file:line:col expected on stderr
	}{
		{"syntax error", "job \"x\" {\n  task {\n    command = \n  }\n}\n", `bad.hcl:3:\d+`},
		{"unknown argument", "job \"x\" {\n  resources {\n    cpuu = 2\n  }\n  task { command = \"true\" }\n}\n", `bad.hcl:3:5`},
		{"absurd gpu count", "job \"x\" {\n  resources {\n    gpu { count = 100000 }\n  }\n  task { command = \"true\" }\n}\n", `bad.hcl:3:\d+`},
	}
	for _, tc := range tests {
		for _, detach := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s detach=%t", tc.name, detach), func(t *testing.T) {
				noServer(t)
				file := writeFile(t, "bad.hcl", tc.body)
				args := []string{"job", "run", file}
				if detach {
					args = []string{"job", "run", "-detach", file}
				}
				code, stdout, stderr := runCLI(t, args...)
				if code != 1 {
					t.Errorf("exit code = %d, want 1", code)
				}
				if stdout != "" {
					t.Errorf("stdout = %q, want nothing", stdout)
				}
				if !regexp.MustCompile(tc.pos).MatchString(stderr) || !strings.Contains(stderr, "^") {
					t.Errorf("stderr lacks %s and a caret:\n%s", tc.pos, stderr)
				}
			})
		}
	}
}

func TestJobValidate(t *testing.T) {
	noServer(t)
	file := writeFile(t, "ok.hcl", validJob)
	code, stdout, stderr := runCLI(t, "job", "validate", file)
	if code != 0 || stdout != file+" is valid: job \"train\"\n" || stderr != "" {
		t.Errorf("got exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"status without id", []string{"job", "status"}, "missing job ID (usage: nai job status [-json] [-member] ID|ID_N)"},
		{"cancel without id or selection", []string{"job", "cancel"}, "missing job ID (or a selection such as -u USER)"},
		{"bad member id", []string{"job", "logs", "12_x"}, `job "12_x": expected an id (12) or an array member (12_3)`},
		{"bad member range", []string{"job", "cancel", "12_[5-1]"}, `job "12_[5-1]": expected array members such as 12_[2-5,7]`},
		{"bad state", []string{"queue", "-state", "sleeping"}, `-state "sleeping" is not a job state`},
		{"bad format", []string{"queue", "-format", "{{.ID"}, `-format: template: format:1: unclosed action`},
		{"file and command", []string{"job", "run", "f.hcl", "--", "true"}, `give a job file or a command after --, not both`},
		{"two files", []string{"job", "run", "a.hcl", "b.hcl"}, `to run a command, put it after --: nai job run -- a.hcl b.hcl`},
		{"bad resources with a file", []string{"job", "run", "-gpus", "-2", "f.hcl"}, `-gpus -2: expected 0 or more`},
		{"vars with a command", []string{"job", "run", "-var", "a=1", "--", "true"}, `-var and -var-file set job file variables`},
		{"bad time", []string{"job", "run", "-time", "bogus", "--", "true"}, `-time: time limit "bogus": expected a duration`},
		{"bad mem", []string{"job", "run", "-mem", "lots", "--", "true"}, `-mem "lots": expected a size such as 16GiB or 512MiB (a bare number is MiB)`},
		{"mem in bytes", []string{"job", "run", "-mem", "100B", "--", "true"}, `-mem "100B" is 100B, below the 4MiB a task needs: give a size such as 512MiB or 8GiB`},
		{"bare mem too small", []string{"job", "run", "-mem", "2", "--", "true"}, `-mem "2" is 2MiB, below the 4MiB a task needs`},
		{"zero mem", []string{"job", "run", "-mem", "0", "--", "true"}, `-mem "0": expected a size such as 16GiB`},
		{"zero cpu", []string{"job", "run", "-cpu", "0", "--", "true"}, `-cpu 0: expected a number of cores more than 0, such as 4 or 0.5 (leave -cpu out for the default, 1)`},
		{"negative cpu", []string{"job", "run", "-cpu", "-2", "--", "true"}, `-cpu -2: expected a number of cores more than 0`},
		{"missing command", []string{"job", "run", "--"}, `missing the command after --`},
		{"sbatch's --wrap", []string{"job", "run", "--wrap", "python3 x.py"}, `flag provided but not defined: -wrap; nai has no --wrap: give the command after --, as in nai job run -- 'python3 train.py' (one quoted string runs as a script, as --wrap does) (usage: nai job run`},
		{"sbatch's --wrap=", []string{"job", "run", "-gpus", "1", "--wrap=python3 x.py"}, `-wrap; nai has no --wrap: give the command after --`},
		{"sbatch's -c", []string{"job", "run", "-c", "4", "--", "true"}, `flag provided but not defined: -c; ask for CPU cores with -cpu N (usage: nai job run`},
		{"sbatch's --gres", []string{"job", "run", "--gres=gpu:2", "--", "true"}, `-gres; ask for GPUs with -gpus N`},
		{"sbatch's -J", []string{"job", "run", "-J", "x", "--", "true"}, `-J; name the job with -name NAME`},
		{"sbatch's -N", []string{"job", "run", "-N", "2", "--", "true"}, `flag provided but not defined: -N; nai job run has no flag for nodes: ask for N nodes with resources { nodes = N } in a job file or #SBATCH -N N`},
		{"sbatch's --nodes", []string{"job", "run", "--nodes=2", "--", "true"}, `-nodes; nai job run has no flag for nodes`},
		{"sbatch's -d", []string{"job", "run", "-d", "afterok:1", "--", "true"}, `"afterok:1" is not a job file: -d is -detach here (it takes no value); sbatch's -d/--dependency is -dependency, as in nai job run -dependency afterok:ID -- COMMAND`},
		{"sbatch's -d with a file", []string{"job", "run", "-d", "singleton", "train.hcl"}, `"singleton" is not a job file: -d is -detach here`},
		{"sbatch's -d with -detach", []string{"job", "run", "-detach", "-d", "afterok:1", "--", "true"}, `Cannot use two forms of the same flag: d detach; -d is -detach here (it takes no value); sbatch's -d/--dependency is -dependency`},
		{"sbatch's -d=", []string{"job", "run", "-d=afterok:1", "--", "true"}, `for -d: parse error; -d is -detach here`},
		{"one letter is not a typo of another", []string{"job", "status", "-j", "3"}, `flag provided but not defined: -j (usage: nai job status`},
		{"tail negative", []string{"job", "logs", "-tail", "-3", "7"}, `-tail -3: expected a number of lines`},
		{"run without file", []string{"job", "run"}, "missing job file (usage: nai job run"},
		{"unknown flag", []string{"queue", "-frob"}, "flag provided but not defined: -frob (usage: nai queue"},
		{"unknown flag after the id", []string{"job", "status", "12", "-frob", "x"}, "flag provided but not defined: -frob (usage: nai job status [-json] [-member] ID|ID_N)"},
		{"unknown subcommand", []string{"job", "frob"}, `unknown command "frob" (usage: nai job COMMAND)`},
		{"bad var", []string{"job", "validate", "-var", "novalue", "x.hcl"}, `-var "novalue": expected name=value`},
		{"node status without id", []string{"node", "status"}, "missing node ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noServer(t)
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tc.want)
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error": structs.NewError(structs.CodeNotFound, "job 99 not found")})
	}))
	defer srv.Close()
	t.Setenv("NAI_ADDR", srv.URL)
	for _, args := range [][]string{{"job", "status", "99"}, {"job", "cancel", "99"}, {"job", "logs", "99"}, {"job", "metrics", "-json", "99"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, args...)
			if code != 1 || stdout != "" || stderr != "Error: job 99 not found\n" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want 1, nothing, the server's message", code, stdout, stderr)
			}
		})
	}
}

func TestConnectionFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	// -address must win over NAI_ADDR.
	t.Setenv("NAI_ADDR", "http://127.0.0.1:1")
	code, _, stderr := runCLI(t, "queue", "-address", addr)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	for _, want := range []string{"http://" + addr, "NAI_ADDR"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// Starting a dev agent is advice for the local default address alone.
	if strings.Contains(stderr, "nai agent -dev") {
		t.Errorf("a configured address is told to start a dev agent:\n%s", stderr)
	}
}

// fakeAgent answers the job routes from a fixed script of job versions:
// the version at position i is served at state index i+1.
type fakeAgent struct {
	t        *testing.T
	versions []*structs.Job
	logs     string
	stderr   string
	outputs  []byte
	resp     structs.JobRegisterResponse
	// beforeLogs, when set, runs before a log ("stdout" or "stderr") is
	// served, to order the output as a real job and agent would.
	beforeLogs func(typ string) bool
	// blocked, when set, receives a value each time a blocking query asks
	// past the last version; that query then waits as a real one would.
	blocked chan struct{}

	mu        sync.Mutex
	submitted []*structs.Job
	users     []string
}

func (f *fakeAgent) start() {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, idx int, v any) {
		w.Header().Set(api.IndexHeader, strconv.Itoa(idx))
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("PUT /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Jobs []*structs.Job }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.t.Errorf("decode submission: %v", err)
		}
		f.mu.Lock()
		f.submitted = append(f.submitted, body.Jobs...)
		for _, j := range body.Jobs {
			f.users = append(f.users, j.User)
		}
		f.mu.Unlock()
		writeJSON(w, 1, f.resp)
	})
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		// A blocking query for index N gets the version after N; a fake
		// with no versions knows no job (`job outputs` asks for its size).
		if len(f.versions) == 0 {
			http.Error(w, `{"error":"job not found"}`, http.StatusNotFound)
			return
		}
		i := 0
		if q := r.URL.Query().Get("index"); q != "" {
			n, _ := strconv.Atoi(q)
			if n >= len(f.versions) && f.blocked != nil {
				f.blocked <- struct{}{}
				<-r.Context().Done()
				return
			}
			i = min(n, len(f.versions)-1)
		}
		writeJSON(w, i+1, f.versions[i])
	})
	mux.HandleFunc("DELETE /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.t.Errorf("the CLI cancelled job %s; Ctrl-C must leave it alone", r.PathValue("id"))
	})
	mux.HandleFunc("GET /v1/jobs/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		logs := f.logs
		typ := r.URL.Query().Get("type")
		if typ == "stderr" {
			logs = f.stderr
		}
		if f.beforeLogs != nil && !f.beforeLogs(typ) {
			http.Error(w, "the output expected before "+typ+" never came", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(logs[min(off, len(logs)):]))
	})
	mux.HandleFunc("GET /v1/jobs/{id}/outputs", func(w http.ResponseWriter, r *http.Request) {
		w.Write(f.outputs)
	})
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	f.t.Setenv("NAI_ADDR", srv.URL)
}

func TestJobRunFollows(t *testing.T) {
	pending := testJob("7", "train", structs.JobPending, func(j *structs.Job) { j.Reason = "Resources: 2 GPUs needed, 0 free" })
	run := testJob("7", "train", structs.JobRunning, running("dev", 0, 0, 1))
	failed := testJob("7", "train", structs.JobFailed, ended(0, 0, intp(3), structs.ExitExited))
	tests := []struct {
		name       string
		versions   []*structs.Job
		wantCode   int
		wantStderr []string
	}{
		{"failed", []*structs.Job{pending, pending, run, failed}, 3, []string{
			"Warning: job 7 asks for 2 GPUs",
			"Submitted job 7\n",
			"==> job 7 pending: Resources: 2 GPUs needed, 0 free\n==> job 7 running on node dev (GPUs 0,1)\n==> job 7 failed: exit code 3",
		}},
		{"complete", []*structs.Job{run, testJob("7", "train", structs.JobComplete, ended(0, 0, intp(0), structs.ExitExited))}, 0, []string{
			"==> job 7 running on node dev (GPUs 0,1)\n==> job 7 complete",
		}},
		{"cancelled", []*structs.Job{run, testJob("7", "train", structs.JobCancelled, ended(0, 0, nil, structs.ExitCancelled))}, 1, []string{
			"==> job 7 cancelled",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAgent{t: t, versions: tc.versions, logs: "step 1\nstep 2\n",
				resp: structs.JobRegisterResponse{JobIDs: []string{"7"}, Warnings: []string{"job 7 asks for 2 GPUs"}}}
			f.start()
			code, stdout, stderr := runCLI(t, "job", "run", writeFile(t, "ok.hcl", validJob))
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			if stdout != f.logs {
				t.Errorf("stdout = %q, want the job's logs %q", stdout, f.logs)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if len(f.submitted) != 1 || f.submitted[0].Name != "train" || f.submitted[0].Resources.GPU.Count != 2 {
				t.Errorf("submitted %+v, want the job from the file", f.submitted)
			}
			if f.users[0] != currentUser() || f.users[0] == "" {
				t.Errorf("job user = %q, want the local account %q", f.users[0], currentUser())
			}
		})
	}
}

// Ctrl-C while following stops following and leaves the job alone.
func TestJobRunInterrupted(t *testing.T) {
	waiting := testJob("7", "train", structs.JobPending, func(j *structs.Job) { j.Reason = "Priority" })
	f := &fakeAgent{t: t, versions: []*structs.Job{waiting}, blocked: make(chan struct{}, 1),
		resp: structs.JobRegisterResponse{JobIDs: []string{"7"}}}
	f.start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-f.blocked // the CLI is waiting on the job: press Ctrl-C
		cancel()
	}()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"nai", "job", "run", writeFile(t, "ok.hcl", validJob)}, &stdout, &stderr)
	if code != interruptedCode {
		t.Errorf("exit code = %d, want %d", code, interruptedCode)
	}
	for _, want := range []string{"==> job 7 pending: Priority", "Stopped following job 7; it stays in the queue", "nai job status 7"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestJobRunDetach(t *testing.T) {
	tests := []struct {
		name string
		resp structs.JobRegisterResponse
		want string
	}{
		{"one job", structs.JobRegisterResponse{JobIDs: []string{"7"}}, "7\n"},
		{"sweep prints the array id", structs.JobRegisterResponse{JobIDs: []string{"9_0", "9_1"}, ArrayID: "9"}, "9\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAgent{t: t, resp: tc.resp}
			f.start()
			// The flag after the file works too.
			code, stdout, stderr := runCLI(t, "job", "run", writeFile(t, "ok.hcl", validJob), "-detach")
			if code != 0 || stdout != tc.want || stderr != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want 0, %q, nothing", code, stdout, stderr, tc.want)
			}
		})
	}
}

func TestJobOutputs(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "weights.json"), []byte(`{"w":[1]}`), 0o644)
	var good bytes.Buffer
	if _, err := archive.Pack(&good, src, 0); err != nil {
		t.Fatal(err)
	}

	t.Run("unpacks", func(t *testing.T) {
		f := &fakeAgent{t: t, outputs: good.Bytes()}
		f.start()
		dir := filepath.Join(t.TempDir(), "out")
		before := time.Now().Add(-time.Second)
		code, _, stderr := runCLI(t, "job", "outputs", "7", "-o", dir)
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "weights.json")); err != nil || string(b) != `{"w":[1]}` {
			t.Errorf("weights.json = %q, %v", b, err)
		}
		// The archive carries no times: the files are dated when
		// downloaded, not 1970-01-01.
		if fi, err := os.Stat(filepath.Join(dir, "weights.json")); err != nil || fi.ModTime().Before(before) {
			t.Errorf("weights.json: %v, want it dated after %v", err, before)
		}
	})
	t.Run("refuses garbage", func(t *testing.T) {
		f := &fakeAgent{t: t, outputs: []byte("not an archive")}
		f.start()
		dir := filepath.Join(t.TempDir(), "out")
		code, _, stderr := runCLI(t, "job", "outputs", "-o", dir, "7")
		if code != 1 || !strings.Contains(stderr, "unpack outputs of job 7") {
			t.Errorf("got exit %d, stderr %q; want 1 and an error", code, stderr)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed download", dir)
		}
	})
}

func TestPermuteArgs(t *testing.T) {
	app := newApp(nil, nil)
	app.Commands = append(app.Commands, &cli.Command{Name: "shim", SkipFlagParsing: true})
	tests := []struct {
		in, want []string
	}{
		{[]string{"nai", "job", "outputs", "12", "-o", "out"}, []string{"nai", "job", "outputs", "-o", "out", "12"}},
		{[]string{"nai", "-address", "x:1", "job", "run", "f.hcl", "-detach", "-var", "a=1"}, []string{"nai", "-address", "x:1", "job", "run", "-detach", "-var", "a=1", "f.hcl"}},
		// After "-" (a script on standard input, from the sbatch
		// wrapper) every argument is the script's.
		{[]string{"nai", "job", "run", "-detach", "-", "-json", "-x"}, []string{"nai", "job", "run", "-detach", "-", "-json", "-x"}},
		{[]string{"nai", "job", "logs", "12", "-f"}, []string{"nai", "job", "logs", "-f", "12"}},
		{[]string{"nai", "job", "run", "f", "--", "-x"}, []string{"nai", "job", "run", "f", "--", "-x"}},
		{[]string{"nai", "queue", "-all=true"}, []string{"nai", "queue", "-all=true"}},
		// An unknown flag might own the next argument: it moves with the rest, in order.
		{[]string{"nai", "job", "logs", "12", "-x", "v", "-f"}, []string{"nai", "job", "logs", "-x", "v", "-f", "12"}},
		{[]string{"nai", "job", "status", "-h"}, []string{"nai", "job", "status", "-h"}},
		// A batch script's arguments start at the first argument after it
		// that is not one of nai's flags, and stay as given.
		{[]string{"nai", "job", "run", "-detach", "t.sh", "cfg.yaml", "--lr", "0.1", "-detach"}, []string{"nai", "job", "run", "-detach", "t.sh", "cfg.yaml", "--lr", "0.1", "-detach"}},
		{[]string{"nai", "job", "run", "t.sh", "-time", "5m", "--lr", "-json"}, []string{"nai", "job", "run", "-time", "5m", "t.sh", "--lr", "-json"}},
		{[]string{"nai", "job", "plan", "t.sh", "x", "-gpus", "2"}, []string{"nai", "job", "plan", "t.sh", "x", "-gpus", "2"}},
		{[]string{"nai", "job", "validate", "f.hcl", "x", "-var", "a=1"}, []string{"nai", "job", "validate", "-var", "a=1", "f.hcl", "x"}},
		// A command that parses its own arguments gets them untouched.
		{[]string{"nai", "shim", "-start-error", "f", "--", "true"}, []string{"nai", "shim", "-start-error", "f", "--", "true"}},
	}
	for _, tc := range tests {
		if got := permuteArgs(app, tc.in); !cmp.Equal(got, tc.want) {
			t.Errorf("permuteArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A Slurm command name says which nai command does its work; every
// command (and flag) the hint names exists.
func TestSlurmCommandNames(t *testing.T) {
	app := newApp(nil, nil)
	quoted := regexp.MustCompile("`nai ([^`]*)`")
	for _, name := range []string{"squeue", "scancel", "sbatch", "srun", "salloc", "sinfo", "scontrol", "sacct", "sprio", "sshare", "sreport", "sstat"} {
		t.Run(name, func(t *testing.T) {
			noServer(t)
			for _, args := range [][]string{{name}, {name, "-u", "ana", "--state=PD"}, {"-address", "http://127.0.0.1:1", name, "show", "job", "3"}} {
				code, stdout, stderr := runCLI(t, args...)
				if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "Error: nai has no "+name+": ") || strings.Count(stderr, "\n") != 1 {
					t.Fatalf("%q: exit %d, stdout %q, stderr %q; want one line saying what to use", args, code, stdout, stderr)
				}
			}
			hints := quoted.FindAllStringSubmatch(slurmCommands[name], -1)
			if len(hints) == 0 {
				t.Fatalf("the hint %q names no nai command", slurmCommands[name])
			}
			for _, h := range hints {
				cmds, flags := app.Commands, []cli.Flag(nil)
				for _, w := range strings.Fields(h[1]) {
					switch {
					case w == "--" || strings.ToUpper(w) == w || strings.Contains(w, "."):
						// COMMAND, ID, script.sh: placeholders
					case strings.HasPrefix(w, "-"):
						if !knownFlag(flags, w) {
							t.Errorf("hint `nai %s`: %s is not a flag of that command", h[1], w)
						}
					default:
						cmd := findCommand(cmds, w)
						if cmd == nil {
							t.Fatalf("hint `nai %s`: no command %q", h[1], w)
						}
						cmds, flags = cmd.Subcommands, cmd.Flags
					}
				}
			}
		})
	}
	// Other unknown commands keep the usual error.
	code, _, stderr := runCLI(t, "squeu")
	if code != 1 || stderr != "Error: unknown command \"squeu\"; did you mean \"queue\"? (usage: nai COMMAND)\n" {
		t.Errorf("squeu: exit %d, %q", code, stderr)
	}
}

// A program or plain commands given where a job file goes: said so, with
// the command that runs it (its folder sent as the code), nothing sent.
func TestNotAJobFile(t *testing.T) {
	const notJob = "not a job file: it is not HCL with a job block (it does not parse as HCL) and not a batch script (no #! line, no #SBATCH lines)"
	for _, tc := range []struct {
		name, file string
		mode       os.FileMode
		args       []string
		want       string
	}{
		{"a Python program", "t.py", 0o644, []string{"job", "run"},
			"t.py is a Python program, not a job file: nai runs HCL job files (a job block) and batch scripts with #SBATCH lines; to run it as a command: nai job run -code . -- python3 t.py"},
		{"in a folder", "src/train.py", 0o644, []string{"job", "run", "-detach"},
			"src/train.py is a Python program, not a job file: nai runs HCL job files (a job block) and batch scripts with #SBATCH lines; to run it as a command: nai job run -code src -- python3 train.py"},
		{"validate says how to run it too", "t.jl", 0o644, []string{"job", "validate"},
			"t.jl is a Julia program, not a job file: nai runs HCL job files (a job block) and batch scripts with #SBATCH lines; to run it as a command: nai job run -code . -- julia t.jl"},
		{"commands without #SBATCH lines", "steps", 0o644, []string{"job", "run"},
			"steps is " + notJob + "; to run it as a shell script: nai job run -code . -- bash steps (or add #SBATCH lines to it)"},
		{"an executable", "run me", 0o755, []string{"job", "run"},
			"run me is " + notJob + "; to run it as a command: nai job run -code . -- './run me'"},
		{"a notebook", "nb.ipynb", 0o644, []string{"job", "run"},
			"nb.ipynb is a Jupyter notebook, not a job file: nai runs HCL job files (a job block) and batch scripts with #SBATCH lines; export it as a program first, then run that: jupyter nbconvert --to script nb.ipynb && nai job run -code . -- python3 nb.py"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noServer(t)
			dir := t.TempDir()
			t.Chdir(dir)
			os.MkdirAll(filepath.Join(dir, filepath.Dir(tc.file)), 0o755)
			if err := os.WriteFile(tc.file, []byte("import os\n\nprint(os.getcwd())\n"), tc.mode); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, append(tc.args, tc.file)...)
			if code != 1 || stdout != "" || stderr != "Error: "+tc.want+"\n" {
				t.Errorf("exit %d, stdout %q, stderr\n got %q\nwant %q", code, stdout, stderr, "Error: "+tc.want+"\n")
			}
		})
	}
}
