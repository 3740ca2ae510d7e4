package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// Three servers and two clients form a cluster from one join address each;
// the CLI sees it from any agent.
func TestClusterForms(t *testing.T) {
	c := startCluster(t, 3, 2)
	s := c.servers[1]
	waitFor(t, 30*time.Second, "every agent sees five alive members", func() bool {
		for _, a := range append(c.servers, c.clients...) {
			ms, err := a.api().Members(context.Background())
			alive := 0
			for _, m := range ms {
				if m.Status == "alive" {
					alive++
				}
			}
			if err != nil || alive != 5 {
				return false
			}
		}
		return true
	})
	var members []structs.AgentMember
	if err := json.Unmarshal([]byte(s.mustNai("server", "members", "-json")), &members); err != nil {
		t.Fatal(err)
	}
	leaders := 0
	for _, m := range members {
		if m.Status != "alive" || m.Role != "server" {
			t.Errorf("member %+v: want an alive server", m)
		}
		if m.Leader {
			leaders++
		}
	}
	if len(members) != 3 || leaders != 1 {
		t.Fatalf("nai server members: %d members, %d leaders; want 3 and 1", len(members), leaders)
	}
	if out := s.mustNai("server", "members", "-all"); strings.Count(out, "alive") != 5 {
		t.Errorf("nai server members -all does not show 5 alive agents:\n%s", out)
	}
	peers, err := c.clients[0].api().RaftConfiguration(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 3 {
		t.Errorf("raft peers through a client agent: %+v", peers)
	}
	// Autopilot's view: every server alive, answering and caught up.
	waitFor(t, 30*time.Second, "list-peers shows three healthy servers", func() bool {
		peers, err := s.api().RaftConfiguration(context.Background())
		healthy := 0
		for _, p := range peers {
			if p.Healthy && p.SerfStatus == "alive" && p.Version != "" && p.LogFormat > 0 {
				healthy++
			}
		}
		return err == nil && healthy == 3
	})
	if out := s.mustNai("operator", "raft", "list-peers"); strings.Count(out, "true") != 3 || strings.Count(out, "  leader  ") != 1 || strings.Count(out, "healthy") != 3 {
		t.Errorf("nai operator raft list-peers does not show 3 healthy voters and a leader:\n%s", out)
	}
	info := c.clients[1].mustNai("agent-info")
	if !strings.Contains(info, "Role:       client") || !strings.Contains(info, "Problems:   none") {
		t.Errorf("agent-info of a healthy client:\n%s", info)
	}
	// A job submitted through a client agent runs.
	runs := filepath.Join(t.TempDir(), "runs")
	resp, err := c.clients[0].api().Register(context.Background(), shellJob("hello", runs, "true"))
	if err != nil {
		t.Fatal(err)
	}
	if j := c.clients[0].waitJob(resp.JobIDs[0], 60*time.Second); j.Status != structs.JobComplete {
		t.Fatalf("job through a client agent ended %s (%s)", j.Status, j.ExitReason)
	}
	// A drain through any server reaches the leader, which completes it.
	for _, srv := range c.servers {
		srv.mustNai("node", "drain", "-deadline", "0", "c1")
		waitFor(t, 30*time.Second, "c1's drain completes", func() bool {
			n, err := c.servers[2].api().Node(context.Background(), "c1")
			return err == nil && !n.Drain && !n.Eligible
		})
		if out := srv.mustNai("node", "eligibility", "-enable", "c1"); !strings.Contains(out, "is eligible") {
			t.Errorf("nai node eligibility -enable through %s: %q", srv.name, out)
		}
	}
}

// Kill -9 the leader during a stream of submissions: a new leader is
// elected, every submission that got a success answer exists exactly once,
// every job completes once, and the killed server, restarted, catches up.
func TestClusterLeaderKilledDuringSubmissions(t *testing.T) {
	testLeaderKill(t, 200, 1)
}

// The soak variant: several leader kills under a longer stream.
func TestClusterSoakLeaderKillsLong(t *testing.T) {
	if os.Getenv("NAI_LONG") != "1" {
		t.Skip("soak test: set NAI_LONG=1 (make test-long)")
	}
	testLeaderKill(t, 1000, 3)
}

func testLeaderKill(t *testing.T, submissions, kills int) {
	c := startCluster(t, 3, 2)
	runs := filepath.Join(t.TempDir(), "runs")
	ctx := context.Background()
	accepted := map[string]string{} // job id -> submission name
	failed := 0
	killAt := map[int]bool{}
	for k := range kills {
		killAt[(k+1)*submissions/(kills+2)] = true
	}
	var dead *clusterAgent
	var deadPorts []string
	for i := range submissions {
		if killAt[i] {
			if dead != nil {
				// One server down at a time: the restarted one must be
				// a caught-up voter before the next kill.
				c.restart(dead, deadPorts)
				c.waitConverged(c.servers, 60*time.Second)
			}
			var l *clusterAgent
			waitFor(t, 30*time.Second, "a leader before the kill", func() bool { l = c.leader(); return l != nil })
			self, err := l.self()
			if err != nil {
				t.Fatal(err)
			}
			deadPorts = []string{"-serf-port", port(l.serf), "-raft-port", port(self.RaftAddr)}
			t.Logf("submission %d: killing leader %s", i, l.name)
			l.kill()
			dead = l
		}
		alive := c.others(dead)
		s := alive[rand.IntN(len(alive))]
		name := fmt.Sprintf("sub-%04d", i)
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		resp, err := s.api().Register(rctx, shellJob(name, runs, "true"))
		cancel()
		if err != nil {
			failed++
			t.Logf("submission %s through %s failed (allowed: no success answer): %v", name, s.name, err)
			continue
		}
		accepted[resp.JobIDs[0]] = name
	}
	if failed > submissions/10 {
		t.Errorf("%d of %d submissions failed: the cluster was unavailable too long", failed, submissions)
	}
	survivors := c.others(dead)
	waitFor(t, 30*time.Second, "a new leader", func() bool { l := c.leader(); return l != nil && l != dead })

	// Every job ends complete, and each accepted one exists exactly once.
	var jobs []*structs.Job
	waitFor(t, 180*time.Second, "every job completes", func() bool {
		js, _, err := survivors[0].staleJobs()
		if err != nil {
			return false
		}
		jobs = js
		for _, j := range js {
			if j.Status.Terminal() && j.Status != structs.JobComplete {
				t.Fatalf("job %s (%s) ended %s: %s", j.ID, j.Name, j.Status, j.ExitReason)
			}
			if j.Status != structs.JobComplete {
				return false
			}
		}
		return len(js) >= len(accepted)
	})
	byName := map[string]int{}
	ids := map[string]bool{}
	for _, j := range jobs {
		byName[j.Name]++
		ids[j.ID] = true
	}
	for id, name := range accepted {
		if !ids[id] {
			t.Errorf("accepted submission %s (job %s) is missing", name, id)
		}
		if byName[name] != 1 {
			t.Errorf("submission %s exists %d times", name, byName[name])
		}
	}
	// None ran twice.
	ran := readRuns(t, runs)
	for _, j := range jobs {
		if n := ran[j.ID+" 1"]; n != 1 || j.Attempt != 1 {
			t.Errorf("job %s (%s) ran %d times at attempt 1, attempts %d", j.ID, j.Name, n, j.Attempt)
		}
	}
	if len(ran) != len(jobs) {
		t.Errorf("runs file names %d job attempts for %d jobs", len(ran), len(jobs))
	}

	// The killed server, restarted on its serf port, catches up.
	c.restart(dead, deadPorts)
	c.waitConverged(c.servers, 60*time.Second)
	t.Logf("%d submissions, %d accepted, %d failed, %d jobs", submissions, len(accepted), failed, len(jobs))
}

// restart starts a killed server again with its data dir and its serf
// and raft ports, as a restarted machine would.
func (c *testCluster) restart(dead *clusterAgent, ports []string) *clusterAgent {
	c.t.Helper()
	join := c.others(dead)[0].serf
	flags := append([]string{"-server", "-bootstrap-expect", fmt.Sprint(len(c.servers)),
		"-node-down-grace", clusterGrace, "-join", join}, ports...)
	n := startClusterAgent(c.t, dead.name, dead.dataDir, flags...)
	for i, s := range c.servers {
		if s == dead {
			c.servers[i] = n
		}
	}
	return n
}

// port is the port of host:port.
func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

// A client killed with jobs running: after the grace its node is down and
// its jobs are requeued (their retry policy allows node-lost) and complete
// on the other client. Its executors outlive it (they run in their own
// sessions), so when the client comes back with the same data dir it must
// kill the processes of the lost allocations rather than re-attach to them
// and report them: each job completes exactly once.
func TestClusterClientLost(t *testing.T) {
	c := startCluster(t, 1, 2, "-node-down-grace", lostGrace)
	s := c.servers[0]
	dir := t.TempDir()
	runs, pids, done, release := filepath.Join(dir, "runs"), filepath.Join(dir, "pids"), filepath.Join(dir, "done"), filepath.Join(dir, "release")
	if err := os.Mkdir(release, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A job holds until the test releases its node, so the lost attempts
	// are still running when their client comes back.
	script := `echo "$NAI_JOB_ID $NAI_ATTEMPT $$" >> ` + pids + `; while [ ! -e ` + release + `/"$NAI_NODE_NAME" ]; do sleep 0.1; done; ` +
		`echo "$NAI_JOB_ID $NAI_ATTEMPT" >> ` + done
	var ids []string
	for i := range 4 {
		j := shellJob(fmt.Sprintf("long-%d", i), runs, script)
		j.Retry = &structs.RetryPolicy{Attempts: 2, On: []string{"node-lost"}}
		resp, err := s.api().Register(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.JobIDs[0])
	}
	var victim string
	waitFor(t, 60*time.Second, "every job runs", func() bool {
		for _, id := range ids {
			j, _, err := s.api().Job(ctx, id)
			if err != nil || j.Status != structs.JobRunning {
				return false
			}
			victim = j.NodeName
		}
		return len(readRuns(t, pids)) == len(ids)
	})
	var onVictim []string
	for _, id := range ids {
		if j, _, _ := s.api().Job(ctx, id); j.NodeName == victim {
			onVictim = append(onVictim, id)
		}
	}
	var dead *clusterAgent
	for _, cl := range c.clients {
		if cl.name == victim {
			t.Logf("killing client %s running %v", victim, onVictim)
			cl.kill()
			dead = cl
		} else {
			writeFile(t, release, cl.name, "")
		}
	}
	stale := lostPids(t, pids, onVictim)
	waitFor(t, 30*time.Second, "the killed client's node is down", func() bool {
		n, err := s.api().Node(ctx, victim)
		return err == nil && n.Status == structs.NodeDown
	})
	for _, id := range onVictim {
		j := s.waitJob(id, 90*time.Second)
		if j.Status != structs.JobComplete || j.Attempt != 2 || j.NodeName == victim {
			t.Errorf("job %s on the lost node ended %s at attempt %d on %s; want complete, attempt 2, elsewhere", id, j.Status, j.Attempt, j.NodeName)
		}
	}
	for _, pid := range stale {
		if !alive(pid) {
			t.Fatalf("process %d of a lost allocation died with its client; the test needs it to outlive the agent", pid)
		}
	}

	// The client comes back: its node is ready again, and the processes of
	// the lost allocations are killed, not re-attached.
	startClusterAgent(t, dead.name, dead.dataDir, "-client", "-dev-gpus", "2", "-join", s.serf)
	waitFor(t, 30*time.Second, "the returning client's node is ready", func() bool {
		n, err := s.api().Node(ctx, victim)
		return err == nil && n.Status == structs.NodeReady
	})
	waitFor(t, 30*time.Second, "the returning client kills the processes of its lost allocations", func() bool {
		for _, pid := range stale {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	// Even released now, a lost attempt has nothing left to complete.
	writeFile(t, release, victim, "")
	for _, id := range onVictim {
		allocs, err := s.api().JobAllocations(ctx, id)
		if err != nil || len(allocs) != 2 || allocs[0].ClientStatus.Status != structs.AllocLost {
			t.Errorf("allocations of %s: %v, %v; want the first lost and a second", id, allocs, err)
		}
		if j, _, _ := s.api().Job(ctx, id); j.Status != structs.JobComplete || j.Attempt != 2 {
			t.Errorf("job %s became %s at attempt %d after its lost client came back", id, j.Status, j.Attempt)
		}
	}
	completed := readRuns(t, done)
	for _, id := range ids {
		want := map[string]int{id + " 1": 1}
		if slices.Contains(onVictim, id) {
			want = map[string]int{id + " 2": 1}
		}
		for k, n := range want {
			if completed[k] != n {
				t.Errorf("job %s: %d completed runs of attempt %s, want %d (completed runs: %v)", id, completed[k], k, n, completed)
			}
		}
		if other := completed[id+" 1"] + completed[id+" 2"] + completed[id+" 3"]; other != 1 {
			t.Errorf("job %s completed %d times, want once (completed runs: %v)", id, other, completed)
		}
	}
}

// lostPids are the shell pids that the first attempts of jobs wrote.
func lostPids(t *testing.T, path string, jobs []string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == "1" && slices.Contains(jobs, f[0]) {
			pid, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("pids line %q: %v", line, err)
			}
			out = append(out, pid)
		}
	}
	if len(out) != len(jobs) {
		t.Fatalf("found %d pids of lost attempts in %q, want %d", len(out), b, len(jobs))
	}
	return out
}

// A stopped (SIGSTOP) leader is a minority: it cannot accept writes, the
// majority elects a leader and can; after SIGCONT there is one history.
func TestClusterMinorityStopped(t *testing.T) {
	c := startCluster(t, 3, 0)
	ctx := context.Background()
	old := c.leader()
	runs := filepath.Join(t.TempDir(), "runs")
	before, err := old.api().Register(ctx, shellJob("before", runs, "true"))
	if err != nil {
		t.Fatal(err)
	}
	old.signal(syscall.SIGSTOP)
	majority := c.others(old)
	waitFor(t, 30*time.Second, "the majority elects a new leader", func() bool {
		for _, s := range majority {
			if self, err := s.self(); err == nil && self.Leader {
				return true
			}
		}
		return false
	})
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	r, err := old.api().Register(rctx, shellJob("minority", runs, "true"))
	cancel()
	if err == nil {
		t.Fatalf("the stopped minority accepted a write: %+v", r)
	}
	var accepted []string
	for i, s := range majority {
		r, err := s.api().Register(ctx, shellJob(fmt.Sprintf("majority-%d", i), runs, "true"))
		if err != nil {
			t.Fatalf("majority server %s refused a write: %v", s.name, err)
		}
		accepted = append(accepted, r.JobIDs...)
	}
	old.cont()
	jobs := c.waitConverged(c.servers, 60*time.Second)
	ids := map[string]bool{}
	for _, j := range jobs {
		ids[j.ID] = true
	}
	for _, id := range append(accepted, before.JobIDs...) {
		if !ids[id] {
			t.Errorf("accepted job %s is missing after healing", id)
		}
	}
	leaders := 0
	for _, s := range c.servers {
		if self, err := s.self(); err == nil && self.Leader {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders after healing, want 1", leaders)
	}
}
