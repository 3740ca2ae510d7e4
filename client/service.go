package client

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// Service replicas on a node (the agent's side; the executor's restart
// loop is in client/executor's service.go):
//
//   - a port: the agent picks one from Config.ServicePorts that no replica
//     of this node holds and that it can bind, keeps it in the alloc dir
//     (port), and passes it as NAI_PORT with NAI_SERVICE_NAME and
//     NAI_REPLICA;
//   - health: every health interval a GET of the service's health path on
//     the replica's address (every 250ms until the first success after a
//     start, so a replica takes traffic as soon as it answers); a change of
//     health, of its error, or of the restart count is reported at once
//     (ClientStatus.Service), and the servers' gateways route by it;
//   - restarts: unhealthy_after failed checks in a row, after the grace
//     that follows each start, ask the executor to restart the task;
//   - a replica that cannot be started (its model not fetched, no port)
//     is tried again with the same backoff, staying pending with the reason
//     in its status, rather than failing and being placed again at once.

// portFile holds the port the agent picked for a replica (agent).
const portFile = "port"

// Defaults of a replica's restart policy.
const (
	restartBackoffMin = time.Second
	restartBackoffMax = time.Minute
	restartResetAfter = 10 * time.Minute
)

// readinessPoll is how often a replica that has not answered since its
// last start is checked.
const readinessPoll = 250 * time.Millisecond

// pickPort chooses a port of the service range for alloc: one no replica
// of this node holds and that can be bound now. It prefers a port no
// stopped replica's connections still linger on (TIME_WAIT: a program
// that does not set SO_REUSEADDR could not listen there for a minute),
// and takes one that only such a program would be refused when there is
// no other. The search starts at a place that depends on the node, so
// agents sharing a host (tests, dev agents) rarely try the same ports
// first.
func (c *Client) pickPort(allocID, host string) (int, error) {
	pr := c.cfg.ServicePorts
	n := pr.Count()
	if n == 0 {
		return 0, errors.New("this node offers no service ports (client { service_ports })")
	}
	h := fnv.New32a()
	h.Write([]byte(c.nodeID))
	start := int(h.Sum32() % uint32(n))
	c.portMu.Lock()
	defer c.portMu.Unlock()
	for _, reuse := range []bool{false, true} {
		for k := range n {
			p := pr.First + (start+k)%n
			if _, taken := c.ports[p]; taken {
				continue
			}
			if !portFree(host, p, reuse) {
				continue // another program holds it (or, first, did a moment ago)
			}
			c.ports[p] = allocID
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port in service_ports %s: %d replicas of this node hold ports, other programs the rest", pr, len(c.ports))
}

// portFree reports whether a program could listen on host:p now: with
// reuse, one that sets SO_REUSEADDR (as Go, Python's http.server and most
// servers do); without, any program. Go sets it on every listener, so it is
// cleared for the second kind of probe.
func portFree(host string, p int, reuse bool) bool {
	lc := net.ListenConfig{}
	if !reuse {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 0)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, strconv.Itoa(p)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// holdPort records a port an earlier agent picked for alloc.
func (c *Client) holdPort(allocID string, p int) {
	c.portMu.Lock()
	c.ports[p] = allocID
	c.portMu.Unlock()
}

// releasePort frees alloc's port.
func (c *Client) releasePort(allocID string) {
	c.portMu.Lock()
	defer c.portMu.Unlock()
	for p, id := range c.ports {
		if id == allocID {
			delete(c.ports, p)
		}
	}
}

// serviceHost is the address replicas are reached at: the host of the
// agent's advertised HTTP address.
func (c *Client) serviceHost() string {
	addr := c.cfg.HTTPAddr
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return host
}

// servicePort reads or picks the replica's port, and keeps it in the alloc
// dir (an agent restarted later finds it there).
func (r *allocRunner) servicePort() (int, error) {
	if b, err := os.ReadFile(r.dir.path(portFile)); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
			r.c.holdPort(r.alloc.ID, p)
			return p, nil
		}
	}
	p, err := r.c.pickPort(r.alloc.ID, r.c.serviceHost())
	if err != nil {
		return 0, err
	}
	if err := executor.WriteFileAtomic(r.dir.path(portFile), []byte(strconv.Itoa(p)+"\n")); err != nil {
		r.c.releasePort(r.alloc.ID)
		return 0, err
	}
	return p, nil
}

// serviceExecSpec is the executor's restart policy for a replica.
func serviceExecSpec(s *structs.ServiceSpec) *executor.RestartPolicy {
	return &executor.RestartPolicy{
		BackoffMin: structs.Duration(restartBackoffMin), BackoffMax: structs.Duration(restartBackoffMax),
		ResetAfter: structs.Duration(restartResetAfter), ShutdownDelay: s.ShutdownDelay,
	}
}

// replicaState is what the agent knows of a running replica.
type replicaState struct {
	port    int
	address string
	health  structs.ReplicaHealth
}

// serviceSpec is the service block of the allocation's job, or nil.
func (r *allocRunner) serviceSpec() *structs.ServiceSpec {
	if j := r.alloc.Job; j != nil && j.IsService() && j.Service != nil {
		return j.Service
	}
	return nil
}

// setHealth records a check's result and reports a change.
func (r *allocRunner) setHealth(err error) {
	r.mu.Lock()
	h := &r.replica.health
	changed := false
	switch {
	case err == nil && (!h.Healthy || h.HealthError != ""):
		h.Healthy, h.HealthError, changed = true, "", true
	case err != nil && (h.Healthy || h.HealthError != err.Error()):
		if h.Healthy {
			h.Since = time.Now()
		}
		h.Healthy, h.HealthError, changed = false, err.Error(), true
	}
	if changed && err == nil {
		h.Since = time.Now()
	}
	r.mu.Unlock()
	if changed {
		r.logger.Info("replica health changed", "healthy", err == nil, "error", errString(err))
		r.c.updater.post(r.update(structs.ClientStatusFields{Status: structs.AllocRunning}))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// readRestarts takes the executor's restart record into the replica's
// state and reports a change; it returns when the current run began.
func (r *allocRunner) readRestarts() time.Time {
	rec, err := executor.Dir(r.dir).ReadRestarts()
	if err != nil {
		return time.Time{}
	}
	r.mu.Lock()
	h := &r.replica.health
	changed := rec.Restarts != h.Restarts || rec.LastExit != h.LastExit
	if changed {
		h.Restarts, h.LastExit = rec.Restarts, rec.LastExit
		// The process that answered is gone: no traffic until the next
		// one answers.
		if h.Healthy {
			h.Healthy, h.Since = false, time.Now()
		}
		h.HealthError = "restarting after " + rec.LastExit
	}
	r.mu.Unlock()
	if changed {
		r.logger.Info("replica restarted", "restarts", rec.Restarts, "last_exit", rec.LastExit)
		r.c.updater.post(r.update(structs.ClientStatusFields{Status: structs.AllocRunning}))
	}
	return rec.RunStart
}

// requestRestart asks the executor to restart the task.
func (r *allocRunner) requestRestart(why string) {
	if err := executor.WriteFileAtomic(r.dir.path(executor.RestartFile), []byte(why+"\n")); err != nil {
		r.logger.Error("request restart", "error", err)
		return
	}
	pid := r.dir.executorPid()
	if pid == 0 {
		return
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		r.logger.Error("signal executor to restart", "pid", pid, "error", err)
	}
}

// healthLoop checks the replica until its executor is gone or a stop was
// asked for.
func (r *allocRunner) healthLoop(ctx context.Context, svc *structs.ServiceSpec) {
	r.mu.Lock()
	addr := r.replica.address
	r.mu.Unlock()
	hc := healthClient(svc.Health.Timeout.D())
	defer hc.CloseIdleConnections()
	target := "http://" + addr + svc.Health.Path
	fails := 0
	answered := false // since the current run began
	var runStart time.Time
	t := time.NewTimer(readinessPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.exited:
			return
		case <-t.C:
		}
		r.mu.Lock()
		stopped := r.stopped
		r.mu.Unlock()
		if stopped {
			return
		}
		rs := r.readRestarts()
		if rs.IsZero() { // the first run, before the executor's first record
			r.mu.Lock()
			rs = r.startTime
			r.mu.Unlock()
		}
		if !rs.Equal(runStart) {
			runStart, answered, fails = rs, false, 0
		}
		err := checkHealth(ctx, hc, target)
		// One connection per check, closed by this side: a replica that
		// stopped accepting must not look alive through an old connection,
		// and the check's closed connections must not linger on the
		// replica's port (TIME_WAIT stays with whoever closes first).
		hc.CloseIdleConnections()
		if ctx.Err() != nil {
			return
		}
		r.setHealth(err)
		next := svc.Health.Interval.D()
		switch {
		case err == nil:
			answered, fails = true, 0
		case !runStart.IsZero() && time.Since(runStart) < svc.Health.Grace.D():
			// Starting: failures do not count yet.
		default:
			fails++
			if fails >= svc.UnhealthyAfter {
				r.requestRestart(fmt.Sprintf("unhealthy: %d failed checks: %v", fails, err))
				fails, answered = 0, false
			}
		}
		if !answered {
			next = min(next, readinessPoll)
		}
		t.Reset(next)
	}
}

// healthClient is the HTTP client of a replica's health checks. It never
// follows a redirect: the check is the agent's (root, on the node's
// network), the replica is a user's program, and a redirect would make
// the agent send requests wherever the replica says (the node's own
// services, a cloud metadata endpoint). A 3xx answer is healthy as it is.
func healthClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// checkHealth is one health check: a 2xx or 3xx answer in time.
func checkHealth(ctx context.Context, hc *http.Client, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "nai-health-check")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("GET %s: no answer within %s", req.URL.Path, hc.Timeout)
		}
		return fmt.Errorf("GET %s: %v", req.URL.Path, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s answered %s", req.URL.Path, resp.Status)
	}
	return nil
}

// startService starts a replica, trying again with backoff while it cannot
// be started; it reports false when a stop (or ctx) ended the attempts,
// having reported the end.
func (r *allocRunner) startService(ctx context.Context) bool {
	b := newBackoff(restartBackoffMin, restartBackoffMax)
	for {
		err := r.start()
		if err == nil {
			return true
		}
		r.cleanupCgroup()
		d := b.cur
		r.logger.Error("cannot start service replica; trying again", "error", err, "in", d)
		r.c.updater.post(&structs.AllocUpdate{AllocID: r.alloc.ID, Client: structs.ClientStatusFields{
			Status: structs.AllocPending, Message: fmt.Sprintf("start failed: %v; trying again in %s", err, d),
		}})
		select {
		case <-ctx.Done():
			return false
		case <-r.stopCh:
			r.report(ctx, r.startFailed(fmt.Errorf("stopped while the start was retried: %w", err)))
			return false
		case <-time.After(d):
			b.cur = min(b.cur*2, b.max)
		}
	}
}

// outputServe is the serve command a batch job's outputs carry: a
// serve.py at their top, run with python3. A symlink does not count: the
// output dir is the task user's, and the root agent follows nothing there
// (a link would say whether its target exists; the outputs carry it as a
// link anyway, not as the file).
func outputServe(outputDir string) []string {
	if fi, err := os.Lstat(filepath.Join(outputDir, "serve.py")); err == nil && fi.Mode().IsRegular() {
		return []string{"python3", "serve.py"}
	}
	return nil
}
