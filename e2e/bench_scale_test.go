package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
	dto "github.com/prometheus/client_model/go"
)

// benchScale is the load generator of issue 16: three real servers
// (processes, real raft and HTTP) on this machine, and NAI_BENCH_NODES
// (default 1000) simulated GPU nodes of eight GPUs in this test process.
// Each node registers as a client agent does (PUT /v1/client/nodes),
// keeps its allocation long-poll open with one of the servers (the
// client's heartbeat towards the servers: its liveness itself is serf's,
// which the simulated nodes stand outside of, so the servers run with a
// long node_down_grace), and "runs" each allocation it is given for
// NAI_BENCH_RUNTIME (default 2s), reporting it running and then complete
// as a client's updater does (one request in flight per node, reports
// coalesced meanwhile). NAI_BENCH_JOBS (default 100,000) one-GPU jobs are
// submitted in requests of 1000, with at most 12,000 unfinished at a time.
//
// It reports placements per second, the leader's CPU and memory, the p99
// latency of the nodes' reports and of submissions, what 1000 idle nodes
// cost the leader, and the leader's heap once job GC (threshold 1m) has
// removed the finished jobs: after a warm-up of NAI_BENCH_WARMUP (10,000)
// jobs and again after the NAI_BENCH_JOBS more, which is flat when the
// second is no larger than the first.
func benchScale(t *testing.T, b *bench) {
	nNodes := envInt(t, "NAI_BENCH_NODES", 1000)
	nJobs := envInt(t, "NAI_BENCH_JOBS", 100000)
	runtime := 2 * time.Second
	if v := os.Getenv("NAI_BENCH_RUNTIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("NAI_BENCH_RUNTIME=%q: %v", v, err)
		}
		runtime = d
	}
	load := startLoad()
	// -enable-debug: the memory figures force collections through the
	// profiler's heap endpoint (retainedHeap).
	flags := []string{"-node-down-grace", "24h", "-job-gc-threshold", "1m", "-enable-debug"}
	profDir := os.Getenv("NAI_BENCH_PROFILE")
	c := startCluster(t, 3, 0, flags...)
	var l *clusterAgent
	waitFor(t, 30*time.Second, "a leader", func() bool { l = c.leader(); return l != nil })
	lpid := l.cmd.Process.Pid
	leaderAPI := l.api()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The leader's CPU with no node, then with every node registered and
	// polling: what the nodes' heartbeats cost it while nothing happens.
	idleFor := 10 * time.Second
	cpu0 := cpuOf(t, lpid)
	time.Sleep(idleFor)
	bare := cpuOf(t, lpid) - cpu0

	sim := newSimCluster(t, c, nNodes, runtime)
	t0 := time.Now()
	sim.register(ctx)
	registered := time.Since(t0)
	sim.start(ctx)
	time.Sleep(2 * time.Second)
	cpu0 = cpuOf(t, lpid)
	time.Sleep(idleFor)
	polling := cpuOf(t, lpid) - cpu0
	heapIdle := heapInuse(t, l)
	rssIdle := rssOf(t, lpid)

	// Job GC removes finished jobs after a minute; the servers return
	// their memory at most every 10 s after that (server/memory.go).
	afterJobGC := func() (inuse, live int64) {
		t.Helper()
		// Asked for one job and the total, not for every job: a listing
		// of 100,000 jobs would itself leave tens of megabytes of buffers
		// on the leader (encoding/json keeps them for two collections).
		waitFor(t, 5*time.Minute, "job GC removes the finished jobs", func() bool {
			_, total, _, err := leaderAPI.QueuePage(ctx, api.QueueOptions{All: true, Limit: 1})
			return err == nil && total == 0
		})
		time.Sleep(12 * time.Second)
		return heapInuse(t, l), retainedHeap(t, l)
	}
	sub := l.api()
	// submit runs n more one-GPU jobs through the nodes and waits for
	// them. A submission whose leader was lost while it committed may or
	// may not have been written (the API says so); the run goes on without
	// it and waits for the jobs known to be in (expect), reporting how
	// many were in doubt. "Not the leader" answers the client retries.
	const batch = 1000
	expect, doubt := 0, 0
	submit := func(nJobs int) (submitLat []time.Duration) {
		t.Helper()
		for i := 0; i < nJobs; i += batch {
			n := min(batch, nJobs-i)
			// At most 12,000 unfinished jobs: the queue stays short and
			// the figure is the cluster's throughput, not a backlog's.
			for int(sim.done.Load())+12000 < expect+n {
				time.Sleep(10 * time.Millisecond)
			}
			jobs := make([]*structs.Job, n)
			for k := range jobs {
				jobs[k] = &structs.Job{Name: "scale", Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30, GPU: structs.GPURequest{Count: 1}},
					Task: structs.Task{Command: "/bin/true"}}
			}
			s := time.Now()
			if _, err := sub.Register(ctx, jobs...); structs.CodeOf(err) == structs.CodeUnavailable {
				t.Logf("submit jobs %d-%d: %v", i, i+n, err)
				doubt += n
				continue
			} else if err != nil {
				t.Fatalf("submit jobs %d-%d: %v", i, i+n, err)
			}
			expect += n
			submitLat = append(submitLat, time.Since(s))
		}
		waitFor(t, 30*time.Minute, "every job completes", func() bool { return int(sim.done.Load()) >= expect })
		return submitLat
	}

	// A warm-up of NAI_BENCH_WARMUP jobs (default 10,000) fills what is
	// bounded whatever the number of jobs (raft's log cache, connection
	// buffers, the encodings' cache), so that the heap after the main run
	// can be compared with the heap after it: flat means the 100,000 jobs
	// after it left nothing behind.
	nWarm := envInt(t, "NAI_BENCH_WARMUP", 10000)
	submit(nWarm)
	heapWarm, liveWarm := afterJobGC()
	if profDir != "" {
		saveURL(t, l.addr+"/debug/pprof/heap", filepath.Join(profDir, "scale-leader-heap-after-warmup.pprof"))
	}
	sim.resetCounts()

	// The load: nJobs one-GPU jobs.
	cpu0 = cpuOf(t, lpid)
	var followers []int
	for _, f := range c.others(l) {
		followers = append(followers, f.cmd.Process.Pid)
	}
	fcpu0 := cpuOf(t, followers[0]) + cpuOf(t, followers[1])
	self0 := cpuOf(t, os.Getpid())
	var maxRSS atomic.Int64
	stopSample := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSample:
				return
			case <-time.After(time.Second):
			}
			if r := rssOfOK(lpid); r > maxRSS.Load() {
				maxRSS.Store(r)
			}
		}
	}()
	if profDir != "" {
		defer profileAgent(t, l.addr, profDir, "scale-leader", 20*time.Second)()
		defer profileAgent(t, c.others(l)[0].addr, profDir, "scale-follower", 20*time.Second)()
		defer profileSelf(t, profDir, "scale-simulated-nodes", 20*time.Second)()
	}
	hist0 := scrape(t, l.addr, "")
	start := time.Now()
	submitLat := submit(nJobs)
	submitted := time.Since(start)
	took := time.Since(start)
	close(stopSample)
	<-sampled
	busy := cpuOf(t, lpid) - cpu0
	fbusy := cpuOf(t, followers[0]) + cpuOf(t, followers[1]) - fcpu0
	simBusy := cpuOf(t, os.Getpid()) - self0
	first, last := sim.firstLast()
	placed := sim.placed.Load()
	rate := float64(placed) / last.Sub(first).Seconds()
	upd := sim.updateLatencies()
	hist1 := scrape(t, l.addr, "")
	commit := histDelta(hist0, hist1, "nai_raft_commit_seconds")
	pass := histDelta(hist0, hist1, "nai_scheduler_pass_seconds")
	// The share of the GPUs' time that jobs ran: the rest went to the
	// round trip between a job's end and the next job's start on its GPU
	// (the node's report, its commit, a scheduling pass, the plan's
	// commit, the node's poll).
	busyGPU := float64(placed) * runtime.Seconds() / (float64(nNodes*8) * last.Sub(first).Seconds())

	heapAfter, liveAfter := afterJobGC()
	if profDir != "" {
		saveURL(t, l.addr+"/debug/pprof/heap", filepath.Join(profDir, "scale-leader-heap-after-gc.pprof"))
	}
	rssAfter := rssOf(t, lpid)
	sim.stop()

	b.rep.add(benchRow{figure: fmt.Sprintf("%d simulated nodes x 8 GPUs, %d jobs: placements per second", nNodes, nJobs), target: ">= 2000/s",
		nai: fmt.Sprintf("%.0f/s (%d placed in %.1f s; all done %.1f s after the first submission; submissions took %.1f s%s)",
			rate, placed, last.Sub(first).Seconds(), took.Seconds(), submitted.Seconds(), leaderNote(t, c, doubt)),
		met: yesNo(rate >= 2000), load: load.String()})
	b.rep.add(benchRow{figure: "  leader during that run", target: "-",
		nai: fmt.Sprintf("%.2f cores (followers %.2f, the simulated nodes %.2f), RSS max %s; p99 latency: node reports %.0f ms (p50 %.0f, %d), 1000-job submissions %.0f ms (p50 %.0f)",
			busy.Seconds()/took.Seconds(), fbusy.Seconds()/took.Seconds(), simBusy.Seconds()/took.Seconds(), mib(maxRSS.Load()),
			ms(pctDur(upd, 99)), ms(pctDur(upd, 50)), len(upd), ms(pctDur(submitLat, 99)), ms(pctDur(submitLat, 50))), load: load.String()})
	b.rep.add(benchRow{figure: "  where a GPU's time went", target: "-",
		nai: fmt.Sprintf("jobs ran %.0f%% of it (%s each); the leader's raft commits p50 %.1f ms, p99 %.1f ms (%d), its scheduling passes p50 %.1f ms, p99 %.1f ms (%d)",
			100*busyGPU, runtime, 1000*commit.quantile(0.5), 1000*commit.quantile(0.99), commit.count,
			1000*pass.quantile(0.5), 1000*pass.quantile(0.99), pass.count), load: load.String()})
	b.rep.add(benchRow{figure: fmt.Sprintf("  heartbeat cost: leader CPU idle, no node / %d nodes polling", nNodes), target: "-",
		nai: fmt.Sprintf("%.1f%% / %.1f%% of a core (registering them took %.1f s)", 100*bare.Seconds()/idleFor.Seconds(),
			100*polling.Seconds()/idleFor.Seconds(), registered.Seconds()), load: load.String()})
	b.rep.add(benchRow{figure: fmt.Sprintf("server memory after %d more finished jobs (job GC)", nJobs), target: "flat",
		nai: fmt.Sprintf("live heap after collections %s after %d jobs, %s after %d more (heap in use %s, %s; %s before any job; RSS %s before any, %s at the end)",
			mib(liveWarm), nWarm, mib(liveAfter), nJobs, mib(heapWarm), mib(heapAfter), mib(heapIdle), mib(rssIdle), mib(rssAfter)),
		met: yesNo(liveAfter <= liveWarm+max(liveWarm/10, 4<<20)), load: load.String()})
}

// histogram is the difference of one histogram between two scrapes.
type histogram struct {
	count  uint64
	bounds []float64 // upper bounds, ascending
	cum    []uint64  // cumulative counts at each bound
}

func histDelta(before, after map[string]*dto.MetricFamily, name string) histogram {
	var h histogram
	a := after[name]
	if a == nil || len(a.GetMetric()) == 0 || a.GetMetric()[0].GetHistogram() == nil {
		return h
	}
	ha := a.GetMetric()[0].GetHistogram()
	var hb *dto.Histogram
	if b := before[name]; b != nil && len(b.GetMetric()) > 0 {
		hb = b.GetMetric()[0].GetHistogram()
	}
	h.count = ha.GetSampleCount()
	if hb != nil {
		h.count -= hb.GetSampleCount()
	}
	for i, bk := range ha.GetBucket() {
		c := bk.GetCumulativeCount()
		if hb != nil && i < len(hb.GetBucket()) {
			c -= hb.GetBucket()[i].GetCumulativeCount()
		}
		h.bounds = append(h.bounds, bk.GetUpperBound())
		h.cum = append(h.cum, c)
	}
	return h
}

// quantile is the upper bound of the bucket that holds quantile q (a
// histogram tells no more); +Inf past the last bucket, 0 when empty.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	for i, c := range h.cum {
		if c >= rank {
			return h.bounds[i]
		}
	}
	return math.Inf(1)
}

// leaderNote says, when it happened, that the leadership moved during the
// run and how many jobs were in doubt for it.
func leaderNote(t *testing.T, c *testCluster, doubt int) string {
	t.Helper()
	changes := 0
	for _, a := range c.servers {
		changes += strings.Count(a.logs.String(), "became raft leader")
	}
	if changes <= 1 && doubt == 0 {
		return ""
	}
	return fmt.Sprintf("; %d leader elections on this loaded machine, %d jobs in doubt and left out", changes, doubt)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: expected a positive number", name, v)
	}
	return n
}

// rssOfOK is rssOf without failing: 0 when the process is gone.
func rssOfOK(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return res * int64(os.Getpagesize())
}

// retainedHeap is what the agent keeps: the least of five live heaps,
// each right after a collection forced through the profiler (the heap
// profile with gc=1), a second apart. One reading includes whatever
// requests were in flight at that collection (a thousand nodes poll);
// the least of several is what stays.
func retainedHeap(t *testing.T, a *clusterAgent) int64 {
	t.Helper()
	var least int64
	for i := range 5 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		resp, err := http.Get(a.addr + "/debug/pprof/heap?gc=1")
		if err != nil {
			t.Fatalf("force a collection: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if v := heapLive(t, a); i == 0 || v < least {
			least = v
		}
	}
	return least
}

// heapLive is the agent's go_gc_heap_live_bytes: what its last
// collection found live.
func heapLive(t *testing.T, a *clusterAgent) int64 {
	t.Helper()
	f := scrape(t, a.addr, "")["go_gc_heap_live_bytes"]
	if f == nil || len(f.GetMetric()) == 0 {
		t.Fatal("no go_gc_heap_live_bytes")
	}
	return int64(f.GetMetric()[0].GetGauge().GetValue())
}

// heapInuse is the agent's go_memstats_heap_inuse_bytes.
func heapInuse(t *testing.T, a *clusterAgent) int64 {
	t.Helper()
	f := scrape(t, a.addr, "")["go_memstats_heap_inuse_bytes"]
	if f == nil || len(f.GetMetric()) == 0 {
		t.Fatal("no go_memstats_heap_inuse_bytes")
	}
	return int64(f.GetMetric()[0].GetGauge().GetValue())
}

// simCluster is the simulated nodes.
type simCluster struct {
	t       *testing.T
	nodes   []*simNode
	runtime time.Duration

	placed atomic.Int64 // allocations seen by their node
	done   atomic.Int64 // reported complete and accepted

	mu          sync.Mutex
	first, last time.Time
	updLat      []time.Duration
	wg          sync.WaitGroup
	cancel      context.CancelFunc
}

// simNode is one simulated GPU node.
type simNode struct {
	s    *simCluster
	node *structs.Node
	api  *api.Client

	mu      sync.Mutex
	seen    map[string]bool
	pending []*structs.AllocUpdate
	wake    chan struct{}
}

func newSimCluster(t *testing.T, c *testCluster, n int, runtime time.Duration) *simCluster {
	s := &simCluster{t: t, runtime: runtime}
	for i := range n {
		name := fmt.Sprintf("sim-%04d", i)
		node := &structs.Node{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: name, Datacenter: "dc1",
			HTTPAddr: "http://127.0.0.1:1", Status: structs.NodeReady, Eligible: true, CPU: 64, MemoryBytes: 512 << 30}
		for g := range 8 {
			node.GPUs = append(node.GPUs, structs.GPU{Index: g, UUID: fmt.Sprintf("GPU-%s-%d", name, g), Model: "NVIDIA H100 80GB HBM3",
				MemoryBytes: 80 << 30, Healthy: true})
		}
		// Each node talks to one server, as clients spread over them.
		srv := c.servers[i%len(c.servers)]
		cl, err := api.New(api.Config{Address: srv.addr, IgnoreEnv: true})
		if err != nil {
			t.Fatal(err)
		}
		s.nodes = append(s.nodes, &simNode{s: s, node: node, api: cl, seen: map[string]bool{}, wake: make(chan struct{}, 1)})
	}
	return s
}

// register registers every node, 16 at a time.
func (s *simCluster) register(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, n := range s.nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := n.api.RegisterNode(ctx, n.node, ""); err != nil {
				s.t.Errorf("register %s: %v", n.node.Name, err)
			}
		}()
	}
	wg.Wait()
}

// start runs every node's long-poll and reporter.
func (s *simCluster) start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	for _, n := range s.nodes {
		s.wg.Add(2)
		go n.poll(ctx)
		go n.report(ctx)
	}
}

func (s *simCluster) stop() {
	s.cancel()
	s.wg.Wait()
}

// resetCounts starts the placement and latency figures afresh (after the
// warm-up); done keeps counting, as the submitter compares it with all
// the jobs it sent.
func (s *simCluster) resetCounts() {
	s.placed.Store(0)
	s.mu.Lock()
	s.first, s.last, s.updLat = time.Time{}, time.Time{}, nil
	s.mu.Unlock()
}

func (s *simCluster) firstLast() (time.Time, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

func (s *simCluster) updateLatencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.updLat...)
}

// poll is the node's allocation long-poll: a new allocation is reported
// running at once and complete after the run time.
func (n *simNode) poll(ctx context.Context) {
	defer n.s.wg.Done()
	var index uint64
	for ctx.Err() == nil {
		allocs, idx, err := n.api.NodeAllocations(ctx, n.node.ID, index, 30*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		index = idx
		now := time.Now()
		for _, a := range allocs {
			n.mu.Lock()
			fresh := !n.seen[a.ID]
			n.seen[a.ID] = true
			n.mu.Unlock()
			if !fresh || a.DesiredStatus != structs.DesiredRun {
				continue
			}
			n.s.placed.Add(1)
			n.s.mu.Lock()
			if n.s.first.IsZero() {
				n.s.first = now
			}
			n.s.last = now
			n.s.mu.Unlock()
			n.enqueue(&structs.AllocUpdate{AllocID: a.ID, Client: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: now}})
			id := a.ID
			time.AfterFunc(n.s.runtime, func() {
				zero := 0
				n.enqueue(&structs.AllocUpdate{AllocID: id, Client: structs.ClientStatusFields{Status: structs.AllocComplete,
					ExitCode: &zero, ExitReason: structs.ExitExited, StartTime: now, EndTime: time.Now()}})
			})
		}
	}
}

func (n *simNode) enqueue(u *structs.AllocUpdate) {
	n.mu.Lock()
	n.pending = append(n.pending, u)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// report sends the node's reports, one request at a time, with what came
// in meanwhile in the next one.
func (n *simNode) report(ctx context.Context) {
	defer n.s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.mu.Lock()
		batch := n.pending
		n.pending = nil
		n.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		s := time.Now()
		err := n.api.UpdateAllocs(ctx, n.node.ID, batch)
		d := time.Since(s)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Send them again with the next batch.
			n.mu.Lock()
			n.pending = append(batch, n.pending...)
			n.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			select {
			case n.wake <- struct{}{}:
			default:
			}
			continue
		}
		done := 0
		for _, u := range batch {
			if u.Client.Status == structs.AllocComplete {
				done++
			}
		}
		n.s.done.Add(int64(done))
		n.s.mu.Lock()
		n.s.updLat = append(n.s.updLat, d)
		n.s.mu.Unlock()
	}
}

// profileAgent writes a CPU profile of the agent at addr (started with
// -enable-debug) to DIR/name.pprof over the next d, or over d from
// NAI_BENCH_PROFILE_DELAY on (a duration: "90s" profiles the scale run's
// late part, with a large state); the func returned waits for the file.
func profileAgent(t *testing.T, addr, dir, name string, d time.Duration) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if d, err := time.ParseDuration(os.Getenv("NAI_BENCH_PROFILE_DELAY")); err == nil {
			time.Sleep(d)
		}
		saveURL(t, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())), filepath.Join(dir, name+".pprof"))
	}()
	return func() { <-done }
}

// profileSelf writes a CPU profile of this process (the simulated nodes
// and the submitter) to DIR/name.pprof over the same window as
// profileAgent's.
func profileSelf(t *testing.T, dir, name string, d time.Duration) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if d, err := time.ParseDuration(os.Getenv("NAI_BENCH_PROFILE_DELAY")); err == nil {
			time.Sleep(d)
		}
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			t.Logf("profile: %v", err)
			return
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Logf("profile: %v", err)
			return
		}
		time.Sleep(d)
		pprof.StopCPUProfile()
	}()
	return func() { <-done }
}

// saveURL writes what a GET of url answers to path, logging failures.
func saveURL(t *testing.T, url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		t.Logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Logf("profile: %v", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}
