package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// upgradeFrom is the release the rolling upgrade test starts from: the
// main line's last commit before PlanApply version 2 (raft log format 2),
// whose servers read only format 1 and advertise none. NAI_UPGRADE_FROM
// names another revision. Move it forward when a new log format comes.
const upgradeFrom = "cda35db"

// The rolling upgrade of docs/operations.md, under submissions: a cluster
// of three servers and a client of the previous release, upgraded one
// server at a time to the binary under test, then the client. On the way
// an upgraded server leads while two old ones follow (it must write only
// entries they read, or they stop). Every submission that got a success
// answer exists at the end and completes; no server stops on its own.
//
// NAI_LONG=1 (make test-long): it builds the old release from git.
func TestLongRollingUpgrade(t *testing.T) {
	if os.Getenv("NAI_LONG") == "" {
		t.Skip("long test: set NAI_LONG=1 (make test-long)")
	}
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	rev := upgradeFrom
	if r := os.Getenv("NAI_UPGRADE_FROM"); r != "" {
		rev = r
	}
	old := buildRevision(t, rev)

	// The old cluster, on ports that survive restarts, without ACLs (the
	// harness's default), so that the same flags serve both binaries.
	servers := make([]*clusterAgent, 3)
	flags := make([][]string, 3)
	join := ""
	for i := range servers {
		f := []string{"-server", "-bootstrap-expect", "3", "-node-down-grace", clusterGrace}
		if join != "" {
			f = append(f, "-join", join)
		}
		s := startClusterAgentBin(t, old, fmt.Sprintf("s%d", i+1), t.TempDir(), f...)
		if join == "" {
			join = s.serf
		}
		servers[i] = s
		flags[i] = f
	}
	client := startClusterAgentBin(t, old, "c1", t.TempDir(), "-client", "-dev-gpus", "2", "-join", join)
	c := &testCluster{t: t, servers: servers, clients: []*clusterAgent{client}}
	waitFor(t, 90*time.Second, "the old cluster has a leader and its client", func() bool {
		if c.leader() == nil {
			return false
		}
		nodes, err := servers[0].api().Nodes(context.Background())
		return err == nil && len(nodes) == 1 && nodes[0].Status == structs.NodeReady
	})
	// Fixed ports from now on: a restarted server keeps its addresses,
	// and NAI_ADDR below stays right.
	var addrs []string
	for i, s := range servers {
		self, err := s.self()
		if err != nil {
			t.Fatal(err)
		}
		flags[i] = append(flags[i], "-http-port", port(s.addr), "-serf-port", port(s.serf), "-raft-port", port(self.RaftAddr))
		addrs = append(addrs, s.addr)
	}
	clientFlags := []string{"-client", "-dev-gpus", "2", "-join", join, "-http-port", port(client.addr), "-serf-port", port(client.serf)}

	// Submissions all along, through every server's address: the API
	// client moves on when the one it uses is down.
	runs := filepath.Join(t.TempDir(), "runs")
	sub := startSubmitter(t, strings.Join(addrs, ","), runs)

	upgrade := func(i int) {
		t.Helper()
		s := c.servers[i]
		t.Logf("upgrading %s", s.name)
		s.cont()
		s.signal(syscall.SIGTERM) // stop without leaving: it stays a voter
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop within 30s of SIGTERM", s.name)
		}
		n := startClusterAgent(t, s.name, s.dataDir, flags[i]...)
		c.servers[i] = n
		c.waitConverged(c.servers, 90*time.Second)
	}
	checkAlive := func(when string) {
		t.Helper()
		for _, s := range append(append([]*clusterAgent{}, c.servers...), c.clients...) {
			select {
			case <-s.done:
				t.Fatalf("%s stopped %s:\n%s", s.name, when, s.logs.String())
			default:
			}
		}
	}
	sub.waitMore(t, 10)

	var first int
	waitFor(t, 30*time.Second, "a leader", func() bool { return c.leader() != nil })
	for i, s := range c.servers {
		if s != c.leader() {
			first = i
			break
		}
	}
	upgrade(first)
	sub.waitMore(t, 10)
	checkAlive("after the first server was upgraded")

	// The upgraded server takes the lead while the two old ones follow.
	// Raft (with pre-vote, as both versions run it) elects only a
	// candidate whose log is at least as long as its voters', and a
	// follower votes for nobody while it still knows a leader; a
	// candidate's failed pre-votes do not raise its term. Pausing the
	// leader and the old follower together, as this test first did, let
	// the follower win as soon as it resumed (whichever server forgets the
	// leader first campaigns, and the other one votes for it) in half the
	// runs. So: the old follower pauses first, the leader goes on
	// committing with the new server alone until the new server's log is
	// past the follower's, then the leader pauses too. The resumed follower
	// cannot win (the new server refuses a shorter log) and, once it has
	// forgotten the leader, votes for the new server. The old leader
	// resumes last and follows.
	newLeader := c.servers[first]
	for try := 0; c.leader() != newLeader; try++ {
		if try == 5 {
			t.Fatalf("the upgraded server %s did not become leader", newLeader.name)
		}
		leader := c.leader()
		if leader == nil {
			waitFor(t, 30*time.Second, "one leader", func() bool { return c.leader() != nil })
			continue
		}
		var follower *clusterAgent
		for _, s := range c.servers {
			if s != newLeader && s != leader {
				follower = s
			}
		}
		fs, err := follower.self()
		if err != nil {
			t.Fatalf("%s: %v", follower.name, err)
		}
		follower.signal(syscall.SIGSTOP)
		// A few entries may reach the follower between its answer and the
		// signal; five more on the new server are past them.
		waitFor(t, 60*time.Second, newLeader.name+"'s log passes the paused "+follower.name+"'s", func() bool {
			self, err := newLeader.self()
			return err == nil && self.RaftLastIndex >= fs.RaftLastIndex+5
		})
		leader.signal(syscall.SIGSTOP)
		waitFor(t, 30*time.Second, newLeader.name+" campaigns", func() bool {
			self, err := newLeader.self()
			return err == nil && self.RaftState == "Candidate"
		})
		follower.cont()
		waitFor(t, 30*time.Second, "an election", func() bool {
			self, err := newLeader.self()
			return err == nil && self.LeaderAddr != ""
		})
		leader.cont()
		waitFor(t, 30*time.Second, "one leader", func() bool { return c.leader() != nil })
	}
	t.Logf("%s (new) leads %s and %s (old)", newLeader.name, c.others(newLeader)[0].name, c.others(newLeader)[1].name)
	// The old servers' format: 1 for a release before formats (which
	// says none), else the one it says (NAI_UPGRADE_FROM of a later one).
	want := max(1, raftStats(t, c.others(newLeader)[0]).LogFormat)
	if f := clusterLogFormat(t, newLeader); f != want {
		t.Errorf("the new leader writes log format %d with old servers in the cluster, want %d", f, want)
	}
	sub.waitMore(t, 20) // plans written by the new leader, applied by the old servers
	c.waitConverged(c.servers, 90*time.Second)
	checkAlive("while an upgraded server led old ones")

	for i := range c.servers {
		if i != first {
			upgrade(i)
			sub.waitMore(t, 10)
			checkAlive("during the upgrade")
		}
	}
	var l *clusterAgent
	waitFor(t, 30*time.Second, "a leader writing the newest log format", func() bool {
		l = c.leader()
		return l != nil && clusterLogFormat(t, l) == int(fsm.LogFormat)
	})

	// The client last: its running jobs survive the agent's restart.
	t.Logf("upgrading the client")
	client.signal(syscall.SIGTERM)
	<-client.done
	c.clients[0] = startClusterAgent(t, "c1", client.dataDir, clientFlags...)
	sub.waitMore(t, 10)
	accepted, failed := sub.stop()
	checkAlive("after the upgrade")
	t.Logf("%d submissions accepted, %d failed (no success answer: allowed)", len(accepted), failed)

	// Nothing lost: every accepted job exists and completes.
	var jobs []*structs.Job
	waitFor(t, 180*time.Second, "every accepted job completes", func() bool {
		js, _, err := l.staleJobs()
		if err != nil {
			return false
		}
		jobs = js
		done := 0
		for _, j := range js {
			if j.Status.Terminal() && j.Status != structs.JobComplete {
				t.Fatalf("job %s (%s) ended %s: %s", j.ID, j.Name, j.Status, j.ExitReason)
			}
			if j.Status == structs.JobComplete {
				done++
			}
		}
		return done == len(js) && len(js) >= len(accepted)
	})
	byID := map[string]*structs.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	ran := readRuns(t, runs)
	for id, name := range accepted {
		j := byID[id]
		if j == nil || j.Name != name {
			t.Errorf("accepted submission %s (job %s) is missing", name, id)
			continue
		}
		if ran[id+" "+fmt.Sprint(j.Attempt)] == 0 {
			t.Errorf("job %s (%s) is complete but never ran", id, name)
		}
	}
	c.waitConverged(c.servers, 90*time.Second)
}

// clusterLogFormat is the raft log format a leader writes (GET
// /v1/agent/raft of the binary under test).
func clusterLogFormat(t *testing.T, a *clusterAgent) int {
	t.Helper()
	return raftStats(t, a).ClusterLogFormat
}

// raftStats is an agent's /v1/agent/raft; zero when it does not answer
// (a release without the route).
func raftStats(t *testing.T, a *clusterAgent) structs.RaftStats {
	t.Helper()
	var st structs.RaftStats
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.addr+"/v1/agent/raft", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return structs.RaftStats{}
	}
	return st
}

// buildRevision builds nai as it was at rev, from `git archive` (no
// worktree is registered in the repository), once per test binary run.
func buildRevision(t *testing.T, rev string) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("needs git to build the previous release")
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(file))
	if out, err := exec.Command(git, "-C", repo, "rev-parse", "--verify", rev+"^{commit}").CombinedOutput(); err != nil {
		t.Skipf("revision %s is not in this checkout (a shallow clone?): %s", rev, out)
	}
	src := t.TempDir()
	archive := exec.Command("sh", "-c", `"$0" -C "$1" archive "$2" | tar -x -C "$3"`, git, repo, rev, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s: %v\n%s", rev, err, out)
	}
	bin := filepath.Join(t.TempDir(), "nai-"+rev)
	build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", bin, "./cmd/nai")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_CFLAGS=-O2 -g -Wno-deprecated-declarations")
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build nai %s: %v\n%s", rev, err, out)
	}
	t.Logf("built nai %s in %s", rev, time.Since(start).Round(time.Second))
	return bin
}

// submitter submits short jobs continuously and remembers those that got
// a success answer.
type submitter struct {
	mu       sync.Mutex
	accepted map[string]string // job id -> name
	failed   int
	stopCh   chan struct{}
	done     chan struct{}
}

func startSubmitter(t *testing.T, addrs, runs string) *submitter {
	t.Helper()
	cl, err := api.New(api.Config{Address: addrs})
	if err != nil {
		t.Fatal(err)
	}
	s := &submitter{accepted: map[string]string{}, stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for i := 0; ; i++ {
			select {
			case <-s.stopCh:
				return
			case <-time.After(200 * time.Millisecond):
			}
			name := fmt.Sprintf("up-%04d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			resp, err := cl.Register(ctx, shellJob(name, runs, "true"))
			cancel()
			s.mu.Lock()
			if err != nil {
				s.failed++
			} else {
				s.accepted[resp.JobIDs[0]] = name
			}
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { s.stop() })
	return s
}

// waitMore waits until n more submissions were accepted.
func (s *submitter) waitMore(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	target := len(s.accepted) + n
	s.mu.Unlock()
	waitFor(t, 120*time.Second, fmt.Sprintf("%d more accepted submissions", n), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.accepted) >= target
	})
}

// stop ends the submissions and returns what was accepted.
func (s *submitter) stop() (map[string]string, int) {
	select {
	case <-s.stopCh:
	default:
		close(s.stopCh)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.failed
}
