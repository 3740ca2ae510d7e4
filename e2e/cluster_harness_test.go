package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/testtool"
	"github.com/nai-project/nai/structs"
)

// clusterAgent is one `nai agent` (server, client or both) of a test
// cluster on 127.0.0.1.
type clusterAgent struct {
	*agent
	name string
	serf string // serf host:port, what others join
}

// startClusterAgent starts `nai agent` with the given flags (beyond node
// name, data dir and loopback ports picked by the system) and waits for its
// ready banner.
func startClusterAgent(t *testing.T, name, dataDir string, flags ...string) *clusterAgent {
	t.Helper()
	return startClusterAgentBin(t, naiBin, name, dataDir, flags...)
}

// startClusterAgentBin is startClusterAgent with another nai binary (an
// older release, in the upgrade test).
func startClusterAgentBin(t *testing.T, bin, name, dataDir string, flags ...string) *clusterAgent {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	searchable(t, dataDir)
	args := []string{"agent", "-node-name", name, "-data-dir", dataDir, "-bind-addr", "127.0.0.1",
		"-http-port", "0", "-raft-port", "0", "-serf-port", "0"}
	// Cluster agents turn ACLs on and refuse root tasks by default; the
	// tests of other features run as root without tokens, and say so.
	if !hasFlag(flags, "acl-enabled") {
		args = append(args, "-acl-enabled=false")
	}
	if !hasFlag(flags, "allow-root-tasks") {
		args = append(args, "-allow-root-tasks")
	}
	args = append(args, flags...)
	cmd := exec.Command(bin, args...)
	// Its own process group, so a test can stop (SIGSTOP) the agent alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent %s: %v", name, err)
	}
	a := &clusterAgent{agent: &agent{t: t, cmd: cmd, dataDir: dataDir, logs: &testtool.Buffer{}, done: make(chan struct{})}, name: name}
	type banner struct{ http, serf string }
	ready := make(chan banner, 1)
	go func() {
		var b banner
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(a.logs, line)
			f := strings.Fields(line)
			if len(f) == 2 && f[0] == "http:" {
				b.http = f[1]
			}
			if len(f) == 2 && f[0] == "serf:" {
				b.serf = f[1]
				select {
				case ready <- b:
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
	case b := <-ready:
		a.addr, a.serf = b.http, b.serf
	case <-a.done:
		t.Fatalf("agent %s exited before it was ready:\n%s", name, a.logs.String())
	case <-time.After(60 * time.Second):
		a.kill()
		t.Fatalf("agent %s not ready after 60s:\n%s", name, a.logs.String())
	}
	t.Cleanup(func() {
		a.cont()
		a.stop()
		if t.Failed() {
			t.Logf("agent %s log:\n%s", name, a.logs.String())
		}
	})
	return a
}

// signal sends sig to the agent's process (not its jobs).
func (a *clusterAgent) signal(sig syscall.Signal) {
	select {
	case <-a.done:
	default:
		_ = a.cmd.Process.Signal(sig)
	}
}

func (a *clusterAgent) cont() { a.signal(syscall.SIGCONT) }

// self reads GET /v1/agent/self with a short timeout (a stopped agent does
// not answer).
func (a *clusterAgent) self() (*structs.AgentSelf, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return a.api().AgentSelf(ctx)
}

// problem returns the first problem of the agent whose kind starts with
// kind and whose message contains text, or "".
func (a *clusterAgent) problem(kind, text string) string {
	s, err := a.self()
	if err != nil {
		return ""
	}
	for _, p := range s.Problems {
		if strings.HasPrefix(p.Kind, kind) && strings.Contains(p.Message, text) {
			return p.Message
		}
	}
	return ""
}

// staleJobs lists every job as this server alone knows it (?stale).
func (a *clusterAgent) staleJobs() ([]*structs.Job, uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.addr+"/v1/jobs?all=true&stale", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("list jobs: %s", resp.Status)
	}
	var jobs []*structs.Job
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil {
		return nil, 0, err
	}
	var idx uint64
	fmt.Sscan(resp.Header.Get(api.IndexHeader), &idx)
	return jobs, idx, nil
}

// testCluster is servers and clients formed from one join address each.
type testCluster struct {
	t       *testing.T
	servers []*clusterAgent
	clients []*clusterAgent
}

// clusterGrace is the node_down_grace of test clusters. It is long enough
// that a client which serf suspects for a moment on a loaded 2-core machine
// (five agents and hundreds of jobs at once) is not declared down and its
// jobs lost; the client-loss test asks for lostGrace instead.
const clusterGrace = "15s"

// lostGrace is the grace of the test that loses a client on purpose: short,
// so the loss is noticed in a second or two.
const lostGrace = "1s"

func startCluster(t *testing.T, nServers, nClients int, extra ...string) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	join := ""
	for i := range nServers {
		flags := append([]string{"-server", "-bootstrap-expect", fmt.Sprint(nServers), "-node-down-grace", clusterGrace}, extra...)
		if join != "" {
			flags = append(flags, "-join", join)
		}
		s := startClusterAgent(t, fmt.Sprintf("s%d", i+1), t.TempDir(), flags...)
		if join == "" {
			join = s.serf
		}
		c.servers = append(c.servers, s)
	}
	for i := range nClients {
		flags := append([]string{"-client", "-dev-gpus", "2", "-join", join}, extra...)
		c.clients = append(c.clients, startClusterAgent(t, fmt.Sprintf("c%d", i+1), t.TempDir(), flags...))
	}
	waitFor(t, 60*time.Second, "a leader is elected and every client registers", func() bool {
		if c.leader() == nil {
			return false
		}
		nodes, err := c.servers[0].api().Nodes(context.Background())
		if err != nil || len(nodes) != nClients {
			return false
		}
		for _, n := range nodes {
			if n.Status != structs.NodeReady {
				return false
			}
		}
		return true
	})
	return c
}

// leader is the server that says it leads, nil when none (or two) do.
func (c *testCluster) leader() *clusterAgent {
	var l *clusterAgent
	for _, s := range c.servers {
		self, err := s.self()
		if err != nil || !self.Leader {
			continue
		}
		if l != nil {
			return nil
		}
		l = s
	}
	return l
}

// others are the servers other than x.
func (c *testCluster) others(x *clusterAgent) []*clusterAgent {
	var out []*clusterAgent
	for _, s := range c.servers {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

// waitConverged waits until the servers report the same state index and
// the same jobs, each answering from its own state.
func (c *testCluster) waitConverged(servers []*clusterAgent, timeout time.Duration) []*structs.Job {
	c.t.Helper()
	var jobs []*structs.Job
	waitFor(c.t, timeout, "the servers converge on one state", func() bool {
		var first map[string]structs.JobStatus
		var firstIdx uint64
		for i, s := range servers {
			self, err := s.self()
			if err != nil {
				return false
			}
			js, _, err := s.staleJobs()
			if err != nil {
				return false
			}
			m := map[string]structs.JobStatus{}
			for _, j := range js {
				m[j.ID] = j.Status
			}
			if i == 0 {
				first, firstIdx, jobs = m, self.StateIndex, js
				continue
			}
			if self.StateIndex != firstIdx || len(m) != len(first) {
				return false
			}
			for id, st := range m {
				if first[id] != st {
					return false
				}
			}
		}
		return true
	})
	return jobs
}

// shellJob is a job that records its id and attempt in runs, then runs
// script.
func shellJob(name, runs, script string) *structs.Job {
	return &structs.Job{
		Name:      name,
		Resources: structs.Resources{CPU: 0.1, MemoryBytes: 64 << 20},
		Task: structs.Task{Command: "/bin/sh", Args: []string{"-c",
			`echo "$NAI_JOB_ID $NAI_ATTEMPT $NAI_NODE_NAME" >> ` + runs + "; " + script}},
	}
}

// readRuns counts the lines of a runs file per job id and attempt.
func readRuns(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			out[f[0]+" "+f[1]]++
		}
	}
	return out
}

// hasFlag reports whether flags set -name (as -name, -name=v or --name).
func hasFlag(flags []string, name string) bool {
	for _, f := range flags {
		f = strings.TrimLeft(f, "-")
		if f == name || strings.HasPrefix(f, name+"=") {
			return true
		}
	}
	return false
}
