package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// serveHelper is a replica's process for the tests: "serve" answers GET
// /health with its pid and GET /env with its service environment; "mute"
// accepts connections on its port and never answers.
func serveHelper(mode string) int {
	ln, err := net.Listen("tcp", ":"+os.Getenv("NAI_PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	fmt.Println("listening on", ln.Addr())
	if mode == "mute" {
		select {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"pid": %d}`, os.Getpid())
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, k := range []string{"NAI_PORT", "NAI_SERVICE_NAME", "NAI_REPLICA", "NAI_SERVICE_VERSION", "NAI_JOB_ID"} {
			env[k] = os.Getenv(k)
		}
		_ = json.NewEncoder(w).Encode(env)
	})
	_ = http.Serve(ln, mux)
	return 1
}

// serviceJob is a service running the test binary's serve helper.
func serviceJob(t *testing.T, id, mode string, edit func(*structs.ServiceSpec)) *structs.Job {
	j := &structs.Job{ID: id, Name: "svc-" + id, Type: structs.JobService, Version: 1,
		Resources: structs.Resources{CPU: 0.5, MemoryBytes: 256 << 20},
		Task:      structs.Task{Command: selfExe(t), Args: []string{"test-helper", mode}},
		Service:   &structs.ServiceSpec{Replicas: 1}}
	if edit != nil {
		edit(j.Service)
	}
	j.Canonicalize()
	return j
}

func replicaAlloc(c *Client, job *structs.Job, replica int) *structs.Allocation {
	a := newAlloc(c, job)
	a.Replica, a.JobVersion = replica, job.Version
	return a
}

// portRange is a range of 20 ports starting at a free one.
func portRange(t *testing.T) structs.PortRange {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if p > 65000 {
		p = 40000 + p%1000
	}
	return structs.PortRange{First: p, Last: p + 19}
}

func newServiceClient(t *testing.T, f *fakeServers) *Client {
	t.Helper()
	c, err := New(Config{RootTasks: RootTasksAllow,
		DataDir: t.TempDir(), NodeName: "gpu-test", HTTPAddr: "http://127.0.0.1:4646",
		Servers: f.api(t), Host: testHost(), Cgroups: testCgroups(t), ServicePorts: portRange(t),
		ExecutorBinary: selfExe(t), KillGrace: 500 * time.Millisecond, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getJSON(t *testing.T, url string, v any) error {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func health(f *fakeServers, id string) structs.ReplicaHealth {
	if h := f.status(id).Service; h != nil {
		return *h
	}
	return structs.ReplicaHealth{}
}

func TestServiceReplicaRunsAndRestarts(t *testing.T) {
	f := newFakeServers(t)
	c := newServiceClient(t, f)
	runClient(t, c)
	job := serviceJob(t, "s1", "serve", nil)
	a := replicaAlloc(c, job, 2)
	f.put(a)
	waitFor(t, terminalWait, "the replica healthy", func() bool { return health(f, a.ID).Healthy })
	h := health(f, a.ID)
	_, port, _ := net.SplitHostPort(h.Address)
	if n, _ := strconv.Atoi(port); n < c.cfg.ServicePorts.First || n > c.cfg.ServicePorts.Last || h.Port != n || !strings.HasPrefix(h.Address, "127.0.0.1:") {
		t.Fatalf("address %q port %d: want 127.0.0.1 and a port of %s", h.Address, h.Port, c.cfg.ServicePorts)
	}
	var env map[string]string
	if err := getJSON(t, "http://"+h.Address+"/env", &env); err != nil {
		t.Fatal(err)
	}
	if env["NAI_PORT"] != port || env["NAI_SERVICE_NAME"] != "svc-s1" || env["NAI_REPLICA"] != "2" || env["NAI_SERVICE_VERSION"] != "1" {
		t.Errorf("environment %v", env)
	}

	// kill -9 the process: the executor starts it again on the same port.
	var hp struct{ PID int }
	if err := getJSON(t, "http://"+h.Address+"/health", &hp); err != nil || hp.PID == 0 {
		t.Fatalf("health: %+v, %v", hp, err)
	}
	if err := syscall.Kill(hp.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, terminalWait, "the restart reported", func() bool { return health(f, a.ID).Restarts == 1 })
	if h := health(f, a.ID); h.LastExit != "killed by SIGKILL" {
		t.Errorf("last exit %q", h.LastExit)
	}
	waitFor(t, terminalWait, "the replica healthy again", func() bool { return health(f, a.ID).Healthy })
	var hp2 struct{ PID int }
	if err := getJSON(t, "http://"+h.Address+"/health", &hp2); err != nil || hp2.PID == hp.PID {
		t.Errorf("after the restart: pid %d (was %d), %v", hp2.PID, hp.PID, err)
	}
	if f.terminal(a.ID) {
		t.Fatal("a service replica ended when its process died")
	}

	// A stop ends it for good, after the shutdown delay.
	f.modify(a.ID, func(a *structs.Allocation) {
		a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitScaledDown
	})
	waitFor(t, terminalWait, "the replica to end", func() bool { return f.terminal(a.ID) })
	if st := f.status(a.ID); st.ExitReason != structs.ExitScaledDown || st.Service != nil {
		t.Errorf("final status %+v, want scaled-down without health", st)
	}
	if _, err := http.Get("http://" + h.Address + "/health"); err == nil {
		t.Error("the replica still answers after its end")
	}
}

func TestServiceUnhealthyReplicaIsRestarted(t *testing.T) {
	f := newFakeServers(t)
	c := newServiceClient(t, f)
	runClient(t, c)
	job := serviceJob(t, "s2", "mute", func(s *structs.ServiceSpec) {
		s.Health = structs.HealthCheck{Interval: structs.Duration(200 * time.Millisecond), Timeout: structs.Duration(100 * time.Millisecond), Grace: structs.Duration(time.Millisecond)}
		s.UnhealthyAfter = 2
	})
	a := replicaAlloc(c, job, 0)
	f.put(a)
	waitFor(t, terminalWait, "the replica restarted for failing its checks", func() bool { return health(f, a.ID).Restarts >= 1 })
	h := health(f, a.ID)
	if h.Healthy || !strings.Contains(h.LastExit, "unhealthy: 2 failed checks") {
		t.Errorf("health %+v, want unhealthy and restarted for 2 failed checks", h)
	}
	waitFor(t, terminalWait, "the last check's error", func() bool {
		return strings.Contains(health(f, a.ID).HealthError, "no answer within 100ms")
	})
	// Stop it: a client that stops leaves its executors running (they
	// outlive an agent restart), so a replica left running would outlive
	// the test, in a cgroup nobody removes.
	f.modify(a.ID, func(a *structs.Allocation) {
		a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitScaledDown
	})
	waitFor(t, terminalWait, "the replica to end", func() bool { return f.terminal(a.ID) })
}

func TestServiceStartIsRetried(t *testing.T) {
	f := newFakeServers(t)
	c := newServiceClient(t, f)
	runClient(t, c)
	job := serviceJob(t, "s3", "serve", nil)
	job.Models = []structs.ArtifactRef{{Name: "m", Version: "1"}} // no digest: cannot be staged
	a := replicaAlloc(c, job, 0)
	f.put(a)
	waitFor(t, terminalWait, "the start failure reported", func() bool {
		st := f.status(a.ID)
		return st.Status == structs.AllocPending && strings.Contains(st.Message, "trying again")
	})
	if f.terminal(a.ID) {
		t.Fatal("a replica that cannot start yet ended")
	}
	f.modify(a.ID, func(a *structs.Allocation) {
		a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitCancelled
	})
	waitFor(t, terminalWait, "the replica to end", func() bool { return f.terminal(a.ID) })
}

func TestPickPort(t *testing.T) {
	f := newFakeServers(t)
	c := newServiceClient(t, f)
	pr := portRange(t)
	c.cfg.ServicePorts = structs.PortRange{First: pr.First, Last: pr.First + 2}
	// Another program holds one of the three.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(pr.First+1))
	if err != nil {
		t.Skipf("cannot hold a port for the test: %v", err)
	}
	defer ln.Close()
	seen := map[int]bool{}
	for _, id := range []string{"a", "b"} {
		p, err := c.pickPort(id, "127.0.0.1")
		if err != nil || seen[p] || p == pr.First+1 {
			t.Fatalf("pick for %s: %d, %v (taken: %v)", id, p, err, seen)
		}
		seen[p] = true
	}
	if _, err := c.pickPort("c", "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "no free port in service_ports") {
		t.Errorf("exhausted range: %v", err)
	}
	c.releasePort("a")
	if _, err := c.pickPort("c", "127.0.0.1"); err != nil {
		t.Errorf("after a release: %v", err)
	}
}

func TestOutputServe(t *testing.T) {
	dir := t.TempDir()
	if got := outputServe(dir); got != nil {
		t.Errorf("empty outputs: %v", got)
	}
	// A symlink to a file elsewhere is not followed by the root agent.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "serve.py")); err != nil {
		t.Fatal(err)
	}
	if got := outputServe(dir); got != nil {
		t.Errorf("serve.py a symlink to /etc/passwd: %v", got)
	}
	if err := os.Remove(filepath.Join(dir, "serve.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "serve.py"), []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := outputServe(dir); strings.Join(got, " ") != "python3 serve.py" {
		t.Errorf("with serve.py: %v", got)
	}
}

// TestHealthCheckFollowsNoRedirect: a replica that answers its health
// check with a redirect elsewhere is healthy (3xx), and the agent never
// requests what it points to (red team L3).
func TestHealthCheckFollowsNoRedirect(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	replica := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/latest/meta-data/", http.StatusFound)
	}))
	defer replica.Close()
	hc := healthClient(time.Second)
	if err := checkHealth(context.Background(), hc, replica.URL+"/health"); err != nil {
		t.Errorf("a redirecting replica: %v, want healthy", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the health check followed the redirect (%d requests elsewhere)", n)
	}
}

func TestCheckHealth(t *testing.T) {
	hc := &http.Client{Timeout: 50 * time.Millisecond}
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	mute := "http://" + ln.Addr().String() + "/health"
	if err := checkHealth(ctx, hc, mute); err == nil || err.Error() != "GET /health: no answer within 50ms" {
		t.Errorf("mute replica: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln2)
	defer srv.Close()
	if err := checkHealth(ctx, hc, "http://"+ln2.Addr().String()+"/health"); err == nil || !strings.Contains(err.Error(), "answered 500") {
		t.Errorf("failing replica: %v", err)
	}
}

// A port that a stopped replica's connections still linger on (TIME_WAIT)
// is taken only when no other is free: a program that does not set
// SO_REUSEADDR could not listen there.
func TestPickPortAvoidsLingeringPorts(t *testing.T) {
	f := newFakeServers(t)
	c := newServiceClient(t, f)
	pr := portRange(t)
	c.cfg.ServicePorts = structs.PortRange{First: pr.First, Last: pr.First + 1}
	lingering := pr.First + c.cfg.ServicePorts.Count() - 1
	// Server side closes first: its end of the connection, on the port,
	// stays in TIME_WAIT.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(lingering))
	if err != nil {
		t.Skipf("cannot use port %d: %v", lingering, err)
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	buf := make([]byte, 1)
	conn.Read(buf) // the FIN
	conn.Close()
	ln.Close()
	if portFree("127.0.0.1", lingering, false) {
		t.Skip("this kernel lets a port in TIME_WAIT be bound without SO_REUSEADDR")
	}
	first, err := c.pickPort("a", "127.0.0.1")
	if err != nil || first == lingering {
		t.Fatalf("first pick %d, %v: want the port nothing lingers on", first, err)
	}
	second, err := c.pickPort("b", "127.0.0.1")
	if err != nil || second != lingering {
		t.Errorf("second pick %d, %v: want the lingering port %d when no other is free", second, err, lingering)
	}
}
