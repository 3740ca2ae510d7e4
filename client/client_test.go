package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/structs"
)

func testHost() *fingerprint.Host {
	h := &fingerprint.Host{CPU: 2, MemoryBytes: 8 << 30, Hostname: "gpu-test", OS: "Linux", Fake: true}
	for i := 0; i < 4; i++ {
		h.GPUs = append(h.GPUs, structs.GPU{Index: i, UUID: fmt.Sprintf("GPU-%d", i), Model: "NVIDIA H100 80GB HBM3", MemoryBytes: 80 << 30, Healthy: true})
	}
	return h
}

// searchableDataDir lets a task user of another account walk down to its
// work dir under dir (t.TempDir()'s parents are 0700).
func searchableDataDir(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
}

func newTestClient(t *testing.T, f *fakeServers, dataDir string, cg cgroups.Manager) *Client {
	t.Helper()
	c, err := New(Config{RootTasks: RootTasksAllow,
		DataDir: dataDir, NodeName: "gpu-test", HTTPAddr: "127.0.0.1:4646",
		Servers: f.api(t), Host: testHost(), Cgroups: cg,
		ExecutorBinary: selfExe(t), KillGrace: 500 * time.Millisecond, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runClient runs c until the returned stop function is called (or the
// test ends) and waits for Run to return.
func runClient(t *testing.T, c *Client) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return 10s after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

func scriptJob(id, script string) *structs.Job {
	return &structs.Job{ID: id, Name: "test-" + id, TimeLimit: structs.Duration(time.Minute),
		Resources: structs.Resources{CPU: 1, MemoryBytes: 256 << 20},
		Task:      structs.Task{Script: script}}
}

func newAlloc(c *Client, job *structs.Job, gpus ...int) *structs.Allocation {
	return &structs.Allocation{
		ID: job.ID + ".1", JobID: job.ID, JobName: job.Name, NodeID: c.NodeID(), NodeName: "gpu-test",
		GPUs: gpus, Resources: job.Resources, Attempt: 1, DesiredStatus: structs.DesiredRun,
		ClientStatus: structs.ClientStatusFields{Status: structs.AllocPending}, Job: job,
	}
}

const terminalWait = 30 * time.Second

func TestClientRunsAllocation(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	runClient(t, c)
	waitFor(t, 10*time.Second, "node registration", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.nodes) > 0 })

	job := scriptJob("j1", `echo "CVD=$CUDA_VISIBLE_DEVICES"
echo "JOB=$NAI_JOB_ID ALLOC=$NAI_ALLOC_ID NAME=$NAI_JOB_NAME NODE=$NAI_NODE_NAME ATTEMPT=$NAI_ATTEMPT GPUS=$NAI_NUM_GPUS SEED=$SEED"
echo '{"step": 1, "loss": 0.9}' >> "$NAI_METRICS_FILE"
echo '{"step": 2, "loss": 0.5}' >> "$NAI_METRICS_FILE"
echo weights > "$NAI_OUTPUT_DIR/model.bin"
echo oops >&2`)
	job.Task.Env = map[string]string{"SEED": "7"}
	a := newAlloc(c, job, 1, 3)
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })

	st := f.status(a.ID)
	if st.Status != structs.AllocComplete || st.ExitReason != structs.ExitExited || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Errorf("final status %+v, want complete/exited/0", st)
	}
	if diff := cmp.Diff(map[string]float64{"step": 2, "loss": 0.5}, st.Metrics); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if st.StartTime.IsZero() || st.EndTime.Before(st.StartTime) || st.Usage == nil {
		t.Errorf("times %v..%v usage %+v", st.StartTime, st.EndTime, st.Usage)
	}
	reps := f.reports(a.ID)
	if len(reps) < 2 || reps[0].Status != structs.AllocRunning || reps[0].StartTime.IsZero() {
		t.Errorf("first report %+v, want running with a start time", reps[0])
	}

	f.mu.Lock()
	archive := f.uploads[a.ID]
	f.mu.Unlock()
	if got := untar(t, bytes.NewReader(archive)); !cmp.Equal(got, map[string]string{"model.bin": "weights\n"}) {
		t.Errorf("uploaded outputs = %v", got)
	}
	if !strings.HasPrefix(st.OutputDigest, "sha256:") || st.OutputSize != int64(len(archive)) {
		t.Errorf("output digest %q size %d (archive %d bytes)", st.OutputDigest, st.OutputSize, len(archive))
	}

	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	wantOut := "CVD=1,3\nJOB=j1 ALLOC=j1.1 NAME=test-j1 NODE=gpu-test ATTEMPT=1 GPUS=2 SEED=7\n"
	if got := readFile(t, dir.logPath("stdout")); got != wantOut {
		t.Errorf("stdout = %q, want %q", got, wantOut)
	}
	waitFor(t, 5*time.Second, "the reported mark", func() bool { return exists(dir.path(reportedFile)) })

	f.mu.Lock()
	n := f.nodes[0]
	f.mu.Unlock()
	if n.ID != c.NodeID() || n.Name != "gpu-test" || len(n.GPUs) != 4 || n.Attributes["fake_gpus"] != "true" || n.HTTPAddr != "127.0.0.1:4646" {
		t.Errorf("registered node %+v", n)
	}
}

func TestClientStopsAllocation(t *testing.T) {
	const tree = `sleep 100 & echo $! >> "$NAI_CHECKPOINT_DIR/pids"
setsid sleep 100 & echo $! >> "$NAI_CHECKPOINT_DIR/pids"
echo $$ >> "$NAI_CHECKPOINT_DIR/pids"
wait`
	tests := []struct {
		name       string
		act        func(f *fakeServers, id string)
		wantReason structs.ExitReason
	}{
		{name: "cancel", wantReason: structs.ExitCancelled, act: func(f *fakeServers, id string) {
			f.modify(id, func(a *structs.Allocation) {
				a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitCancelled
			})
		}},
		{name: "preempt", wantReason: structs.ExitPreempted, act: func(f *fakeServers, id string) {
			f.modify(id, func(a *structs.Allocation) {
				a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitPreempted
			})
		}},
		{name: "no longer listed", wantReason: structs.ExitNodeLost, act: func(f *fakeServers, id string) { f.remove(id) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			c := newTestClient(t, f, t.TempDir(), testCgroups(t))
			runClient(t, c)
			a := newAlloc(c, scriptJob("j-"+strings.ReplaceAll(tc.name, " ", "-"), tree), 0)
			f.put(a)
			pidsFile := filepath.Join(c.cfg.DataDir, "checkpoints", a.JobID, "pids")
			waitFor(t, 10*time.Second, "the task tree", func() bool { return len(readPids(t, pidsFile)) == 3 })
			waitFor(t, 10*time.Second, "the running report", func() bool { return f.status(a.ID).Status == structs.AllocRunning || len(f.reports(a.ID)) > 0 })
			tc.act(f, a.ID)
			waitFor(t, terminalWait, "the final report", func() bool {
				for _, r := range f.reports(a.ID) {
					if r.Status.Terminal() {
						return true
					}
				}
				return false
			})
			reps := f.reports(a.ID)
			last := reps[len(reps)-1]
			if last.Status != structs.AllocFailed || last.ExitReason != tc.wantReason {
				t.Errorf("final report %s/%s, want failed/%s", last.Status, last.ExitReason, tc.wantReason)
			}
			for _, p := range readPids(t, pidsFile) {
				if !gone(p) {
					t.Errorf("pid %d survived the stop", p)
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
		})
	}
}

func TestClientStopBeforeStart(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), nil)
	a := newAlloc(c, scriptJob("j1", "echo ran"))
	a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitCancelled
	f.put(a)
	runClient(t, c)
	waitFor(t, 10*time.Second, "the stop to be acknowledged", func() bool { return f.terminal(a.ID) })
	if st := f.status(a.ID); st.Status != structs.AllocFailed || st.ExitReason != structs.ExitCancelled || st.ExitCode != nil {
		t.Errorf("status %+v, want failed/cancelled without exit code", st)
	}
	if exists(filepath.Join(c.allocsDir(), a.ID)) {
		t.Error("an allocation stopped before it started got an alloc dir")
	}
}

// TestClientRestart stops the agent while its task runs and starts a new
// one on the same data dir: the task runs once and is reported with its
// real exit code, whether it ends before or after the new agent starts.
func TestClientRestart(t *testing.T) {
	const script = `echo x >> "$NAI_CHECKPOINT_DIR/runs"
while [ ! -e "$NAI_CHECKPOINT_DIR/go" ]; do sleep 0.02; done
echo '{"acc": 0.75}' >> "$NAI_METRICS_FILE"
echo done
exit 7`
	tests := []struct {
		name          string
		endsWhileAway bool
	}{
		{name: "re-attach to a running executor"},
		{name: "report what ended while away", endsWhileAway: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			data := t.TempDir()
			cg := testCgroups(t)
			first := newTestClient(t, f, data, cg)
			stopFirst := runClient(t, first)
			a := newAlloc(first, scriptJob("j1", script))
			f.put(a)
			ckpt := filepath.Join(data, "checkpoints", a.JobID)
			waitFor(t, 10*time.Second, "the task to start", func() bool { return exists(filepath.Join(ckpt, "runs")) })
			waitFor(t, 10*time.Second, "the running report", func() bool { return f.status(a.ID).Status == structs.AllocRunning })
			stopFirst()

			dir := allocDir(filepath.Join(data, "allocs", a.ID))
			if tc.endsWhileAway {
				if err := os.WriteFile(filepath.Join(ckpt, "go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 10*time.Second, "exit.json", func() bool { return exists(dir.path(executor.ExitFile)) })
			} else if exists(dir.path(executor.ExitFile)) {
				t.Fatal("the task ended with its agent")
			}

			second := newTestClient(t, f, data, cg)
			if second.NodeID() != first.NodeID() {
				t.Fatalf("node id changed across restart: %s -> %s", first.NodeID(), second.NodeID())
			}
			runClient(t, second)
			if !tc.endsWhileAway {
				waitFor(t, 10*time.Second, "the re-attach", func() bool {
					second.mu.Lock()
					defer second.mu.Unlock()
					return second.runners[a.ID] != nil
				})
				if err := os.WriteFile(filepath.Join(ckpt, "go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
			st := f.status(a.ID)
			if st.Status != structs.AllocFailed || st.ExitReason != structs.ExitExited || st.ExitCode == nil || *st.ExitCode != 7 {
				t.Errorf("final status %s/%s/%s, want failed/exited/7", st.Status, st.ExitReason, fmtCode(st.ExitCode))
			}
			if st.Metrics["acc"] != 0.75 {
				t.Errorf("metrics %v, want acc 0.75", st.Metrics)
			}
			if runs := readFile(t, filepath.Join(ckpt, "runs")); runs != "x\n" {
				t.Errorf("the task ran %d times, want once", strings.Count(runs, "x"))
			}
		})
	}
}

func TestClientRecoversVanishedExecutor(t *testing.T) {
	f := newFakeServers(t)
	data := t.TempDir()
	c := newTestClient(t, f, data, nil)
	a := newAlloc(c, scriptJob("j1", "echo ran"))
	f.put(a)

	// What an agent leaves when its executor is killed -9 with the task:
	// an alloc dir with a pid file naming a dead process.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir := allocDir(filepath.Join(data, "allocs", a.ID))
	if err := os.MkdirAll(dir.outputDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := executor.WriteJSONAtomic(dir.path(allocFile), a); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.path(executor.PidFile), []byte(fmt.Sprint(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	if st.Status != structs.AllocFailed || st.ExitReason != structs.ExitNodeLost || st.Message != "executor vanished" {
		t.Errorf("status %+v, want failed/node-lost/executor vanished", st)
	}
	if exists(dir.logPath("stdout")) {
		t.Error("the vanished allocation was started again")
	}
}

func TestNodeID(t *testing.T) {
	f := newFakeServers(t)
	data := t.TempDir()
	a := newTestClient(t, f, data, nil)
	b := newTestClient(t, f, data, nil)
	if a.NodeID() == "" || a.NodeID() != b.NodeID() {
		t.Errorf("node ids %q and %q, want one stable id", a.NodeID(), b.NodeID())
	}
	if err := os.WriteFile(filepath.Join(data, "node-id"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{RootTasks: RootTasksAllow, DataDir: data, Servers: f.api(t), Host: testHost(), ExecutorBinary: selfExe(t)})
	if err == nil || !strings.Contains(err.Error(), "expected a uuid") {
		t.Errorf("corrupt node id: err = %v, want one saying a uuid was expected", err)
	}
}

func TestLogsHandler(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), nil)
	runClient(t, c)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()

	a := newAlloc(c, scriptJob("j1", `for i in 1 2 3 4 5; do echo "line $i"; sleep 0.1; done; echo bad >&2`))
	f.put(a)
	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	waitFor(t, 10*time.Second, "the alloc dir", func() bool { return exists(dir.path(allocFile)) })

	get := func(query string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/v1/client/allocations/" + a.ID + "/logs" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Following from the start sees every line, then ends with the task.
	all := "line 1\nline 2\nline 3\nline 4\nline 5\n"
	if code, body := get("?follow=true"); code != 200 || body != all {
		t.Errorf("follow: %d %q, want 200 %q", code, body, all)
	}
	tests := []struct {
		name     string
		path     string
		wantCode int
		wantBody string
		wantErr  structs.ErrorCode
	}{
		{name: "offset", path: a.ID + "/logs?offset=7", wantCode: 200, wantBody: all[7:]},
		{name: "stderr", path: a.ID + "/logs?type=stderr", wantCode: 200, wantBody: "bad\n"},
		{name: "offset past the end", path: a.ID + "/logs?offset=1000", wantCode: 200, wantBody: ""},
		{name: "unknown alloc", path: "nope/logs", wantCode: 404, wantErr: structs.CodeNotFound},
		{name: "bad type", path: a.ID + "/logs?type=both", wantCode: 400, wantErr: structs.CodeInvalid},
		{name: "negative offset: the tail", path: a.ID + "/logs?offset=-7", wantCode: 200, wantBody: "line 5\n"},
		{name: "a window", path: a.ID + "/logs?offset=7&limit=7", wantCode: 200, wantBody: "line 2\n"},
		{name: "bad offset", path: a.ID + "/logs?offset=x", wantCode: 400, wantErr: structs.CodeInvalid},
		{name: "limit while following", path: a.ID + "/logs?limit=5&follow=true", wantCode: 400, wantErr: structs.CodeInvalid},
		{name: "bad follow", path: a.ID + "/logs?follow=maybe", wantCode: 400, wantErr: structs.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/v1/client/allocations/" + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.wantCode, b)
			}
			if tc.wantErr != "" {
				var eb struct{ Error *structs.Error }
				if err := json.Unmarshal(b, &eb); err != nil || eb.Error == nil || eb.Error.Code != tc.wantErr || eb.Error.Message == "" {
					t.Errorf("error body %s, want code %s with a message", b, tc.wantErr)
				}
				return
			}
			if string(b) != tc.wantBody {
				t.Errorf("body %q, want %q", b, tc.wantBody)
			}
		})
	}
}

// TestClientRidesOutUnavailableServers checks that registration and output
// upload are retried while the servers answer 503, and that metrics are
// reported while the task still runs.
func TestClientRidesOutUnavailableServers(t *testing.T) {
	f := newFakeServers(t)
	f.failRegisters, f.failUploads = 2, 2
	c := newTestClient(t, f, t.TempDir(), nil)
	job := scriptJob("j1", `echo '{"epoch": 1}' >> "$NAI_METRICS_FILE"
while [ ! -e "$NAI_CHECKPOINT_DIR/go" ]; do sleep 0.02; done
echo w > "$NAI_OUTPUT_DIR/w"`)
	a := newAlloc(c, job)
	f.put(a)
	runClient(t, c)
	waitFor(t, 10*time.Second, "a running report with metrics", func() bool {
		st := f.status(a.ID)
		return st.Status == structs.AllocRunning && st.Metrics["epoch"] == 1
	})
	if err := os.WriteFile(filepath.Join(c.cfg.DataDir, "checkpoints", a.JobID, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	if st.Status != structs.AllocComplete || st.OutputDigest == "" || st.Message != "" {
		t.Errorf("final status %+v, want complete with an output digest and no message", st)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.nodes) != 1 || f.failRegisters != 0 || f.failUploads != 0 {
		t.Errorf("registered %d times with %d/%d refusals left", len(f.nodes), f.failRegisters, f.failUploads)
	}
}

func TestClientTaskUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	if _, err := lookupTaskUser("nobody"); err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	tests := []struct {
		name       string
		user       string
		wantStatus structs.AllocStatus
		wantReason structs.ExitReason
		wantStdout string
		wantMsg    string
	}{
		{name: "runs as the task user", user: "nobody", wantStatus: structs.AllocComplete, wantReason: structs.ExitExited,
			// nobody's home, /nonexistent, does not exist: HOME is the
			// task's work dir ({work}).
			wantStdout: "65534 {work} nobody\n"},
		{name: "unknown user fails the start", user: "no-such-user-nai", wantStatus: structs.AllocFailed,
			wantReason: structs.ExitStartFail, wantMsg: `task user "no-such-user-nai" does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			data := t.TempDir()
			searchableDataDir(t, data)
			c := newTestClient(t, f, data, testCgroups(t))
			runClient(t, c)
			job := scriptJob("j1", `echo "$(id -u) $HOME $USER"
echo '{"x": 1}' >> "$NAI_METRICS_FILE"
touch "$NAI_OUTPUT_DIR/made" "$NAI_CHECKPOINT_DIR/ckpt" made-in-workdir`)
			job.Task.User = tc.user
			a := newAlloc(c, job)
			f.put(a)
			waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
			st := f.status(a.ID)
			if st.Status != tc.wantStatus || st.ExitReason != tc.wantReason || !strings.Contains(st.Message, tc.wantMsg) {
				t.Errorf("final status %s/%s %q, want %s/%s mentioning %q", st.Status, st.ExitReason, st.Message, tc.wantStatus, tc.wantReason, tc.wantMsg)
			}
			if tc.wantStdout != "" {
				dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
				want := strings.ReplaceAll(tc.wantStdout, "{work}", dir.workDir())
				if got := readFile(t, dir.logPath("stdout")); got != want {
					t.Errorf("stdout %q, want %q (stderr %q)", got, want, readFile(t, dir.logPath("stderr")))
				}
				if st.Metrics["x"] != 1 || st.OutputDigest == "" {
					t.Errorf("metrics %v digest %q: the task user could not write them", st.Metrics, st.OutputDigest)
				}
			}
		})
	}
}

// TestClientStopRightAfterPlacement cancels an allocation while its runner
// may still be starting it: the stop must not be lost.
func TestClientStopRightAfterPlacement(t *testing.T) {
	for i := 0; i < 3; i++ {
		t.Run(fmt.Sprint("try ", i), func(t *testing.T) {
			f := newFakeServers(t)
			c := newTestClient(t, f, t.TempDir(), testCgroups(t))
			runClient(t, c)
			a := newAlloc(c, scriptJob("j1", "sleep 30"))
			f.put(a)
			waitFor(t, 10*time.Second, "the alloc dir", func() bool { return exists(filepath.Join(c.allocsDir(), a.ID)) })
			f.modify(a.ID, func(a *structs.Allocation) {
				a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitCancelled
			})
			waitFor(t, 10*time.Second, "the final report", func() bool { return f.terminal(a.ID) })
			if st := f.status(a.ID); st.ExitReason != structs.ExitCancelled {
				t.Errorf("reason %q, want cancelled", st.ExitReason)
			}
		})
	}
}

func TestClientRefusesBadAllocations(t *testing.T) {
	tests := []struct {
		name    string
		alloc   func(c *Client) *structs.Allocation
		wantMsg string
	}{
		{name: "gpu the node lacks", wantMsg: "gpu 7 is not on this node", alloc: func(c *Client) *structs.Allocation {
			return newAlloc(c, scriptJob("j1", "echo ran"), 1, 7)
		}},
		{name: "gpu given twice", wantMsg: "gpu 1 is given twice", alloc: func(c *Client) *structs.Allocation {
			return newAlloc(c, scriptJob("j1", "echo ran"), 1, 1)
		}},
		{name: "no job", wantMsg: "without its job", alloc: func(c *Client) *structs.Allocation {
			a := newAlloc(c, scriptJob("j1", "echo ran"))
			a.Job = nil
			return a
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			c := newTestClient(t, f, t.TempDir(), nil)
			runClient(t, c)
			a := tc.alloc(c)
			f.put(a)
			waitFor(t, 10*time.Second, "the final report", func() bool { return f.terminal(a.ID) })
			st := f.status(a.ID)
			if st.Status != structs.AllocFailed || st.ExitReason != structs.ExitStartFail || !strings.Contains(st.Message, tc.wantMsg) {
				t.Errorf("status %s/%s %q, want failed/start-failed mentioning %q", st.Status, st.ExitReason, st.Message, tc.wantMsg)
			}
			if exists(allocDir(filepath.Join(c.allocsDir(), a.ID)).logPath("stdout")) {
				t.Error("the task ran")
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	f := newFakeServers(t)
	good := Config{DataDir: t.TempDir(), Servers: f.api(t), Host: testHost(), ExecutorBinary: selfExe(t)}
	tests := []struct {
		name    string
		change  func(c *Config)
		wantMsg string
	}{
		{name: "no data dir", change: func(c *Config) { c.DataDir = "" }, wantMsg: "data dir"},
		{name: "no servers", change: func(c *Config) { c.Servers = nil }, wantMsg: "servers"},
		{name: "no host", change: func(c *Config) { c.Host = nil }, wantMsg: "fingerprint"},
		{name: "no name", change: func(c *Config) { c.Host = &fingerprint.Host{} }, wantMsg: "node name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.wantMsg)
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Errorf("good config refused: %v", err)
	}
}
