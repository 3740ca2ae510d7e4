package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// benchFailover kills the raft leader of a three-server cluster with
// SIGKILL five times while four submitters write without pause through an
// API client that knows every server (NAI_ADDR with three addresses). Each
// figure is the time from the kill to the first write accepted among those
// sent after it; the killed server is restarted and caught up before the
// next kill. At the end every accepted job must exist on every server, and
// the leader must have changed only at the kills.
func benchFailover(t *testing.T, b *bench) {
	load := startLoad()
	d, lost, elections := measureFailover(t, 5)
	med := medianDur(d)
	nai := fmt.Sprintf("%.0f ms median (%s; %d lost; %d leader changes for 5 kills)", ms(med), durList(d), lost, elections)
	b.rep.add(benchRow{figure: "leader kill -9 -> next write accepted (3 servers, 5 kills)", target: "<= 1 s, nothing lost",
		nai: nai, met: yesNo(med <= time.Second && lost == 0), load: load.String()})
}

func durList(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%.0f", ms(d)))
	}
	return strings.Join(s, ", ") + " ms"
}

// submission is one write of the failover run.
type submission struct {
	start, end time.Time
	id         string // "" when it failed
}

// measureFailover runs the kills and returns the failover times, how many
// accepted jobs are missing at the end, and how many leader changes the
// servers counted (nai_raft_leader_changes_total of the last leader).
func measureFailover(t *testing.T, kills int, extra ...string) ([]time.Duration, int, int) {
	c := startCluster(t, 3, 0, extra...)
	var addrs []string
	for _, s := range c.servers {
		addrs = append(addrs, s.addr)
	}
	cl, err := api.New(api.Config{Address: strings.Join(addrs, ","), IgnoreEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var subs []submission
	stop := make(chan struct{})
	var wg sync.WaitGroup
	begin := time.Now().Add(24 * time.Hour)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				job := &structs.Job{Name: fmt.Sprintf("fo-%d-%d", w, i), BeginTime: begin,
					Resources: structs.Resources{CPU: 0.1, MemoryBytes: 16 << 20}, Task: structs.Task{Command: "/bin/true"}}
				s := submission{start: time.Now()}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				resp, err := cl.Register(ctx, job)
				cancel()
				s.end = time.Now()
				if err == nil {
					s.id = resp.JobIDs[0]
				} else {
					// A dead server refuses at once; do not spin.
					time.Sleep(5 * time.Millisecond)
				}
				mu.Lock()
				subs = append(subs, s)
				mu.Unlock()
			}
		}()
	}
	// The watch reads its own copy of the server list, which the
	// restarts below replace.
	var smu sync.Mutex
	servers := slices.Clone(c.servers)
	watch := watchLeader(func() []*clusterAgent {
		smu.Lock()
		defer smu.Unlock()
		return servers
	})
	restart := func(dead *clusterAgent, ports []string) {
		c.restart(dead, ports)
		smu.Lock()
		servers = slices.Clone(c.servers)
		smu.Unlock()
	}
	var out []time.Duration
	var dead *clusterAgent
	var deadPorts []string
	for k := range kills {
		if dead != nil {
			restart(dead, deadPorts)
			waitCaughtUp(t, c, dead.name)
		}
		// Writes flow before the kill.
		time.Sleep(500 * time.Millisecond)
		var l *clusterAgent
		waitFor(t, 30*time.Second, "a leader before the kill", func() bool { l = c.leader(); return l != nil })
		self, err := l.self()
		if err != nil {
			t.Fatal(err)
		}
		// The same ports on restart, so that the client's three
		// addresses stay those of the three servers.
		deadPorts = []string{"-serf-port", port(l.serf), "-raft-port", port(self.RaftAddr), "-http-port", port(l.addr)}
		killed := time.Now()
		l.kill()
		dead = l
		var took time.Duration
		waitFor(t, 30*time.Second, "a write accepted after the kill", func() bool {
			mu.Lock()
			defer mu.Unlock()
			first := time.Time{}
			for _, s := range subs {
				if s.id != "" && s.start.After(killed) && (first.IsZero() || s.end.Before(first)) {
					first = s.end
				}
			}
			took = first.Sub(killed)
			return !first.IsZero()
		})
		t.Logf("kill %d of %s: next write accepted after %s", k+1, l.name, took)
		out = append(out, took)
	}
	close(stop)
	wg.Wait()
	restart(dead, deadPorts)
	jobs := c.waitConverged(c.servers, 60*time.Second)
	have := map[string]bool{}
	for _, j := range jobs {
		have[j.ID] = true
	}
	lost, accepted := 0, 0
	for _, s := range subs {
		if s.id == "" {
			continue
		}
		accepted++
		if !have[s.id] {
			lost++
			t.Errorf("accepted job %s is missing after the failovers", s.id)
		}
	}
	t.Logf("%d writes, %d accepted, %d jobs in state", len(subs), accepted, len(jobs))
	return out, lost, watch.stop()
}

// waitCaughtUp waits until the restarted server named name has applied
// what the leader had applied when it was asked (writes go on meanwhile).
func waitCaughtUp(t *testing.T, c *testCluster, name string) {
	t.Helper()
	var target uint64
	waitFor(t, 30*time.Second, "the leader's state index", func() bool {
		l := c.leader()
		if l == nil {
			return false
		}
		self, err := l.self()
		if err != nil {
			return false
		}
		target = self.StateIndex
		return true
	})
	waitFor(t, 60*time.Second, name+" catches up", func() bool {
		for _, s := range c.servers {
			if s.name != name {
				continue
			}
			self, err := s.self()
			return err == nil && self.StateIndex >= target
		}
		return false
	})
}

// leaderWatch counts the changes of leader a cluster goes through, by
// asking every server every 50 ms which of them leads.
type leaderWatch struct {
	stopCh  chan struct{}
	done    chan struct{}
	changes int
}

func watchLeader(servers func() []*clusterAgent) *leaderWatch {
	w := &leaderWatch{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := ""
		for {
			select {
			case <-w.stopCh:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, s := range servers() {
				self, err := s.self()
				if err != nil || !self.Leader {
					continue
				}
				if last != "" && s.name != last {
					w.changes++
				}
				last = s.name
				break
			}
		}
	}()
	return w
}

// stop ends the watch and returns the changes seen.
func (w *leaderWatch) stop() int {
	close(w.stopCh)
	<-w.done
	return w.changes
}
