package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// Serving (issue 13): the digits example trained on a dev agent, served
// with `nai serve`, called through the gateway while a replica is killed
// and while the service rolls out a new version; a service that never
// answers its health check; bad input.

// repoDir is the repository's root.
func repoDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// needPython skips a test on a host without python3 (the examples' and
// the replicas' language).
func needPython(t *testing.T, py string) {
	t.Helper()
	if _, err := exec.LookPath(py); err != nil {
		t.Skipf("%s not found: the serving tests run python replicas", py)
	}
}

// servicePorts is a range of n ports for one agent's replicas. It lies
// above the kernel's ephemeral range (ip_local_port_range), where no
// outgoing connection or listener on port 0 of any process on this machine
// can take one of them between this choice and the replica's start; each
// call takes the next free range, so agents of parallel tests do not share.
func servicePorts(t *testing.T, n int) string {
	t.Helper()
	low := 61000
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var lo, hi int
		if _, err := fmt.Sscan(string(b), &lo, &hi); err == nil && hi+1 > low && hi+1+n <= 65535 {
			low = hi + 1
		}
	}
	span := 65535 - low - n
	for range 100 {
		p := low + int(nextServicePorts.Add(int64(n)))%span
		if portsFree(p, n) {
			return fmt.Sprintf("%d-%d", p, p+n-1)
		}
	}
	t.Fatalf("no %d free ports in a row above %d", n, low)
	return ""
}

// nextServicePorts is where the next servicePorts range starts looking,
// from a random place so that test binaries run at once (go test -p) do
// not start at the same port.
var nextServicePorts atomic.Int64

func init() { nextServicePorts.Store(rand.Int64N(4000)) }

// portsFree reports whether ports p to p+n-1 can be listened on now.
func portsFree(p, n int) bool {
	for i := range n {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// digitsData is the dataset the example trains on.
type digitsData struct {
	XTest [][]int `json:"x_test"`
	YTest []int   `json:"y_test"`
}

func readDigits(t *testing.T, dir string) *digitsData {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "digits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d digitsData
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// prediction is serve.py's answer.
type prediction struct {
	Class         int       `json:"class"`
	Probabilities []float64 `json:"probabilities"`
	ModelVersion  string    `json:"model_version"`
}

// predict posts one image through the gateway. Every call carries an
// Idempotency-Key (a prediction may be asked twice), so the gateway may send
// it to another replica when the one it chose dies under it.
func predict(ctx context.Context, hc *http.Client, a *agent, service string, image []int, key string) (*prediction, error) {
	body, _ := json.Marshal(map[string]any{"image": image})
	req, err := http.NewRequestWithContext(ctx, "POST", a.addr+"/v1/services/"+service+"/predict", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var p prediction
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("answer %q: %w", b, err)
	}
	return &p, nil
}

// loadLoop calls the service in a loop until stopped, counting answers
// (by model version) and failures.
type loadLoop struct {
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	ok       int
	versions map[string]int
	failures []string
}

func startCallLoop(t *testing.T, a *agent, service string, image []int) *loadLoop {
	l := &loadLoop{stop: make(chan struct{}), done: make(chan struct{}), versions: map[string]int{}}
	hc := &http.Client{Timeout: 30 * time.Second}
	go func() {
		defer close(l.done)
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			p, err := predict(context.Background(), hc, a, service, image, fmt.Sprintf("k%d", i))
			l.mu.Lock()
			if err != nil {
				l.failures = append(l.failures, err.Error())
			} else {
				l.ok++
				l.versions[p.ModelVersion]++
			}
			l.mu.Unlock()
		}
	}()
	t.Cleanup(l.end)
	return l
}

func (l *loadLoop) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

func (l *loadLoop) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok
}

// service reads a service's status through the CLI's -json output.
func (a *agent) service(name string) *structs.Service {
	a.t.Helper()
	var s structs.Service
	if err := json.Unmarshal([]byte(a.mustNai("service", "status", "-json", name)), &s); err != nil {
		a.t.Fatalf("decode service %s: %v", name, err)
	}
	return &s
}

// stopService stops a service and waits until its replicas have ended
// (executors outlive their agent: none may be left running).
func (a *agent) stopService(name string) {
	a.t.Helper()
	s := a.service(name)
	a.mustNai("service", "stop", name)
	waitFor(a.t, time.Minute, "the replicas of "+name+" end", func() bool {
		allocs, err := a.api().JobAllocations(context.Background(), s.JobID)
		if err != nil {
			return false
		}
		for _, al := range allocs {
			if !al.Terminal() {
				return false
			}
		}
		return true
	})
}

// trainDigits trains the digits example on the agent and returns the model
// version it made.
func trainDigits(t *testing.T, a *agent, backend string, epochs int) int {
	t.Helper()
	ex := filepath.Join(repoDir(t), "examples", "pytorch-digits")
	// job run follows the job and exits with its code: 0 is complete.
	a.mustNai("job", "run", "-var", "backend="+backend, "-var", fmt.Sprintf("epochs=%d", epochs), filepath.Join(ex, "train.hcl"))
	var m structs.Artifact
	if err := json.Unmarshal([]byte(a.mustNai("model", "show", "-json", "digits-cnn")), &m); err != nil {
		t.Fatal(err)
	}
	v := m.Latest()
	if len(v.Serve) == 0 {
		t.Fatalf("model digits-cnn:%d has no serve command: train.py left no serve.py in the outputs", v.Version)
	}
	return v.Version
}

// TestServeDigits is the story with the standard-library model:
// train, serve, call, kill a replica under load, roll out version 2 under
// load.
func TestServeDigits(t *testing.T) {
	needPython(t, "python3")
	serveDigits(t, "stdlib", func(t *testing.T, dir string) {
		cmd := exec.Command("python3", filepath.Join(repoDir(t), "examples", "pytorch-digits", "digits_data.py"), dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make the digits dataset: %v\n%s", err, out)
		}
	})
}

// TestServeDigitsTorchLong is the same story with PyTorch and
// scikit-learn's digits (Debian's python3-torch and python3-sklearn, for
// /usr/bin/python3): `make test-long`.
func TestServeDigitsTorchLong(t *testing.T) {
	if os.Getenv("NAI_LONG") == "" {
		t.Skip("PyTorch variant: set NAI_LONG=1 (make test-long)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch, sklearn").Run(); err != nil {
		t.Skip("/usr/bin/python3 lacks torch or sklearn (apt-get install python3-torch python3-sklearn)")
	}
	serveDigits(t, "auto", func(t *testing.T, dir string) {
		cmd := exec.Command("/usr/bin/python3", filepath.Join(repoDir(t), "examples", "pytorch-digits", "export_digits.py"), dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("export the digits dataset: %v\n%s", err, out)
		}
	})
}

func serveDigits(t *testing.T, backend string, makeData func(t *testing.T, dir string)) {
	a := startAgent(t, t.TempDir(), 1, "-service-ports", servicePorts(t, 20))
	work := t.TempDir()
	data := filepath.Join(work, "data")
	makeData(t, data)
	digits := readDigits(t, data)
	a.mustNai("dataset", "push", data, "-name", "digits")

	// Two versions first: the replicas hold the cores training would need.
	if v := trainDigits(t, a, backend, 10); v != 1 {
		t.Fatalf("first training made version %d", v)
	}
	if v := trainDigits(t, a, backend, 6); v != 2 {
		t.Fatalf("second training made version %d", v)
	}

	a.mustNai("serve", "digits-cnn:1", "-replicas", "2", "-cpu", "0.25", "-memory", "256MiB", "-wait", "2m")
	s := a.service("digits-cnn")
	if s.Healthy != 2 || len(s.Replicas) != 2 || s.Model != "digits-cnn:1" {
		t.Fatalf("service after nai serve: %+v", s)
	}
	for _, r := range s.Replicas {
		if r.AllocID == "" || r.Node != "e2e-node" || r.Address == "" || !r.Healthy || r.Restarts != 0 {
			t.Errorf("replica %+v: want alloc, node, address, healthy, no restarts", r)
		}
	}

	if logs := a.mustNai("service", "logs", "-replica", "1", "digits-cnn"); !strings.Contains(logs, "serving digits model version 1 on port") {
		t.Errorf("replica 1's log: %q", logs)
	}

	// A held-out example (the test split is never trained on) through the
	// gateway: the right class; and most of the first twenty.
	ctx := context.Background()
	hc := &http.Client{Timeout: 30 * time.Second}
	p, err := predict(ctx, hc, a, "digits-cnn", digits.XTest[0], "first")
	if err != nil {
		t.Fatal(err)
	}
	if p.Class != digits.YTest[0] || len(p.Probabilities) != 10 || p.ModelVersion != "1" {
		t.Errorf("held-out example (a %d): %+v", digits.YTest[0], p)
	}
	right := 0
	for i := range 20 {
		if p, err := predict(ctx, hc, a, "digits-cnn", digits.XTest[i], "q"+strconv.Itoa(i)); err == nil && p.Class == digits.YTest[i] {
			right++
		}
	}
	if right < 16 {
		t.Errorf("%d of 20 held-out examples right: the model did not learn", right)
	}

	// kill -9 replica 0's process under a loop of requests: it is
	// restarted, and no request fails (retries go to replica 1).
	var h struct{ PID int }
	if err := getJSON("http://"+s.Replicas[0].Address+"/health", &h); err != nil || h.PID == 0 {
		t.Fatalf("replica 0's health: %+v, %v", h, err)
	}
	load := startCallLoop(t, a, "digits-cnn", digits.XTest[0])
	waitFor(t, 30*time.Second, "requests flow", func() bool { return load.count() > 20 })
	if err := syscallKill(h.PID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "replica 0 restarted and healthy", func() bool {
		r := a.service("digits-cnn").Replicas[0]
		return r.Restarts == 1 && r.Healthy
	})
	before := load.count()
	waitFor(t, 30*time.Second, "requests flow after the restart", func() bool { return load.count() > before+20 })
	load.end()
	t.Logf("while replica 0 was killed and restarted: %d requests answered, %d failed", load.ok, len(load.failures))
	if len(load.failures) > 0 {
		t.Errorf("%d of %d requests failed while a replica was killed; first: %s", len(load.failures), load.ok+len(load.failures), load.failures[0])
	}
	if r := a.service("digits-cnn").Replicas[0]; r.AllocID != s.Replicas[0].AllocID || r.Address != s.Replicas[0].Address {
		t.Errorf("replica 0 moved: %+v, was %+v (want the same allocation and port)", r, s.Replicas[0])
	}

	// Roll out version 2 under a loop of requests: none fails, and once
	// it is done every answer comes from version 2.
	load = startCallLoop(t, a, "digits-cnn", digits.XTest[1])
	waitFor(t, 30*time.Second, "requests flow", func() bool { return load.count() > 20 })
	out := a.mustNai("service", "rollout", "-model", "digits-cnn:2", "-wait", "digits-cnn")
	if !strings.Contains(out, "version 2") {
		t.Errorf("rollout said %q", out)
	}
	before = load.count()
	waitFor(t, 30*time.Second, "requests flow after the rollout", func() bool { return load.count() > before+20 })
	load.end()
	t.Logf("during the rollout: %d requests answered (by version: %v), %d failed", load.ok, load.versions, len(load.failures))
	if len(load.failures) > 0 {
		t.Errorf("%d of %d requests failed during the rollout; first: %s", len(load.failures), load.ok+len(load.failures), load.failures[0])
	}
	if load.versions["2"] == 0 {
		t.Errorf("answers by version %v: none from version 2", load.versions)
	}
	s = a.service("digits-cnn")
	if s.Version != 2 || s.Model != "digits-cnn:2" || s.Rollout == nil || s.Rollout.Status != structs.RolloutComplete {
		t.Errorf("after the rollout: %+v", s)
	}
	waitFor(t, 30*time.Second, "the old replicas gone", func() bool {
		for _, r := range a.service("digits-cnn").Replicas {
			if r.Version != 2 {
				return false
			}
		}
		return true
	})
	for i := range 20 {
		p, err := predict(ctx, hc, a, "digits-cnn", digits.XTest[i], "after"+strconv.Itoa(i))
		if err != nil || p.ModelVersion != "2" {
			t.Fatalf("after the rollout, answer %d: %+v, %v; want version 2", i, p, err)
		}
	}
	a.stopService("digits-cnn")
}

// tinyServe is a replica's program for the tests that need no model: it
// answers /health (or, with MUTE=1, accepts connections and never answers).
const tinyServe = `import os, socket, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
if os.environ.get("MUTE"):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", int(os.environ["NAI_PORT"])))
    s.listen()
    time.sleep(1e9)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok " + os.environ["NAI_REPLICA"].encode())
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("", int(os.environ["NAI_PORT"])), H).serve_forever()
`

// TestServiceUnhealthyAndBadInput: a service that never answers its health
// check shows unhealthy with the check's error and the gateway answers 503
// at once; a port range used up leaves a replica pending with the reason; a
// rollout to a version that never answers is rolled back with the reason;
// and bad input gets clear errors.
func TestServiceUnhealthyAndBadInput(t *testing.T) {
	needPython(t, "python3")
	ports := servicePorts(t, 3)
	a := startAgent(t, t.TempDir(), 1, "-service-ports", ports)
	work := t.TempDir()

	// A model whose folder has a serve.py: `nai model push` records it as
	// the serve command. One without: none.
	tiny := filepath.Join(work, "tiny")
	writeFile(t, tiny, "serve.py", tinyServe)
	a.mustNai("model", "push", tiny, "-name", "tiny")
	bare := filepath.Join(work, "bare")
	writeFile(t, bare, "weights.txt", "0.5\n")
	a.mustNai("model", "push", bare, "-name", "bare")

	// Never answers: unhealthy with the last check's error, and 503.
	// Half a CPU and a 3 s grace: with a tenth and 1 s, python under the
	// full e2e run's load was not yet listening when its third failed
	// check (connection refused) restarted it, again and again.
	a.submit(work, "mute", `job "mute" {
  type = "service"
  model "tiny" {}
  resources {
    cpu    = 0.5
    memory = "64MiB"
  }
  task {
    script = "cd $NAI_MODEL_DIR && MUTE=1 exec python3 serve.py"
  }
  service {
    unhealthy_after = 3
    health {
      interval = "500ms"
      timeout  = "200ms"
      grace    = "3s"
    }
  }
}`)
	waitFor(t, time.Minute, "the mute service's check error", func() bool {
		s := a.service("mute")
		return len(s.Replicas) == 1 && s.Replicas[0].Address != "" && strings.Contains(s.Replicas[0].HealthError, "no answer within 200ms")
	})
	out := a.mustNai("service", "status", "mute")
	for _, want := range []string{"0 of 1 replica healthy", "unhealthy: GET /health: no answer within 200ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	start := time.Now()
	resp, err := http.Get(a.addr + "/v1/services/mute/predict")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `service \"mute\" is unavailable`) || !strings.Contains(string(b), "no answer within 200ms") {
		t.Errorf("call to the mute service: %d %s", resp.StatusCode, b)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the 503 took %s: it must not wait for a replica", d)
	}
	waitFor(t, time.Minute, "the mute replica restarted for failing its checks", func() bool {
		r := a.service("mute").Replicas[0]
		return r.Restarts >= 1 && strings.Contains(r.LastExit, "unhealthy: 3 failed checks")
	})

	// Three ports: one held by mute, two by tiny's replicas. A third
	// replica waits, pending, saying why.
	out = a.mustNai("serve", "tiny", "-replicas", "2", "-cpu", "0.1", "-memory", "64MiB", "-public", "-wait", "1m")
	if !strings.Contains(out, "/v1/services/tiny/") {
		t.Errorf("serve said %q", out)
	}
	if body := httpGet(t, a.addr+"/v1/services/tiny/x"); body != "ok 0" && body != "ok 1" {
		t.Errorf("call to tiny: %q", body)
	}
	a.mustNai("service", "scale", "tiny", "3")
	waitFor(t, time.Minute, "the third replica waiting for a port", func() bool {
		return strings.Contains(a.service("tiny").Reason, "free service port")
	})
	if s := a.service("tiny"); !strings.Contains(s.Reason, "every port of client service_ports is taken") || s.Healthy != 2 {
		t.Errorf("service %+v: want 2 healthy and the reason naming service_ports", s)
	}
	if out := a.mustNai("service", "scale", "tiny", "1"); strings.TrimSpace(out) != "Service tiny scaled to 1 replica." {
		t.Errorf("scale to 1 said %q", out)
	}
	waitFor(t, time.Minute, "one replica left", func() bool { return len(a.service("tiny").Replicas) == 1 })

	// A rollout to a version that never answers is rolled back, and says
	// why; the old version serves throughout.
	tiny2 := filepath.Join(work, "tiny2")
	writeFile(t, tiny2, "serve.py", strings.Replace(tinyServe, `if os.environ.get("MUTE"):`, "if True:", 1))
	a.mustNai("model", "push", tiny2, "-name", "tiny")
	_, errOut, code := a.nai("service", "rollout", "-model", "tiny:2", "-timeout", "6s", "-wait", "tiny")
	if code == 0 || !strings.Contains(errOut, "rolled back") || !strings.Contains(errOut, "0 of 1 new replicas healthy after 6s") ||
		!strings.Contains(errOut, "no answer within 1s") {
		t.Errorf("rollout to a mute version: exit %d, stderr %q; want it rolled back with the health error", code, errOut)
	}
	s := a.service("tiny")
	if s.Version != 1 || s.Model != "tiny:1" || s.Rollout == nil || s.Rollout.Status != structs.RolloutRolledBack {
		t.Errorf("after the rollback: %+v", s)
	}
	if out := a.mustNai("service", "status", "tiny"); !strings.Contains(out, "rolled-back; 0 of 1 new replicas healthy") {
		t.Errorf("status does not show the rollback:\n%s", out)
	}
	if body := httpGet(t, a.addr+"/v1/services/tiny/x"); body != "ok 0" {
		t.Errorf("call to tiny after the rollback: %q", body)
	}

	// Bad input.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "bare"}, "has no serve command"},
		{[]string{"serve", "tiny", "-replicas", "0"}, "-replicas 0 is out of range"},
		{[]string{"serve", "tiny", "-replicas", "-2"}, "-replicas -2 is out of range"},
		{[]string{"serve", "tiny"}, `a service named "tiny" already runs`},
		{[]string{"serve", "nope"}, `model "nope" does not exist`},
		{[]string{"service", "scale", "tiny", "0"}, "out of range"},
		{[]string{"service", "scale", "nope", "2"}, `no service named "nope"`},
		{[]string{"service", "rollout", "tiny"}, "missing -model"},
		{[]string{"service", "rollout", "-model", "bare:1", "tiny"}, "has no serve command"},
		{[]string{"job", "run", writeFile(t, work, "batch-svc.hcl", "job \"b\" {\n  task {\n    command = \"true\"\n  }\n  service {}\n}\n")}, "Service block on a batch job"},
		{[]string{"job", "run", writeFile(t, work, "zero.hcl", "job \"z\" {\n  type = \"service\"\n  task {\n    command = \"true\"\n  }\n  service {\n    replicas = 0\n  }\n}\n")}, "replicas must be a whole number from 1 to 1000; got 0"},
	} {
		if _, errOut, code := a.nai(tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("nai %s: exit %d, stderr %q; want an error mentioning %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
	// A path that tries to leave the service is refused, not followed.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/v1/services/tiny/../../v1/jobs", "/v1/services/tiny/%2e%2e/mute/x"} {
		req, _ := http.NewRequest("GET", a.addr+p, nil)
		req.URL.Opaque = p // sent as written
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "leaves service") {
			t.Errorf("GET %s: %d %s, want 400", p, resp.StatusCode, b)
		}
	}
	a.stopService("tiny")
	a.stopService("mute")
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// nai serve -wait that runs out says the service it made keeps running,
// and how to look at it or stop it.
func TestServeWaitFailureSaysServiceRuns(t *testing.T) {
	needPython(t, "python3")
	a := startAgent(t, t.TempDir(), 1, "-service-ports", servicePorts(t, 1))
	work := t.TempDir()
	sleepy := filepath.Join(work, "sleepy")
	writeFile(t, sleepy, "serve.py", "import time\ntime.sleep(600)\n")
	a.mustNai("model", "push", sleepy, "-name", "sleepy")
	_, errOut, code := a.nai("serve", "sleepy", "-cpu", "0.1", "-memory", "64MiB", "-wait", "3s")
	if code != 1 || !strings.Contains(errOut, "Service sleepy (job ") || !strings.Contains(errOut, "keeps running") ||
		!strings.Contains(errOut, "nai service stop sleepy") {
		t.Fatalf("nai serve -wait that runs out: exit %d\n%s", code, errOut)
	}
	if s := a.service("sleepy"); s.Status != structs.JobRunning && s.Status != structs.JobPending {
		t.Errorf("the service after the wait ran out: %s", s.Status)
	}
	// Nothing on stdout: the logs say where else to look.
	waitFor(t, 30*time.Second, "the replica runs", func() bool {
		s := a.service("sleepy")
		return len(s.Replicas) == 1 && s.Replicas[0].Status == structs.AllocRunning
	})
	if out, errOut, code := a.nai("service", "logs", "sleepy"); code != 0 || out != "" || !strings.Contains(errOut, "wrote nothing on stdout; its stderr: nai service logs -stderr sleepy") {
		t.Errorf("service logs of a silent replica: exit %d, %q, %q", code, out, errOut)
	}
	a.mustNai("service", "stop", "sleepy")
	waitFor(t, 30*time.Second, "a stopped service's logs point to its job", func() bool {
		_, errOut, code := a.nai("service", "logs", "sleepy")
		return code != 0 && strings.Contains(errOut, "nai queue -all -name sleepy, then nai job logs ID")
	})
}
