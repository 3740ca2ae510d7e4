package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/membership"
)

// DefaultNodeDownGrace is how long a client serf declares failed stays
// ready before it is marked down.
const DefaultNodeDownGrace = 30 * time.Second

// clusterIDFile, in the server's data dir, names the raft cluster the data
// belongs to, so a data dir copied from another cluster is recognised.
const clusterIDFile = "cluster-id"

// cluster is a server's part in a multi-server cluster: serf membership,
// bootstrap, and the leader's reconciliation of serf into raft. A server
// without it (dev mode) is a cluster of one.
type cluster struct {
	m        *membership.Membership
	problems *membership.Problems
	dc       string
	expect   int
	grace    time.Duration
	tick     time.Duration
	idPath   string

	mu        sync.Mutex
	clusterID string
	// unproven are serf members tagged server that failed the leader's
	// identity check (cluster_leader.go: serverProven).
	unproven map[string]unproven
}

// StartCluster makes this server a member of a cluster found through m:
// with BootstrapExpect > 0 and no raft state it waits for that many
// servers in serf and bootstraps raft with all of them; as leader it adds
// servers that join, removes servers that leave and marks clients that
// fail down after NodeDownGrace. Call it once, before serving HTTP (the
// API forwards to the leader from then on).
func (s *Server) StartCluster(m *membership.Membership) error {
	if s.cluster != nil {
		return errors.New("cluster already started")
	}
	c := &cluster{
		m:        m,
		problems: m.Problems(),
		dc:       s.cfg.Datacenter,
		expect:   s.cfg.BootstrapExpect,
		grace:    s.cfg.NodeDownGrace,
		idPath:   filepath.Join(s.cfg.DataDir, clusterIDFile),
	}
	if c.dc == "" {
		c.dc = "dc1"
	}
	if c.grace <= 0 {
		c.grace = DefaultNodeDownGrace
	}
	// Check liveness a few times per grace, but not in a busy loop.
	c.tick = min(max(c.grace/4, 50*time.Millisecond), time.Second)
	id, err := readClusterID(c.idPath)
	if err != nil {
		return err
	}
	c.clusterID = id
	s.cluster = c
	if err := advertiseLogFormat(m); err != nil {
		return err
	}
	if id != "" {
		if err := c.advertiseClusterID(id); err != nil {
			return err
		}
	}
	s.wg.Add(1)
	go s.clusterLoop()
	s.startBlobLoops()
	return nil
}

func readClusterID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read cluster id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (c *cluster) id() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clusterID
}

// setClusterID records the cluster this server's data belongs to, on disk
// and in its serf tags.
func (c *cluster) setClusterID(id string) error {
	c.mu.Lock()
	c.clusterID = id
	c.mu.Unlock()
	if err := os.WriteFile(c.idPath, []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("save cluster id: %w", err)
	}
	return c.advertiseClusterID(id)
}

func (c *cluster) advertiseClusterID(id string) error {
	t := c.m.Tags()
	if t.ClusterID == id {
		return nil
	}
	t.ClusterID = id
	return c.m.SetTags(t)
}

// clusterIDOf derives a cluster's id from its bootstrap configuration, so
// every server that bootstraps with the same servers computes the same id
// without talking to the others.
func clusterIDOf(conf raft.Configuration) string {
	lines := make([]string, 0, len(conf.Servers))
	for _, srv := range conf.Servers {
		lines = append(lines, string(srv.ID)+"="+string(srv.Address))
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

// servers returns the server members of this datacenter whose tags are
// readable; others are reported once as problems by membership.
func (c *cluster) servers() []membership.Member {
	var out []membership.Member
	for _, mem := range c.m.Members() {
		if mem.TagsError != "" || !mem.Tags.Server || mem.Tags.Datacenter != c.dc {
			continue
		}
		out = append(out, mem)
	}
	return out
}

// memberByName finds a member by its node name.
func (c *cluster) memberByName(name string) (membership.Member, bool) {
	for _, mem := range c.m.Members() {
		if mem.Name == name {
			return mem, true
		}
	}
	return membership.Member{}, false
}

// clusterLoop runs for the life of the server: it bootstraps when asked
// to, and keeps the cluster id in step with the servers around it.
func (s *Server) clusterLoop() {
	defer s.wg.Done()
	c := s.cluster
	sub := c.m.Subscribe()
	defer c.m.Unsubscribe(sub)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		s.checkClusterID()
		if c.expect > 0 && s.raft.LastIndex() == 0 {
			s.maybeBootstrap()
		}
		select {
		case <-s.shutdownCh:
			return
		case <-sub:
		case <-ticker.C:
		}
	}
}

// maybeBootstrap bootstraps raft when serf shows bootstrap_expect servers
// that agree on it and none of them belongs to a cluster already.
func (s *Server) maybeBootstrap() {
	c := s.cluster
	var voters []membership.Member
	var disagree []string
	for _, mem := range c.servers() {
		if !mem.Alive() {
			continue
		}
		if mem.Tags.ClusterID != "" && mem.Name != s.cfg.NodeName {
			// Somebody already bootstrapped: the leader adds us.
			s.logger.Info("not bootstrapping: server already belongs to a cluster; waiting to be added by its leader",
				"server", mem.Name, "cluster_id", mem.Tags.ClusterID)
			c.problems.Resolve(membership.ProblemBootstrap)
			c.expect = 0
			return
		}
		if mem.Name != s.cfg.NodeName && !s.serverProven(mem, time.Now()) {
			// Only servers that prove they are of this cluster count
			// (cluster_leader.go): an impostor must not become a voter
			// of the first configuration.
			continue
		}
		if mem.Tags.BootstrapExpect != 0 && mem.Tags.BootstrapExpect != c.expect {
			disagree = append(disagree, fmt.Sprintf("%s expects %d", mem.Name, mem.Tags.BootstrapExpect))
		}
		voters = append(voters, mem)
	}
	if len(disagree) > 0 {
		msg := fmt.Sprintf("servers disagree on bootstrap_expect (this server expects %d; %s): bootstrap is blocked until every server has the same bootstrap_expect",
			c.expect, strings.Join(disagree, ", "))
		if c.problems.Set(membership.ProblemBootstrap, msg) {
			s.logger.Error("bootstrap blocked: " + msg)
		}
		return
	}
	if len(voters) < c.expect {
		msg := fmt.Sprintf("waiting for %d servers to bootstrap; serf shows %d", c.expect, len(voters))
		if c.problems.Set(membership.ProblemBootstrap, msg) {
			s.logger.Info(msg)
		}
		return
	}
	conf := raft.Configuration{}
	for _, mem := range voters {
		conf.Servers = append(conf.Servers, raft.Server{
			ID: raft.ServerID(mem.Name), Address: raft.ServerAddress(mem.Tags.RaftAddr), Suffrage: raft.Voter,
		})
	}
	slices.SortFunc(conf.Servers, func(a, b raft.Server) int { return strings.Compare(string(a.ID), string(b.ID)) })
	names := make([]string, 0, len(conf.Servers))
	for _, srv := range conf.Servers {
		names = append(names, string(srv.ID))
	}
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		s.logger.Error("raft bootstrap failed", "servers", names, "err", err)
		return
	}
	c.problems.Resolve(membership.ProblemBootstrap)
	c.expect = 0
	id := clusterIDOf(conf)
	s.logger.Info("bootstrapped raft", "servers", names, "cluster_id", id)
	if err := c.setClusterID(id); err != nil {
		s.logger.Error("record cluster id", "err", err)
	}
}

// checkClusterID adopts the cluster id of the servers around a server that
// was added to an existing cluster, and reports a data dir that belongs to
// another cluster than the servers serf shows.
func (s *Server) checkClusterID() {
	c := s.cluster
	mine := c.id()
	others := map[string][]string{}
	for _, mem := range c.servers() {
		if mem.Name == s.cfg.NodeName || mem.Tags.ClusterID == "" || !mem.Alive() {
			continue
		}
		others[mem.Tags.ClusterID] = append(others[mem.Tags.ClusterID], mem.Name)
	}
	if mine == "" {
		// Adopt the id once raft has replicated state to us: then we are
		// part of that cluster, not merely near it.
		if s.raft.LastIndex() == 0 || len(others) != 1 {
			return
		}
		for id := range others {
			s.logger.Info("joined an existing cluster", "cluster_id", id)
			if err := c.setClusterID(id); err != nil {
				s.logger.Error("record cluster id", "err", err)
			}
		}
		return
	}
	var foreign []string
	for id, names := range others {
		if id != mine {
			foreign = append(foreign, fmt.Sprintf("%s (servers %s)", id, strings.Join(names, ", ")))
		}
	}
	if len(foreign) == 0 || len(others[mine]) > 0 {
		c.problems.Resolve(membership.ProblemCluster)
		return
	}
	slices.Sort(foreign)
	msg := fmt.Sprintf("this server's data dir %s belongs to cluster %s, but the servers here belong to %s: the leader will not add this server; use an empty data dir to join this cluster",
		s.cfg.DataDir, mine, strings.Join(foreign, "; "))
	if c.problems.Set(membership.ProblemCluster, msg) {
		s.logger.Error(msg)
	}
}

// Leave takes this server out of the cluster on purpose: a leader first
// hands leadership to another server (so writes pause for a moment rather
// than for an election timeout), then the agent leaves serf, and the new
// leader removes this server from raft when it sees it left. Leave waits,
// for at most leaveWait, until this server is out of raft's configuration,
// as Consul's servers do: a server that stopped while still a voter would
// count against the quorum of those that stay (two servers of which one
// left could elect no leader), and a leaver that won an election again
// after its hand-over would lead a raft whose other servers never remove
// it (a flake of TestClusterBootstrapForwardAndLiveness under load).
func (s *Server) Leave() error {
	if s.cluster == nil {
		return nil
	}
	if s.IsLeader() {
		s.handOver()
	}
	if err := s.cluster.m.Leave(); err != nil {
		return err
	}
	s.awaitRemoval(leaveWait)
	return nil
}

// otherServerAlive says whether a server of raft's configuration other
// than this one is alive in serf, and so could remove this one.
func (s *Server) otherServerAlive(servers []raft.Server) bool {
	for _, srv := range servers {
		if srv.ID == raft.ServerID(s.cfg.NodeName) {
			continue
		}
		if mem, ok := s.cluster.memberByName(string(srv.ID)); ok && mem.Alive() {
			return true
		}
	}
	return false
}

// leaveWait bounds Leave's wait to be removed from raft.
const leaveWait = 10 * time.Second

// awaitRemoval waits, at most wait, until this server is no longer in
// raft's configuration. A leaver elected leader again meanwhile hands over
// again. It gives up early when no other server of the configuration is
// alive in serf, or when it has seen no leader for four heartbeat timeouts
// (1.2 s at the default multiplier; an election takes at most two):
// nobody is left to remove it.
func (s *Server) awaitRemoval(wait time.Duration) {
	start := time.Now()
	deadline := start.Add(wait)
	m := s.cfg.RaftMultiplier
	if m <= 0 {
		m = DefaultRaftMultiplier
	}
	leaderlessWait := 4 * time.Duration(m) * raftTimeBase
	var leaderless time.Time
	for {
		servers, err := s.raftServers()
		if err == nil && !slices.ContainsFunc(servers, func(srv raft.Server) bool {
			return srv.ID == raft.ServerID(s.cfg.NodeName)
		}) {
			s.logger.Info("out of raft", "waited", time.Since(start).Round(time.Millisecond))
			return
		}
		if err == nil && !s.otherServerAlive(servers) {
			// Its only server, or the others are down: nobody is there
			// to remove it.
			if len(servers) > 1 {
				s.logger.Warn("left serf, but no other server of raft is alive to remove this one")
			}
			return
		}
		now := time.Now()
		switch {
		case s.IsLeader():
			s.logger.Warn("elected leader again while leaving: handing over again")
			s.handOver()
			leaderless = time.Time{}
		case leaderKnown(s.raft):
			leaderless = time.Time{}
		case leaderless.IsZero():
			leaderless = now
		case now.Sub(leaderless) > leaderlessWait:
			s.logger.Warn("left serf, but no leader is there to remove this server from raft")
			return
		}
		if now.After(deadline) {
			s.logger.Warn("left serf, but was not removed from raft in time", "waited", wait)
			return
		}
		select {
		case <-s.shutdownCh:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// handOverTries is how many times a leaving leader tries to hand over its
// leadership: on a loaded machine one transfer can time out.
const handOverTries = 3

// transferLeadership is raft's leadership transfer (tests make it fail).
var transferLeadership = func(r *raft.Raft) error { return r.LeadershipTransfer().Error() }

// handOver gives up the leadership of a leader that is leaving, when
// there is another server to take it: a transfer to the most up-to-date
// follower, tried handOverTries times, else this server's own removal from
// raft, after which it steps down and the others elect a leader among
// themselves. A leader that left serf but stayed leader would never be
// removed (reconcileServers leaves the leader's own entry alone), and its
// heartbeats would keep the others from electing another (a flake of
// TestClusterBootstrapForwardAndLiveness under make test's load).
func (s *Server) handOver() {
	servers, err := s.raftServers()
	if err != nil || len(servers) < 2 {
		return
	}
	for i := 1; i <= handOverTries && s.IsLeader(); i++ {
		if err := transferLeadership(s.raft); err != nil {
			s.logger.Warn("could not hand over leadership before leaving", "attempt", i, "err", err)
			continue
		}
		s.logger.Info("handed over raft leadership before leaving")
		return
	}
	if !s.IsLeader() {
		return
	}
	s.logger.Warn("leaving raft as its leader: the others elect a leader without this server")
	if err := s.await(s.raft.RemoveServer(raft.ServerID(s.cfg.NodeName), 0, s.cfg.ApplyTimeout)); err != nil {
		s.logger.Error("remove this server from raft before leaving", "err", err)
	}
}

// leaderKnown says whether r knows a leader of its raft.
func leaderKnown(r *raft.Raft) bool {
	addr, _ := r.LeaderWithID()
	return addr != ""
}
