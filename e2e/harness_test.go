package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/testtool"
	"github.com/nai-project/nai/structs"
)

// naiBin is the binary under test, built once by TestMain.
var naiBin string

func TestMain(m *testing.M) {
	flagShort := false
	for _, a := range os.Args {
		if a == "-test.short=true" || a == "-test.short" {
			flagShort = true
		}
	}
	if flagShort {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nai-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The three binaries as they ship (make build): nai, the CLI that
	// every test runs, and beside it nai-agent, which `nai agent` becomes,
	// and nai-executor, from which its client starts each job's executor.
	naiBin = filepath.Join(dir, "nai")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	race := os.Getenv("NAI_E2E_RACE") != ""
	for _, b := range []struct {
		out, tags, pkg string
		static         bool
	}{
		{naiBin, "urfave_cli_no_docs nai_cli", "./cmd/nai", true},
		{filepath.Join(dir, "nai-agent"), "urfave_cli_no_docs", "./cmd/nai", false},
		{filepath.Join(dir, "nai-executor"), "urfave_cli_no_docs", "./cmd/nai-executor", true},
	} {
		args := []string{"build", "-tags", b.tags, "-o", b.out}
		env := append(os.Environ(), "CGO_CFLAGS=-O2 -g -Wno-deprecated-declarations")
		if race {
			// The agents and executors under the race detector too (make
			// test-e2e-race).
			args = append(args, "-race")
		} else if b.static {
			env = append(env, "CGO_ENABLED=0") // as make build
		}
		build := exec.Command("go", append(args, b.pkg)...)
		build.Dir = root
		build.Env = env
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", filepath.Base(b.out), err, out)
			os.Exit(1)
		}
	}
	stop := testtool.Watchdog()
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// agent is one running `nai agent -dev`.
type agent struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	dataDir string
	logs    *testtool.Buffer
	done    chan struct{}
	// creds are what the test's API clients and CLI runs present: a
	// token and TLS files (empty: none).
	creds creds
}

// creds are a caller's token and TLS files.
type creds struct {
	token                         string
	caCert, clientCert, clientKey string
}

// env is the CLI's environment for these credentials.
func (c creds) env() []string {
	return []string{"NAI_TOKEN=" + c.token, "NAI_CACERT=" + c.caCert, "NAI_CLIENT_CERT=" + c.clientCert, "NAI_CLIENT_KEY=" + c.clientKey,
		"NAI_TOKEN_FILE=/nonexistent/nai-e2e-token"}
}

// startAgent starts a dev agent with gpus fake GPUs on a free port, with its
// state in dataDir, and waits until it is ready.
func startAgent(t *testing.T, dataDir string, gpus int, extra ...string) *agent {
	t.Helper()
	return startAgentFrom(t, naiBin, dataDir, gpus, extra...)
}

// startAgentFrom is startAgent run as `bin agent ...` (a binary other than
// naiBin: another set of binaries beside it).
func startAgentFrom(t *testing.T, bin, dataDir string, gpus int, extra ...string) *agent {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	searchable(t, dataDir)
	args := append([]string{"agent", "-dev", "-http-addr", "127.0.0.1:0", "-data-dir", dataDir,
		"-dev-gpus", fmt.Sprint(gpus), "-node-name", "e2e-node"}, extra...)
	cmd := exec.Command(bin, args...)
	if g := os.Getenv("NAI_BENCH_AGENT_GOGC"); g != "" {
		cmd.Env = append(os.Environ(), "GOGC="+g)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	a := &agent{t: t, cmd: cmd, dataDir: dataDir, logs: &testtool.Buffer{}, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(a.logs, line)
			if f := strings.Fields(line); len(f) == 2 && f[0] == "http:" {
				select {
				case ready <- f[1]:
				default:
				}
			}
		}
	}()
	go func() {
		cmd.Wait()
		close(a.done)
	}()
	select {
	case a.addr = <-ready:
	case <-a.done:
		t.Fatalf("agent exited before it was ready:\n%s", a.logs.String())
	case <-time.After(60 * time.Second):
		a.kill()
		t.Fatalf("agent not ready after 60s:\n%s", a.logs.String())
	}
	t.Cleanup(func() {
		a.cancelLiveJobs()
		a.stop()
		if t.Failed() {
			t.Logf("agent log:\n%s", a.logs.String())
		}
	})
	// Ready means the HTTP API answers and the node has registered. With
	// ACLs on nobody may look before the test bootstraps: it waits then.
	if !hasFlag(extra, "acl-enabled") {
		a.waitNode(gpus)
	}
	return a
}

// waitNode waits until the agent's node has registered with its GPUs.
func (a *agent) waitNode(gpus int) {
	a.t.Helper()
	c := a.api()
	waitFor(a.t, 30*time.Second, "the node registers", func() bool {
		nodes, err := c.Nodes(context.Background())
		return err == nil && len(nodes) == 1 && len(nodes[0].GPUs) == gpus
	})
}

// stop asks the agent to shut down (SIGINT) and waits for it.
func (a *agent) stop() {
	if a.cmd.Process == nil {
		return
	}
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		a.kill()
	}
}

// kill ends the agent at once (SIGKILL), as a crash would.
func (a *agent) kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
}

func (a *agent) api() *api.Client { return a.apiAs(a.creds) }

// apiAs is an API client of this agent with other credentials.
func (a *agent) apiAs(cr creds) *api.Client {
	c, err := api.New(api.Config{Address: a.addr, Token: cr.token, CACert: cr.caCert, ClientCert: cr.clientCert, ClientKey: cr.clientKey, IgnoreEnv: true})
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// nai runs the CLI against this agent and returns stdout, stderr and the
// exit code.
func (a *agent) nai(args ...string) (string, string, int) {
	a.t.Helper()
	return a.naiAs(a.creds, args...)
}

// naiAs runs the CLI against this agent with other credentials.
func (a *agent) naiAs(cr creds, args ...string) (string, string, int) {
	a.t.Helper()
	return runCLI(a.t, cliRun{env: append([]string{"NAI_ADDR=" + a.addr}, cr.env()...)}, args...)
}

// cliRun is how runCLI runs the CLI: the variables added to this
// process's environment, the working dir and standard input (none when
// empty).
type cliRun struct {
	env        []string
	dir, stdin string
}

// runCLI runs the nai CLI (at most two minutes) and returns its stdout,
// stderr and exit code; a CLI that cannot be started fails the test.
func runCLI(t *testing.T, r cliRun, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, naiBin, args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env...)
	if r.stdin != "" {
		cmd.Stdin = strings.NewReader(r.stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run nai %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// mustNai runs the CLI and fails the test on a non-zero exit.
func (a *agent) mustNai(args ...string) string {
	a.t.Helper()
	out, errOut, code := a.nai(args...)
	if code != 0 {
		a.t.Fatalf("nai %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// job reads a job through the CLI's -json output, the API object.
func (a *agent) job(id string) *structs.Job {
	a.t.Helper()
	var j structs.Job
	if err := json.Unmarshal([]byte(a.mustNai("job", "status", "-json", id)), &j); err != nil {
		a.t.Fatalf("decode job %s: %v", id, err)
	}
	return &j
}

// waitJob waits until a job reaches a terminal status.
func (a *agent) waitJob(id string, timeout time.Duration) *structs.Job {
	a.t.Helper()
	var j *structs.Job
	waitFor(a.t, timeout, "job "+id+" ends", func() bool {
		var err error
		j, _, err = a.api().Job(context.Background(), id)
		return err == nil && j.Status.Terminal()
	})
	return j
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// os_user is the account name the CLI sends as the job's owner.
func os_user() (string, error) {
	u, err := user.Current()
	if err == nil && u.Username != "" {
		return u.Username, nil
	}
	return os.Getenv("USER"), err
}

// node reads the agent's one node through the API.
func (a *agent) node() *structs.Node {
	a.t.Helper()
	nodes, err := a.api().Nodes(context.Background())
	if err != nil || len(nodes) != 1 {
		a.t.Fatalf("nodes: %v (%d nodes)", err, len(nodes))
	}
	return nodes[0]
}

// requireCgroups skips the test when the agent runs without cgroups (the
// node says so in its "cgroups" attribute).
func (a *agent) requireCgroups() {
	a.t.Helper()
	if v := a.node().Attributes["cgroups"]; v == "" || v == "disabled" {
		a.t.Skipf("cgroups unavailable on this host (agent says %q): limits are not enforced", v)
	}
}

// submit writes a job file and submits it detached, returning the job id.
func (a *agent) submit(dir, name, hcl string) string {
	a.t.Helper()
	return strings.TrimSpace(a.mustNai("job", "run", "-detach", writeFile(a.t, dir, name+".hcl", hcl)))
}

// cancelLiveJobs ends every job still pending or running, so no executor
// of a finished test goes on running its task (executors outlive their
// agent by design).
func (a *agent) cancelLiveJobs() {
	select {
	case <-a.done:
		return
	default:
	}
	c := a.api()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jobs, err := c.Jobs(ctx, false)
	if err != nil || len(jobs) == 0 {
		return
	}
	for _, j := range jobs {
		_ = c.Cancel(ctx, j.ID)
	}
	for ctx.Err() == nil {
		live, err := c.Jobs(ctx, false)
		if err != nil || (len(live) == 0 && !a.replicasLive(ctx, jobs)) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Logf("jobs still live 30s after cancelling them at the end of the test")
}

// searchable lets others walk into dir and its parent (t.TempDir makes
// both 0700), so tasks that run as an unprivileged account reach their
// work dirs under the agent's data dir.
func searchable(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// replicasLive reports whether a service among jobs still has a replica
// that has not ended: a stopped service ends at once, its replicas a
// moment later.
func (a *agent) replicasLive(ctx context.Context, jobs []*structs.Job) bool {
	for _, j := range jobs {
		if !j.IsService() {
			continue
		}
		allocs, err := a.api().JobAllocations(ctx, j.ID)
		if err != nil {
			return false
		}
		for _, al := range allocs {
			if !al.Terminal() {
				return true
			}
		}
	}
	return false
}
