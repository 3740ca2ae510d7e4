package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

// testServer starts a one-server cluster in dir with its HTTP API.
func testServer(t testing.TB, dir string, opts ...func(*Config)) (*Server, *api.Client) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := Config{DataDir: dir, NodeName: "test", Bootstrap: true, Logger: logger, SchedulerInterval: time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	s := startLeader(t, cfg)
	return s, serveAPI(t, s)
}

// startLeader starts a server and waits until it leads.
func startLeader(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		s.Shutdown()
		tb.Fatal(err)
	}
	// The new leader's first write, the servers' secret, lands after
	// leadership: tests that compare the state before and after a
	// refused request must not see it arrive in between.
	waitUntil(tb, "the leader's secret is written", func() bool { return s.ServerSecret() != "" })
	return s
}

// serveAPI serves s's routes on a loopback listener and returns a client
// of it; both end, and s shuts down, with the test.
func serveAPI(tb testing.TB, s *Server) *api.Client {
	tb.Helper()
	mux := http.NewServeMux()
	s.Routes(mux)
	hs := httptest.NewServer(mux)
	tb.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		s.Shutdown()
	})
	c, err := api.NewClient(hs.URL)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testNode is a node named node-<id> with n GPUs, 16 cores and 64 GiB,
// whose agent address answers nothing.
func testNode(id string, gpus int) *structs.Node {
	return builders.Node(id).Name("node-" + id).GPUs(gpus).CPU(16).Memory(64 << 30).HTTPAddr("http://127.0.0.1:1").Build()
}

// gpuJob is alice's job asking for gpus GPUs.
func gpuJob(name string, gpus int) *structs.Job {
	return builders.Job(name).GPUs(gpus).Command("/bin/true").Build()
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 10*time.Second, 5*time.Millisecond, what, cond)
}

// waitWithin polls cond every poll until it holds, failing the test after
// timeout.
func waitWithin(t testing.TB, timeout, poll time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(poll)
	}
}

// postRefused posts each body to path and expects a 400 with code invalid.
func postRefused(t *testing.T, c *api.Client, path string, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		resp, err := http.Post(c.Address()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"code":"invalid"`) {
			t.Errorf("POST %s %q: status %d %s, want 400 with code invalid", path, body, resp.StatusCode, b)
		}
	}
}

// The leader schedules on state changes: three 2-GPU jobs on a 4-GPU node
// give two placements and one job waiting for resources.
func TestLeaderSchedulesOnChange(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		resp, err := c.Register(ctx, gpuJob(name, 2))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.JobIDs...)
	}
	waitUntil(t, "two jobs run and one waits with a reason", func() bool {
		running, waiting := 0, 0
		for _, id := range ids {
			j, _, err := c.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case j.Status == structs.JobRunning && len(j.GPUs) == 2:
				running++
			case j.Status == structs.JobPending && j.Reason != "":
				waiting++
			}
		}
		return running == 2 && waiting == 1
	})
	j, _, _ := c.Job(ctx, "1")
	if j.User != "alice" {
		t.Errorf("owner = %q, want alice from the user header", j.User)
	}
	allocs, _, err := c.NodeAllocations(ctx, "n1", 0, 0)
	if err != nil || len(allocs) != 2 || allocs[0].Job == nil {
		t.Fatalf("node allocations = %v, %v; want 2 with their jobs", allocs, err)
	}
	// The client reports one finished: the waiting job starts.
	zero := 0
	err = c.UpdateAllocs(ctx, "n1", []*structs.AllocUpdate{{AllocID: allocs[0].ID, Client: structs.ClientStatusFields{
		Status: structs.AllocComplete, ExitCode: &zero, ExitReason: structs.ExitExited, Metrics: map[string]float64{"loss": 0.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the third job starts", func() bool {
		j, _, _ := c.Job(ctx, ids[2])
		return j.Status == structs.JobRunning
	})
	done, _, _ := c.Job(ctx, allocs[0].JobID)
	if done.Status != structs.JobComplete || done.Metrics["loss"] != 0.5 {
		t.Fatalf("finished job = %s metrics %v", done.Status, done.Metrics)
	}
}

// A blocking query answers when the job changes, not before.
func TestBlockingJobQuery(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	resp, err := c.Register(ctx, gpuJob("wait", 1))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	j, idx, err := c.Job(ctx, id)
	if err != nil || j.Status != structs.JobPending {
		t.Fatalf("job %v %v", j, err)
	}
	got := make(chan *structs.Job, 1)
	go func() {
		j, _, err := c.WaitJob(ctx, id, idx, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- j
	}()
	if err := c.RegisterNode(ctx, testNode("n1", 2), ""); err != nil {
		t.Fatal(err)
	}
	select {
	case j := <-got:
		if j.ModifyIndex <= idx {
			t.Fatalf("blocking query answered with index %d <= %d", j.ModifyIndex, idx)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("blocking query did not answer after the job changed")
	}
}

// State survives a restart from the same data dir.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	s, c := testServer(t, dir)
	ctx := context.Background()
	resp, err := c.Register(ctx, gpuJob("keep", 1))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.blobs.Put(strings.NewReader("outputs"), "")
	digest := info.Digest
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()

	_, c2 := testServer(t, dir)
	j, _, err := c2.Job(ctx, resp.JobIDs[0])
	if err != nil || j.Name != "keep" {
		t.Fatalf("after restart: %v, %v", j, err)
	}
	rc, err := c2.Blob(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "outputs" {
		t.Fatalf("blob after restart = %q", b)
	}
}

func TestAPIErrors(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if _, _, err := c.Job(ctx, "404"); !api.IsNotFound(err) {
		t.Errorf("unknown job: %v, want not found", err)
	}
	if err := c.Cancel(ctx, "404"); !api.IsNotFound(err) {
		t.Errorf("cancel unknown job: %v, want not found", err)
	}
	bad := gpuJob("bad", 1)
	bad.Resources.CPU = -1
	if _, err := c.Register(ctx, bad); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("negative cpu: %v, want invalid", err)
	}
	jobs, _ := c.Jobs(ctx, true)
	if len(jobs) != 0 {
		t.Errorf("a refused submission left %d jobs", len(jobs))
	}
	postRefused(t, c, "/v1/jobs", "not json", `{"jobs": []}`, `{"job": {"name": "x"}, "surprise": 1}`)
}
