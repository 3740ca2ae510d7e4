package server

import (
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/internal/promtext"
	"github.com/nai-project/nai/structs"
)

// Prometheus metrics of a server, served at GET /v1/metrics.
//
// A server exports the cluster as its state shows it (the queue, GPUs by
// node and state, job outcomes), what it did itself (scheduling passes,
// placements and raft commits while it led, leader changes it saw), the
// bytes of its blob store and Go's runtime figures. The figures read from
// state are the same on every server (a follower's may lag by an entry or
// two); the rest are this process's own, so Prometheus scrapes every
// server. The route is not forwarded to the leader for that reason.
//
// GPU utilisation is exported by the client agent that holds the GPUs
// (client/metrics_export.go): an agent that is both registers the client's
// collector here, so one scrape sees both.
//
// With ACLs on the route needs OperatorRead: Prometheus sends an operator
// token from a file (authorization { credentials_file = ... }).

// metricsRoutes are the server's observability routes.
func (s *Server) metricsRoutes() []route {
	return []route{
		{Method: "GET", Path: "/v1/metrics", Cap: acl.OperatorRead, stream: s.serveMetrics,
			Doc: "Prometheus exposition of this agent: queue, GPUs, scheduler, raft, blob store, Go runtime (operator read)"},
	}
}

// serverMetrics are the instruments a server updates as it works.
type serverMetrics struct {
	reg           *promtext.Registry
	schedPass     *promtext.Histogram
	placements    *promtext.Counter
	raftCommit    *promtext.Histogram
	leaderChanges *promtext.Counter
	outcomes      *outcomeCounter
}

// outcomeCounter is nai_job_outcomes_total: the job endings this server's
// state machine applied since the process started, by reason. It only
// goes up (a job GC or a restore changes nothing of it), so increase()
// over it is right; Prometheus sees a restart as a counter reset.
type outcomeCounter struct {
	// since: endings older than this (less a minute of clock skew) are
	// the raft log replayed at start, counted by this process before.
	since time.Time
	mu    sync.Mutex
	n     map[string]uint64
}

func newOutcomeCounter(now time.Time) *outcomeCounter {
	// The usual outcomes are there from the start, at 0, so a rate over
	// them has a series before the first job ends.
	return &outcomeCounter{since: now.Add(-time.Minute), n: map[string]uint64{"complete": 0, "failed": 0, "cancelled": 0}}
}

// jobEnded counts j, which a write just ended (state.Store.OnJobEnd).
func (o *outcomeCounter) jobEnded(j *structs.Job) {
	if !j.EndTime.IsZero() && j.EndTime.Before(o.since) {
		return
	}
	r := outcomeReason(j)
	o.mu.Lock()
	o.n[r]++
	o.mu.Unlock()
}

func (o *outcomeCounter) Describe(ch chan<- *promtext.Desc) { ch <- descOutcomes }

func (o *outcomeCounter) Collect(ch chan<- promtext.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for reason, n := range o.n {
		ch <- promtext.MustNewConstMetric(descOutcomes, promtext.CounterValue, float64(n), reason)
	}
}

func newServerMetrics(s *Server) *serverMetrics {
	m := &serverMetrics{
		reg: promtext.NewRegistry(),
		schedPass: promtext.NewHistogram(promtext.HistogramOpts{
			Name: "nai_scheduler_pass_seconds",
			Help: "Time the leader took for one scheduling pass: plan and commit.",
			// From well under a millisecond (an idle cluster) to seconds
			// (tens of thousands of pending jobs).
			Buckets: promtext.ExponentialBuckets(0.0001, 4, 10),
		}),
		placements: promtext.NewCounter(promtext.CounterOpts{
			Name: "nai_placements_total",
			Help: "Allocations this server placed while it was the leader.",
		}),
		raftCommit: promtext.NewHistogram(promtext.HistogramOpts{
			Name:    "nai_raft_commit_seconds",
			Help:    "Time from handing a command to raft to its being applied, on this server as leader.",
			Buckets: promtext.ExponentialBuckets(0.0005, 2, 14),
		}),
		leaderChanges: promtext.NewCounter(promtext.CounterOpts{
			Name: "nai_raft_leader_changes_total",
			Help: "Changes of the raft leader this server observed (including losing it).",
		}),
	}
	m.outcomes = newOutcomeCounter(time.Now())
	m.reg.MustRegister(
		promtext.NewGoCollector(),
		promtext.NewProcessCollector(),
		m.schedPass, m.placements, m.raftCommit, m.leaderChanges, m.outcomes,
		&clusterCollector{s: s},
	)
	return m
}

// RegisterMetrics adds a collector to the server's registry: the client
// agent of the same process adds its GPUs.
func (s *Server) RegisterMetrics(c promtext.Collector) error {
	return s.metrics.reg.Register(c)
}

// MetricsGatherer is the server's registry, for tests and for agents that
// serve it elsewhere.
func (s *Server) MetricsGatherer() promtext.Gatherer { return s.metrics.reg }

func (s *Server) serveMetrics(w http.ResponseWriter, r *request) error {
	promtext.Handler(s.metrics.reg, func(err error) { s.logger.Warn("metrics exposition", "err", err) }).ServeHTTP(w, r.Request)
	return nil
}

// observeApply records one raft command's commit time.
func (m *serverMetrics) observeApply(start time.Time) {
	m.raftCommit.Observe(time.Since(start).Seconds())
}

// watchLeader counts leader changes through a raft observer; it ends
// with the server.
func (s *Server) watchLeader() {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	s.raft.RegisterObserver(obs)
	// A leader raft found before the observer was registered.
	if _, id := s.raft.LeaderWithID(); id != "" {
		s.noteLeader(id, time.Now())
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.raft.DeregisterObserver(obs)
		var last raft.ServerID
		for {
			select {
			case <-s.shutdownCh:
				return
			case o := <-ch:
				lo := o.Data.(raft.LeaderObservation)
				s.noteLeader(lo.LeaderID, time.Now())
				if lo.LeaderID != last {
					last = lo.LeaderID
					s.metrics.leaderChanges.Inc()
				}
			}
		}
	}()
}

// noteLeader records when raft last lost its leader (leaderless).
func (s *Server) noteLeader(id raft.ServerID, now time.Time) {
	if id != "" {
		s.leaderless.Store(0)
		return
	}
	s.leaderless.CompareAndSwap(0, now.UnixNano())
}

// clusterCollector reads the cluster's figures from a state snapshot at
// scrape time, so they can never drift from what the API answers.
type clusterCollector struct{ s *Server }

var (
	descQueueJobs = promtext.NewDesc("nai_queue_jobs",
		"Jobs waiting or running, by queue and state.", []string{"queue", "state"})
	descGPUs = promtext.NewDesc("nai_gpus",
		"GPUs by node and state: allocated (held by a live allocation), free (healthy, not held, on a node that takes work), unavailable (healthy and not held, on a node that takes no new work: down, unreachable, draining or ineligible) or unhealthy.", []string{"node", "state"})
	descNodes = promtext.NewDesc("nai_nodes",
		"Client nodes by status: ready (takes work), down, unreachable (serf declared it failed; down after the grace), draining, ineligible.", []string{"status"})
	descOutcomes = promtext.NewDesc("nai_job_outcomes_total",
		"Jobs that ended since this server started, as its state machine applied their ending, by how: complete, failed (non-zero exit), cancelled, oom-killed, time-limit, preempted, node-lost, gpu-failed, start-failed, signal:NAME, lost.", []string{"reason"})
	descFinished = promtext.NewDesc("nai_jobs_finished",
		"Finished jobs the state holds (until job GC removes them), by how they ended; the same on every server.", []string{"reason"})
	descBlobBytes = promtext.NewDesc("nai_blob_store_bytes",
		"Bytes of the blobs this server's store holds.", nil)
	descBlobs = promtext.NewDesc("nai_blob_store_blobs",
		"Blobs this server's store holds.", nil)
	descLeader = promtext.NewDesc("nai_raft_leader",
		"1 while this server is the raft leader, else 0.", nil)
	descIndex = promtext.NewDesc("nai_raft_applied_index",
		"The raft index of the state this server answers from.", nil)
)

func (c *clusterCollector) Describe(ch chan<- *promtext.Desc) {
	for _, d := range []*promtext.Desc{descQueueJobs, descGPUs, descNodes, descFinished, descBlobBytes, descBlobs, descLeader, descIndex} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- promtext.Metric) {
	s := c.s
	snap := s.State().Snapshot()
	leader := 0.0
	if s.IsLeader() {
		leader = 1
	}
	ch <- promtext.MustNewConstMetric(descLeader, promtext.GaugeValue, leader)
	ch <- promtext.MustNewConstMetric(descIndex, promtext.GaugeValue, float64(snap.Index()))

	// The queue: every defined queue shows both states, so a panel never
	// loses a line when a queue empties.
	type qs struct{ queue, state string }
	counts := map[qs]int{}
	queues := map[string]bool{"default": true}
	if defs, err := snap.Queues(nil); err == nil {
		for _, q := range defs {
			queues[q.Name] = true
		}
	}
	// The usual outcomes are there at 0, so a panel never loses a line.
	outcomes := map[string]int{"complete": 0, "failed": 0, "cancelled": 0}
	if jobs, err := snap.Jobs(nil); err == nil {
		for _, j := range jobs {
			q := j.Queue
			if q == "" {
				q = "default"
			}
			switch {
			case j.Status == structs.JobPending || j.Status == structs.JobRunning:
				queues[q] = true
				counts[qs{q, string(j.Status)}]++
			case j.Status.Terminal():
				outcomes[outcomeReason(j)]++
			}
		}
	}
	for q := range queues {
		for _, st := range []string{string(structs.JobPending), string(structs.JobRunning)} {
			ch <- promtext.MustNewConstMetric(descQueueJobs, promtext.GaugeValue, float64(counts[qs{q, st}]), q, st)
		}
	}
	for reason, n := range outcomes {
		ch <- promtext.MustNewConstMetric(descFinished, promtext.GaugeValue, float64(n), reason)
	}

	// GPUs by node.
	if nodes, err := snap.Nodes(nil); err == nil {
		status := map[string]int{}
		for _, n := range nodes {
			status[nodeMetricStatus(n)]++
			held := map[int]bool{}
			if allocs, err := snap.LiveAllocsByNode(nil, n.ID); err == nil {
				for _, a := range allocs {
					for _, g := range a.GPUs {
						held[g] = true
					}
				}
			}
			var alloc, free, off, bad int
			for _, g := range n.GPUs {
				switch {
				case held[g.Index]:
					alloc++
				case !g.Healthy:
					bad++
				case !n.Schedulable():
					off++
				default:
					free++
				}
			}
			ch <- promtext.MustNewConstMetric(descGPUs, promtext.GaugeValue, float64(alloc), n.Name, "allocated")
			ch <- promtext.MustNewConstMetric(descGPUs, promtext.GaugeValue, float64(free), n.Name, "free")
			ch <- promtext.MustNewConstMetric(descGPUs, promtext.GaugeValue, float64(off), n.Name, "unavailable")
			ch <- promtext.MustNewConstMetric(descGPUs, promtext.GaugeValue, float64(bad), n.Name, "unhealthy")
		}
		// Every status, 0 included, so a panel's line never vanishes.
		for _, st := range nodeMetricStatuses {
			ch <- promtext.MustNewConstMetric(descNodes, promtext.GaugeValue, float64(status[st]), st)
		}
	}

	// The blob store: what state says this server holds.
	var bytes int64
	var count int
	if blobs, err := snap.Blobs(nil); err == nil {
		for _, b := range blobs {
			if !b.Deleted && b.HeldBy(s.cfg.NodeName) {
				bytes += b.Size
				count++
			}
		}
	}
	ch <- promtext.MustNewConstMetric(descBlobBytes, promtext.GaugeValue, float64(bytes))
	ch <- promtext.MustNewConstMetric(descBlobs, promtext.GaugeValue, float64(count))
}

// nodeMetricStatuses are nai_nodes' statuses.
var nodeMetricStatuses = []string{"ready", "down", "unreachable", "draining", "ineligible"}

// nodeMetricStatus is a node's nai_nodes status: the first of down,
// unreachable, draining and ineligible that holds, else ready.
func nodeMetricStatus(n *structs.Node) string {
	switch {
	case n.Status != structs.NodeReady:
		return "down"
	case !n.UnreachableSince.IsZero():
		return "unreachable"
	case n.Drain:
		return "draining"
	case !n.Eligible:
		return "ineligible"
	}
	return "ready"
}

// outcomeReason names how a job ended for nai_job_outcomes_total and
// nai_jobs_finished.
func outcomeReason(j *structs.Job) string {
	switch {
	case j.Status == structs.JobComplete:
		return "complete"
	case j.Status == structs.JobCancelled:
		return "cancelled"
	case j.ExitReason == structs.ExitExited:
		return "failed"
	case j.ExitReason != "":
		return string(j.ExitReason)
	}
	return string(j.Status)
}
