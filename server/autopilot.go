package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/internal/version"
	"github.com/nai-project/nai/membership"
	"github.com/nai-project/nai/structs"
)

// Autopilot, after Consul's: the leader watches the servers of the raft
// configuration through serf and raft and
//
//   - writes raft entries in the newest log format every server reads
//     (fsm.Format, advertised in the serf tag "lf"), so a cluster keeps
//     working while its servers are upgraded one at a time;
//   - with server { cleanup_dead_servers = true }, removes a server that
//     serf has shown not alive for longer than dead_server_threshold, but
//     only while the servers still alive are a majority of the
//     configuration (a leader cut off with a minority never prunes the
//     majority);
//   - answers `nai operator raft list-peers` with each server's health:
//     serf status, last contact with the leader and how far its log lags,
//     gathered from every server's GET /v1/agent/raft.

// DefaultDeadServerThreshold is how long a server must be gone before
// dead server cleanup removes it.
const DefaultDeadServerThreshold = 10 * time.Minute

// Health thresholds of list-peers: a follower that has not heard from the
// leader for twice raft's heartbeat timeout is about to call an election;
// one further behind than maxHealthyLag entries is catching up.
const (
	maxContactAge = 2 * time.Second
	maxHealthyLag = 256
)

// peerStatsTimeout bounds the wait for one server's raft stats.
const peerStatsTimeout = 2 * time.Second

// logFormatTTL is how long a computed cluster log format is reused.
const logFormatTTL = time.Second

// autopilot is the leader's memory of dead servers and the cached log
// format of the cluster.
type autopilot struct {
	mu sync.Mutex
	// deadSince is when the leader first saw each raft server not alive
	// in serf; rebuilt by every new leader, which can only delay a
	// removal.
	deadSince map[raft.ServerID]time.Time
	// blocked is the last "not pruning" reason logged, to log it once.
	blocked string

	format   fsm.Format
	formatAt time.Time
	// held names a server that holds the format back (for the log).
	held string
}

func (s *Server) autopilotRoutes() []route {
	return []route{
		{Method: "GET", Path: "/v1/agent/raft", Cap: acl.OperatorRead, handle: s.agentRaft,
			Doc: "this server's raft: state, term, last index, last contact with the leader, version and log format", whileCatchingUp: true},
	}
}

// advertiseLogFormat puts the newest log format this server reads in its
// serf tags (before it joins anyone).
func advertiseLogFormat(m *membership.Membership) error {
	t := m.Tags()
	if t.LogFormat == int(fsm.LogFormat) {
		return nil
	}
	t.LogFormat = int(fsm.LogFormat)
	return m.SetTags(t)
}

// logFormat is the format this leader writes entries in: the oldest that a
// server of the cluster reads.
func (s *Server) logFormat() fsm.Format {
	if s.cluster == nil {
		if s.cfg.Bootstrap {
			return fsm.LogFormat // a cluster of one
		}
		// A cluster member before StartCluster cannot know its peers.
		return fsm.Format1
	}
	now := time.Now()
	s.ap.mu.Lock()
	if s.ap.format != 0 && now.Sub(s.ap.formatAt) < logFormatTTL {
		f := s.ap.format
		s.ap.mu.Unlock()
		return f
	}
	s.ap.mu.Unlock()
	f, held := s.clusterLogFormat()
	s.ap.mu.Lock()
	defer s.ap.mu.Unlock()
	if f != s.ap.format || held != s.ap.held {
		if f < fsm.LogFormat {
			s.logger.Warn("writing raft entries in an older log format until every server is upgraded",
				"format", f, "newest", fsm.LogFormat, "held_back_by", held)
		} else if s.ap.format != 0 {
			s.logger.Info("every server reads the newest raft log format: writing it", "format", f)
		}
	}
	s.ap.format, s.ap.formatAt, s.ap.held = f, now, held
	return f
}

// clusterLogFormat computes the oldest format that a server of the raft
// configuration, or a live server serf shows, reads. A server serf does
// not show (or that does not say) is taken to read format 1: it may be an
// old one that comes back.
func (s *Server) clusterLogFormat() (fsm.Format, string) {
	servers, err := s.raftServers()
	if err != nil {
		return fsm.Format1, "an unreadable raft configuration"
	}
	formats := map[string]fsm.Format{}
	for _, mem := range s.cluster.servers() {
		formats[mem.Name] = formatOf(mem)
	}
	f, held := fsm.LogFormat, ""
	lower := func(g fsm.Format, who string) {
		if g < f {
			f, held = g, who
		}
	}
	inRaft := map[string]bool{}
	for _, srv := range servers {
		inRaft[string(srv.ID)] = true
		g, ok := formats[string(srv.ID)]
		if !ok {
			g = fsm.Format1
		}
		lower(g, string(srv.ID))
	}
	for _, mem := range s.cluster.servers() {
		if !inRaft[mem.Name] && mem.Alive() {
			lower(formats[mem.Name], mem.Name)
		}
	}
	return f, held
}

func formatOf(mem membership.Member) fsm.Format {
	if mem.Tags.LogFormat < 1 {
		return fsm.Format1
	}
	if mem.Tags.LogFormat > int(fsm.LogFormat) {
		return fsm.LogFormat
	}
	return fsm.Format(mem.Tags.LogFormat)
}

// encode makes the raft entry of a request in the cluster's log format.
func (s *Server) encode(t fsm.MessageType, req any) ([]byte, error) {
	b, err := fsm.EncodeAt(t, req, s.logFormat())
	if err != nil {
		return nil, structs.NewError(structs.CodeUnavailable, "%v", err)
	}
	return b, nil
}

// startAutopilot forgets what an earlier term of leadership saw.
func (s *Server) startAutopilot() {
	s.ap.mu.Lock()
	s.ap.deadSince = map[raft.ServerID]time.Time{}
	s.ap.blocked = ""
	s.ap.formatAt = time.Time{}
	s.ap.mu.Unlock()
}

// pruneDeadServers notes which servers serf shows not alive, and with
// cleanup on removes those gone longer than the threshold while the live
// servers stay a majority of the configuration.
func (s *Server) pruneDeadServers(now time.Time) {
	servers, err := s.raftServers()
	if err != nil {
		return
	}
	members := map[string]membership.Member{}
	for _, mem := range s.cluster.servers() {
		members[mem.Name] = mem
	}
	alive := func(id raft.ServerID) bool {
		mem, ok := members[string(id)]
		return id == raft.ServerID(s.cfg.NodeName) || (ok && mem.Alive())
	}
	s.ap.mu.Lock()
	if s.ap.deadSince == nil {
		s.ap.deadSince = map[raft.ServerID]time.Time{}
	}
	seen := map[raft.ServerID]bool{}
	for _, srv := range servers {
		seen[srv.ID] = true
		if alive(srv.ID) {
			delete(s.ap.deadSince, srv.ID)
		} else if _, noted := s.ap.deadSince[srv.ID]; !noted {
			s.ap.deadSince[srv.ID] = now
		}
	}
	for id := range s.ap.deadSince {
		if !seen[id] {
			delete(s.ap.deadSince, id)
		}
	}
	if !s.cfg.CleanupDeadServers {
		s.ap.mu.Unlock()
		return
	}
	remove, blocked := deadServers(servers, alive, s.ap.deadSince, now, s.deadServerThreshold())
	if blocked != "" && blocked != s.ap.blocked {
		s.logger.Warn(blocked)
	}
	s.ap.blocked = blocked
	since := make(map[raft.ServerID]time.Time, len(remove))
	for _, srv := range remove {
		since[srv.ID] = s.ap.deadSince[srv.ID]
	}
	s.ap.mu.Unlock()
	for _, srv := range remove {
		s.logger.Warn("removing dead server from raft", "server", srv.ID, "gone_for", now.Sub(since[srv.ID]).Round(time.Second),
			"threshold", s.deadServerThreshold())
		if err := s.await(s.raft.RemoveServer(srv.ID, 0, s.cfg.ApplyTimeout)); err != nil {
			s.logger.Error("remove dead server", "server", srv.ID, "err", err)
			return
		}
		s.ap.mu.Lock()
		delete(s.ap.deadSince, srv.ID)
		s.ap.mu.Unlock()
	}
}

// deadServers decides which servers of a configuration dead server
// cleanup removes now: those not alive for at least threshold (deadSince
// says since when), and only while the alive voters are a majority of the
// voters. blocked says why none is removed when some are due.
func deadServers(servers []raft.Server, alive func(raft.ServerID) bool, deadSince map[raft.ServerID]time.Time, now time.Time, threshold time.Duration) (remove []raft.Server, blocked string) {
	voters, aliveVoters := 0, 0
	var due []raft.Server
	for _, srv := range servers {
		up := alive(srv.ID)
		if srv.Suffrage == raft.Voter {
			voters++
			if up {
				aliveVoters++
			}
		}
		if since, ok := deadSince[srv.ID]; !up && ok && now.Sub(since) >= threshold {
			due = append(due, srv)
		}
	}
	if len(due) == 0 {
		return nil, ""
	}
	if aliveVoters <= voters/2 {
		return nil, fmt.Sprintf("not removing dead servers: only %d of %d voters are alive, not a majority", aliveVoters, voters)
	}
	return due, ""
}

func (s *Server) deadServerThreshold() time.Duration {
	if s.cfg.DeadServerThreshold > 0 {
		return s.cfg.DeadServerThreshold
	}
	return DefaultDeadServerThreshold
}

// raftStats is this server's own view of raft.
func (s *Server) raftStats() *structs.RaftStats {
	st := &structs.RaftStats{
		Name: s.cfg.NodeName, State: s.raft.State().String(), Term: s.raft.CurrentTerm(),
		LastIndex: s.raft.LastIndex(), AppliedIndex: s.raft.AppliedIndex(),
		Version: version.Get().Version, LogFormat: int(fsm.LogFormat),
	}
	if lc := s.raft.LastContact(); !lc.IsZero() && !s.IsLeader() {
		st.LastContact = lc.UTC()
	}
	if s.IsLeader() {
		st.ClusterLogFormat = int(s.logFormat())
	}
	return st
}

func (s *Server) agentRaft(r *request) (any, uint64, error) {
	st := s.raftStats()
	// The age is computed here, on the server's own clock: the caller's
	// clock may differ.
	return &raftStatsAnswer{RaftStats: *st, Age: contactAge(st.LastContact, time.Now())}, 0, nil
}

// raftStatsAnswer is the stats with the age of the last contact, measured
// by the server that had it.
type raftStatsAnswer struct {
	structs.RaftStats
	Age structs.Duration `json:"last_contact_age"`
}

func contactAge(lc, now time.Time) structs.Duration {
	if lc.IsZero() {
		return 0
	}
	return structs.Duration(now.Sub(lc))
}

// peerStats asks every server of servers for its raft stats at once.
func (s *Server) peerStats(ctx context.Context, servers []raft.Server) map[raft.ServerID]peerAnswer {
	out := make(map[raft.ServerID]peerAnswer, len(servers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, srv := range servers {
		if srv.ID == raft.ServerID(s.cfg.NodeName) {
			st := s.raftStats()
			mu.Lock()
			out[srv.ID] = peerAnswer{stats: &raftStatsAnswer{RaftStats: *st, Age: contactAge(st.LastContact, time.Now())}}
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := s.askPeerStats(ctx, string(srv.ID))
			mu.Lock()
			out[srv.ID] = a
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

type peerAnswer struct {
	stats *raftStatsAnswer
	err   string
}

func (s *Server) askPeerStats(ctx context.Context, name string) peerAnswer {
	if s.cluster == nil {
		return peerAnswer{err: "not a member of this server's serf"}
	}
	mem, ok := s.cluster.memberByName(name)
	if !ok || mem.Tags.HTTPAddr == "" {
		return peerAnswer{err: "no HTTP address in serf"}
	}
	ctx, cancel := context.WithTimeout(ctx, peerStatsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.scheme()+"://"+mem.Tags.HTTPAddr+"/v1/agent/raft", nil)
	if err != nil {
		return peerAnswer{err: err.Error()}
	}
	resp, err := s.peerDo(req)
	if err != nil {
		return peerAnswer{err: fmt.Sprintf("no answer: %v", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return peerAnswer{err: "it has no /v1/agent/raft: an older nai"}
	}
	if resp.StatusCode != http.StatusOK {
		return peerAnswer{err: "raft stats: " + resp.Status}
	}
	var a raftStatsAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&a); err != nil {
		return peerAnswer{err: fmt.Sprintf("raft stats: %v", err)}
	}
	return peerAnswer{stats: &a}
}

// addPeerHealth fills in the health of each peer of a raft configuration
// listing, asking every server for its stats.
func (s *Server) addPeerHealth(ctx context.Context, peers []structs.RaftPeer, servers []raft.Server) {
	answers := s.peerStats(ctx, servers)
	var leaderIndex uint64
	for _, p := range peers {
		if a := answers[raft.ServerID(p.ID)]; p.Leader && a.stats != nil {
			leaderIndex = a.stats.LastIndex
		}
	}
	if leaderIndex == 0 {
		for _, a := range answers {
			if a.stats != nil {
				leaderIndex = max(leaderIndex, a.stats.LastIndex)
			}
		}
	}
	serf := map[string]membership.Member{}
	if s.cluster != nil {
		for _, mem := range s.cluster.servers() {
			serf[mem.Name] = mem
		}
	}
	s.ap.mu.Lock()
	dead := make(map[raft.ServerID]time.Time, len(s.ap.deadSince))
	for id, t := range s.ap.deadSince {
		dead[id] = t
	}
	s.ap.mu.Unlock()
	for i := range peers {
		p := &peers[i]
		p.FailedSince = dead[raft.ServerID(p.ID)]
		p.SerfStatus = "alive"
		if s.cluster != nil {
			p.SerfStatus = "absent"
			if mem, ok := serf[p.ID]; ok {
				p.SerfStatus = mem.Status
				p.LogFormat = int(formatOf(mem))
			}
		} else {
			p.LogFormat = int(fsm.LogFormat)
		}
		a := answers[raft.ServerID(p.ID)]
		p.State = "unreachable"
		if a.stats != nil {
			st := a.stats
			p.Version, p.LogFormat, p.LastIndex, p.LastContact = st.Version, st.LogFormat, st.LastIndex, st.Age
			p.State = strings.ToLower(st.State)
			if leaderIndex > st.LastIndex {
				p.Lag = leaderIndex - st.LastIndex
			}
		}
		if p.SerfStatus != "alive" {
			// It may have answered from a stale connection; serf
			// says it is not there.
			p.State = "unreachable"
		}
		p.Healthy, p.Problem = peerHealth(p, a)
	}
}

// addLocalPeerHealth fills in a stale listing from this server alone: its
// own raft stats, and what its serf says of the others. Health is judged
// for this server only; the others are marked health unknown.
func (s *Server) addLocalPeerHealth(peers []structs.RaftPeer) {
	serf := map[string]membership.Member{}
	if s.cluster != nil {
		for _, mem := range s.cluster.servers() {
			serf[mem.Name] = mem
		}
	}
	for i := range peers {
		p := &peers[i]
		p.SerfStatus = "alive"
		p.LogFormat = int(fsm.LogFormat)
		if s.cluster != nil && !p.Self {
			p.SerfStatus, p.LogFormat = "absent", 0
			if mem, ok := serf[p.ID]; ok {
				p.SerfStatus = mem.Status
				p.LogFormat = int(formatOf(mem))
			}
		}
		if !p.Self {
			if p.SerfStatus != "alive" {
				p.State = "unreachable"
				p.Problem = "serf: " + p.SerfStatus
			} else {
				p.Problem = "health unknown: a stale listing asks no other server"
			}
			continue
		}
		st := s.raftStats()
		p.State = strings.ToLower(st.State)
		p.Version, p.LastIndex, p.LastContact = st.Version, st.LastIndex, contactAge(st.LastContact, time.Now())
		p.Healthy, p.Problem = peerHealth(p, peerAnswer{stats: &raftStatsAnswer{RaftStats: *st, Age: p.LastContact}})
		if !p.Healthy {
			continue
		}
		if _, id := s.raft.LeaderWithID(); id == "" {
			p.Healthy, p.Problem = false, "it knows no raft leader"
		}
	}
}

// peerHealth judges one peer.
func peerHealth(p *structs.RaftPeer, a peerAnswer) (bool, string) {
	switch {
	case p.SerfStatus != "alive":
		return false, "serf: " + p.SerfStatus
	case a.stats == nil:
		return false, "health unknown: " + a.err
	case p.Leader:
		if a.stats.State != raft.Leader.String() {
			return false, "listed as leader but says it is " + a.stats.State
		}
		return true, ""
	case a.stats.State == raft.Candidate.String():
		return false, "it is calling an election"
	case a.stats.LastContact.IsZero():
		return false, "it has not heard from a leader"
	case p.LastContact.D() > maxContactAge:
		return false, fmt.Sprintf("it last heard from the leader %s ago", p.LastContact.D().Round(time.Millisecond))
	case p.Lag > maxHealthyLag:
		return false, fmt.Sprintf("%d entries behind the leader", p.Lag)
	}
	return true, ""
}
