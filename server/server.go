package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/gateway"
	"github.com/nai-project/nai/internal/tlsutil"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/server/blobstore"
	"github.com/nai-project/nai/structs"
)

// Config configures one server.
type Config struct {
	// DataDir holds raft's log (raft.db), its snapshots and the blob store.
	DataDir string
	// NodeName names this server in raft (its server id).
	NodeName string
	// RaftAddr is the address raft listens on ("127.0.0.1:0" picks a port).
	RaftAddr string
	// Bootstrap makes a fresh server bootstrap a one-server cluster with
	// itself (dev mode).
	Bootstrap bool
	// Scheduler configures the scheduling policy. Its Queues are not used:
	// queues live in raft (`nai operator queue`, policy.go), where the store
	// checks jobs against them; stored shares and quotas override these.
	Scheduler scheduler.Config
	// SchedulerInterval is the slow timer that re-plans even without state
	// changes (begin times, estimated starts). Default 5s.
	SchedulerInterval time.Duration
	// BlobDir holds the blob store; default DataDir/blobs. It may be its
	// own disk, so that a full blob disk never stops raft.
	BlobDir string
	// ApplyTimeout bounds one raft apply. Default 10s.
	ApplyTimeout time.Duration
	Logger       *slog.Logger

	// Cluster mode only (StartCluster, cluster.go): the datacenter, how
	// many servers bootstrap raft together, and how long a failed client
	// stays ready (default DefaultNodeDownGrace).
	Datacenter      string
	BootstrapExpect int
	NodeDownGrace   time.Duration
	// RaftMultiplier scales raft's timeouts (raft_timing.go): 0 is
	// DefaultRaftMultiplier.
	RaftMultiplier int
	// Autopilot (autopilot.go): remove servers serf has shown not alive
	// for DeadServerThreshold (0: DefaultDeadServerThreshold), while the
	// live servers stay a majority.
	CleanupDeadServers  bool
	DeadServerThreshold time.Duration

	// Blobs (blob_replicate.go, blob_gc.go): copies wanted of each blob
	// (0: every server), how long an unreferenced blob is kept (0:
	// DefaultBlobRetention), how often the leader collects garbage (0: a
	// quarter of the retention, at most a minute), how often a server
	// re-checks for blobs to copy besides table changes (0:
	// DefaultBlobRecheckInterval), and how often every local copy is
	// re-hashed (0: DefaultBlobScrubInterval; negative: never).
	BlobReplicas        int
	BlobRetention       time.Duration
	BlobGCInterval      time.Duration
	BlobRecheckInterval time.Duration
	BlobScrubInterval   time.Duration
	// BodyStallTimeout is how long a request body may send nothing before
	// the request fails (0: DefaultBodyStallTimeout); see body_stall.go.
	BodyStallTimeout time.Duration
	// UploadPendingLimit bounds the bytes one user may keep uploaded that
	// no job or version uses yet (blob_claims.go); 0: the user's storage
	// quota if it has one, else DefaultUploadPendingLimit.
	UploadPendingLimit int64
	// blobPeers replaces serf and raft as the source of peers in tests.
	blobPeers peerSource
	// applyHold, in tests, runs before the FSM applies each raft entry
	// (to hold the state behind raft's log).
	applyHold func(index uint64)

	// ACL turns access control on: every request must then carry a
	// token (or a node's or server's secret) with the right it needs.
	ACL ACLConfig
	// TLS, when set, is mutual TLS for raft and for every HTTP call this
	// server makes to other agents (the leader, peers, client nodes);
	// nil means plain TCP and HTTP.
	TLS *tlsutil.Agent
	// RaftKey, without TLS, is the secret every server of the cluster
	// holds (the agent passes the gossip encryption key, encrypt): each
	// raft connection proves both ends hold it (raft_transport.go). With
	// ACLs on, a server of a cluster needs TLS or RaftKey; a single dev
	// server without either uses a random key of its own.
	RaftKey []byte
	// Audit configures the audit log of writes (audit.go).
	Audit AuditConfig
	// JobGCThreshold is how long a finished job stays in the live tables
	// (0: DefaultJobGCThreshold); its usage stays in the usage rows.
	// JobGCInterval is how often the leader looks (0: an eighth of the
	// threshold, between a second and five minutes).
	JobGCThreshold time.Duration
	JobGCInterval  time.Duration
}

// ACLConfig is the acl block of the agent configuration.
type ACLConfig struct {
	Enabled bool
	// BootstrapResetFile, when it holds the index of the first bootstrap,
	// allows one more bootstrap (docs/operations.md); default
	// DataDir/acl-bootstrap-reset.
	BootstrapResetFile string
	// InitialManagementToken and InitialNodeToken are secrets the first
	// leader of a never-bootstrapped cluster makes a management token and
	// a node token with (acl_initial.go).
	InitialManagementToken string
	InitialNodeToken       string
}

// Server is one nai server: raft, the FSM, the leader loop and the API.
type Server struct {
	cfg    Config
	logger *slog.Logger
	fsm    *fsm.FSM
	raft   *raft.Raft
	trans  *raft.NetworkTransport
	store  *raftboltdb.BoltStore
	blobs  *blobstore.Store
	sched  *scheduler.Scheduler
	// reports folds concurrent client reports into one raft entry.
	reports reportBatcher

	// changeCh is signalled (without blocking) after every applied raft
	// entry: it wakes the leader's scheduler.
	changeCh chan struct{}
	leaderCh chan bool
	// usage caches fair-share usage between scheduling passes.
	usage usageCache
	// cluster is nil for a single dev server (see cluster.go).
	cluster *cluster
	// blobr keeps blobs replicated (blob_replicate.go); blobLoops
	// starts its loops once.
	blobr *blobstore.Replicator
	// uploads remembers who uploaded which blob here (blob_claims.go).
	uploads   uploadLedger
	blobLoops sync.Once

	// encs keeps the JSON of listed jobs between listings (listcache.go).
	encs jobEncodings
	// idents caches resolved callers (door.go); httpTransport and
	// peerClient make this server's calls to other agents.
	idents identCache
	tls    *tlsutil.Agent
	// raftKey keys raft's handshake without TLS (raft_transport.go);
	// raftDial dials other servers' raft ports through TLS or the
	// handshake (nil: plain raft, nothing to prove).
	raftKey  []byte
	raftDial raftDialer
	// httpTransport calls client nodes (log streams); peerTransport calls
	// servers (forwarding to the leader, blob copies).
	httpTransport *http.Transport
	peerTransport *http.Transport
	peerClient    *http.Client
	audit         *auditLog
	// catchup tracks the state's replay of raft's log (catchup.go).
	catchup *catchUp
	// restoring allows one snapshot restore at a time (snapshot.go).
	restoring sync.Mutex
	// ap is the leader's autopilot state (autopilot.go).
	ap autopilot
	// metrics are the Prometheus instruments (metrics.go).
	metrics *serverMetrics
	// gateway proxies service calls; its table follows this server's
	// state (services.go).
	gateway *gateway.Gateway
	// leaderless is when this server last saw raft lose its leader (unix
	// nanoseconds), 0 while it knows one (metrics.go: watchLeader).
	leaderless atomic.Int64

	shutdownOnce sync.Once
	shutdownCh   chan struct{}
	wg           sync.WaitGroup
}

// New starts a server: opens its stores, starts raft and, in bootstrap
// mode, makes it the single voter of a new cluster.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DataDir == "" {
		return nil, errors.New("server needs a data dir")
	}
	if cfg.NodeName == "" {
		h, _ := os.Hostname()
		cfg.NodeName = h
	}
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = "127.0.0.1:0"
	}
	if cfg.SchedulerInterval == 0 {
		cfg.SchedulerInterval = 5 * time.Second
	}
	if cfg.ApplyTimeout == 0 {
		cfg.ApplyTimeout = 10 * time.Second
	}
	raftKey, err := raftKeyFor(cfg)
	if err != nil {
		return nil, err
	}
	if err := claimDataDir(cfg.DataDir, cfg.NodeName); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		logger:     cfg.Logger,
		sched:      scheduler.New(cfg.Scheduler),
		shutdownCh: make(chan struct{}),
		changeCh:   make(chan struct{}, 1),
		leaderCh:   make(chan bool, 16),
		tls:        cfg.TLS,
		raftKey:    raftKey,
	}
	s.reports.s, s.reports.format = s, s.logFormat
	s.httpTransport = http.DefaultTransport.(*http.Transport).Clone()
	s.httpTransport.MaxIdleConnsPerHost = 64
	// A node that accepts a request and never answers must not hold a
	// call up forever; log streams answer their headers at once.
	s.httpTransport.ResponseHeaderTimeout = 30 * time.Second
	// Forwarded long-polls may wait minutes for their answer. Every
	// client's request that a follower forwards takes a connection to the
	// leader for its time: with a thousand nodes, hundreds at once. An idle
	// pool smaller than that closed the connections of each burst and
	// dialled new ones for the next (TestBench/Scale: 2 % of the leader's
	// CPU in closing them alone, and a TLS handshake each with TLS on), so
	// the pool keeps as many as were in use, and closes each after 10 s
	// unused: hundreds of idle connections hold a few megabytes on the
	// leader (a goroutine and buffers each), which the default 90 s kept
	// long after the load was gone.
	s.peerTransport = http.DefaultTransport.(*http.Transport).Clone()
	s.peerTransport.MaxIdleConns = 0 // no limit over all peers; per peer below
	s.peerTransport.MaxIdleConnsPerHost = 4096
	s.peerTransport.IdleConnTimeout = 10 * time.Second
	if cfg.TLS != nil {
		s.httpTransport.TLSClientConfig = cfg.TLS.ClientConfig(false)
		// Calls to other servers carry the servers' shared secret: only
		// a server certificate's holder gets them.
		s.peerTransport.TLSClientConfig = cfg.TLS.ServerPeerClientConfig()
	}
	s.peerClient = &http.Client{Transport: s.peerTransport}
	if cfg.ACL.BootstrapResetFile == "" {
		s.cfg.ACL.BootstrapResetFile = filepath.Join(cfg.DataDir, "acl-bootstrap-reset")
	}
	s.audit = newAuditLog(s, cfg.Audit)
	s.catchup = newCatchUp()
	s.metrics = newServerMetrics(s)
	raftDir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft dir: %w", err)
	}
	blobDir := cfg.BlobDir
	if blobDir == "" {
		blobDir = filepath.Join(cfg.DataDir, "blobs")
	}
	blobs, err := blobstore.New(blobDir)
	if err != nil {
		return nil, err
	}
	s.blobs = blobs
	s.blobr = s.newReplicator(blobs)
	f, err := fsm.New(cfg.Logger.With("subsystem", "fsm"))
	if err != nil {
		return nil, fmt.Errorf("create fsm: %w", err)
	}
	s.fsm = f
	f.State().OnJobEnd(s.metrics.outcomes.jobEnded)
	if err := s.setupRaft(raftDir); err != nil {
		s.closeStores()
		return nil, err
	}
	s.gateway = gateway.New(gateway.Config{Logger: cfg.Logger.With("subsystem", "gateway")})
	s.wg.Add(2)
	go s.monitorLeadership()
	s.watchLeader()
	go s.runGatewayTable()
	s.startAuditFlusher()
	if cfg.Bootstrap {
		// A cluster member starts them in StartCluster, once it has peers.
		s.startBlobLoops()
	}
	return s, nil
}

// raftLogLockTimeout is how long a server waits for the lock of its raft
// log (raft.db) before it gives up (a variable for tests).
var raftLogLockTimeout = 5 * time.Second

func (s *Server) setupRaft(dir string) error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.NodeName)
	rc.Logger = hclogFor(s.logger, "raft")
	rc.NotifyCh = s.leaderCh
	// Snapshots keep the log short; a few thousand entries is a few
	// hundred kilobytes of jobs.
	rc.SnapshotThreshold = 8192
	rc.TrailingLogs = 10240
	// Concurrent applies already share a disk write: the leader takes
	// every apply waiting on its channel into one batch of log entries
	// (raft's group commit). BatchApplyCh would buffer that channel, but
	// an apply buffered as raft shuts down is never answered (its
	// future blocks forever), so it stays off.
	if s.cfg.Bootstrap {
		// A single server need not wait for anybody: shorten the
		// election so a dev agent is ready in well under a second.
		rc.HeartbeatTimeout = 100 * time.Millisecond
		rc.ElectionTimeout = 100 * time.Millisecond
		rc.LeaderLeaseTimeout = 100 * time.Millisecond
	} else {
		setRaftTiming(rc, s.cfg.RaftMultiplier)
	}

	// bolt locks its file (flock) and, without a timeout, waits for it
	// for ever, saying nothing: a raft log another process holds is an
	// error, not a hang.
	logPath := filepath.Join(dir, "raft.db")
	store, err := raftboltdb.New(raftboltdb.Options{Path: logPath, BoltOptions: &bbolt.Options{Timeout: raftLogLockTimeout}})
	if errors.Is(err, bbolt.ErrTimeout) {
		return fmt.Errorf("open raft log %s: another process holds it (waited %s for its lock): stop it, or give this server another data dir", logPath, raftLogLockTimeout)
	}
	if err != nil {
		return fmt.Errorf("open raft log %s: %w", logPath, err)
	}
	s.store = store
	// The log cache serves recent entries to followers without reading
	// the log store. It holds its entries however old they are: 512 of
	// them (Nomad's and Consul's size) kept 25-48 MB of client reports on
	// a quiet leader after a busy hour; a follower further behind than 128
	// entries, or than 2 MiB of them, reads the store instead, as it does
	// for an entry over 512 KiB (logcache.go).
	cache, err := newLogCache(store, 128, 2<<20, 512<<10)
	if err != nil {
		return fmt.Errorf("raft log cache: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hclogFor(s.logger, "raft-snapshots"))
	if err != nil {
		return fmt.Errorf("open raft snapshots in %s: %w", dir, err)
	}
	addr, err := net.ResolveTCPAddr("tcp", s.cfg.RaftAddr)
	if err != nil {
		return fmt.Errorf("raft address %q: %w", s.cfg.RaftAddr, err)
	}
	trans, err := s.raftTransport(addr)
	if err != nil {
		return fmt.Errorf("raft transport on %s: %w", addr, err)
	}
	s.trans = trans

	if s.cfg.Bootstrap {
		has, err := raft.HasExistingState(cache, store, snaps)
		if err != nil {
			return fmt.Errorf("read raft state: %w", err)
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{
				ID: rc.LocalID, Address: trans.LocalAddr(), Suffrage: raft.Voter,
			}}}
			if err := raft.BootstrapCluster(rc, cache, store, snaps, trans, conf); err != nil {
				return fmt.Errorf("bootstrap raft: %w", err)
			}
		} else if err := s.recoverSingleAddress(rc, cache, store, snaps, trans); err != nil {
			return err
		}
	}
	// An operator's peers.json replaces the configuration after a lost
	// quorum (cluster_recover.go).
	if err := s.recoverFromPeersFile(rc, cache, store, snaps, trans, dir); err != nil {
		return err
	}
	nf := &notifyFSM{FSM: s.fsm, changed: s.changeCh, restored: s.afterRestore, mem: newMemoryReturner(s.shutdownCh, s.encs.reset),
		catchup: s.catchup, hold: s.cfg.applyHold}
	r, err := raft.NewRaft(rc, nf, cache, store, snaps, s.peekTransport(trans))
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	// The state holds the snapshot NewRaft restored; the entries after it
	// are replayed once their commit is known (catchup.go).
	s.catchup.start.Store(r.LastIndex())
	maxStore(&s.catchup.applied, r.AppliedIndex())
	return nil
}

// recoverSingleAddress handles a dev agent restarted on a new raft port: the
// stored configuration names the old address, so the lone server could
// never reach itself. A single-voter configuration is rewritten to the new
// address (what raft.RecoverCluster is for); clusters of several servers
// are left alone.
func (s *Server) recoverSingleAddress(rc *raft.Config, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport) error {
	scratch, err := s.fsmForRecovery()
	if err != nil {
		return err
	}
	// GetConfiguration marks the config it is given to skip startup: give
	// it a copy.
	probe := *rc
	conf, err := raft.GetConfiguration(&probe, scratch, logs, stable, snaps, trans)
	if err != nil {
		return fmt.Errorf("read raft configuration: %w", err)
	}
	if len(conf.Servers) != 1 || conf.Servers[0].ID != rc.LocalID || conf.Servers[0].Address == trans.LocalAddr() {
		return nil
	}
	s.logger.Info("raft address changed since last run; rewriting the single-server configuration",
		"old", conf.Servers[0].Address, "new", trans.LocalAddr())
	conf.Servers[0].Address = trans.LocalAddr()
	// RecoverCluster replays the log into a throwaway FSM to take a
	// snapshot; the real FSM is restored from that snapshot by NewRaft.
	scratch, err = s.fsmForRecovery()
	if err != nil {
		return err
	}
	recoverConf := *rc
	if err := raft.RecoverCluster(&recoverConf, scratch, logs, stable, snaps, trans, conf); err != nil {
		return fmt.Errorf("recover raft configuration: %w", err)
	}
	return nil
}

func (s *Server) fsmForRecovery() (raft.FSM, error) {
	f, err := fsm.New(s.logger.With("subsystem", "fsm-recovery"))
	if err != nil {
		return nil, fmt.Errorf("create recovery fsm: %w", err)
	}
	return f, nil
}

// State returns the current state store.
func (s *Server) State() *state.Store { return s.fsm.State() }

// IsLeader reports whether this server leads raft now.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// LeaderAddr returns the raft address of the leader, "" when none is known.
func (s *Server) LeaderAddr() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// RaftAddr returns the address raft listens on.
func (s *Server) RaftAddr() string { return string(s.trans.LocalAddr()) }

// WaitForLeader blocks until this cluster has a leader or ctx ends.
func (s *Server) WaitForLeader(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.LeaderAddr() != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for raft leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// apply sends one typed request through raft and returns the FSM's answer.
// It must run on the leader; elsewhere it returns ErrNotLeader.
func (s *Server) apply(t fsm.MessageType, req any) (any, uint64, error) {
	// In the log format every server of the cluster reads (autopilot.go).
	b, err := s.encode(t, req)
	if err != nil {
		return nil, 0, fmt.Errorf("encode raft entry: %w", err)
	}
	start := time.Now()
	// A big entry is decoded for this server's Apply while raft commits it.
	defer s.fsm.Predecode(b)()
	fut := s.raft.Apply(b, s.cfg.ApplyTimeout)
	if err := s.await(fut); err != nil {
		// Not the leader: nothing was written, and the caller may send
		// the request again (the API client does, for a while). Lost
		// leadership with the entry in flight is another matter: the new
		// leader may or may not hold it, so the caller must look first.
		if errors.Is(err, raft.ErrNotLeader) {
			return nil, 0, structs.NewError(structs.CodeNotLeader, "this server is not the raft leader (leader: %s); nothing was written", s.LeaderAddr())
		}
		if errors.Is(err, raft.ErrLeadershipLost) {
			return nil, 0, structs.NewError(structs.CodeUnavailable, "the raft leader changed while this write was being committed: it may or may not have taken effect; look before sending it again")
		}
		if errors.Is(err, raft.ErrRaftShutdown) {
			return nil, 0, structs.NewError(structs.CodeUnavailable, "this server shut down while the write was being committed: it may or may not have taken effect; look before sending it again")
		}
		return nil, 0, fmt.Errorf("raft apply: %w", err)
	}
	s.metrics.observeApply(start)
	resp := fut.Response()
	if e, ok := resp.(error); ok && e != nil {
		return nil, fut.Index(), e
	}
	return resp, fut.Index(), nil
}

// awaitShutdownGrace is how long await still waits for a future's own
// answer once the server shuts down: raft answers what it holds as it
// stops, and that answer says more than "shut down".
var awaitShutdownGrace = 5 * time.Second

// await waits for a raft future's answer, giving up once the server has
// been shutting down for awaitShutdownGrace. raft answers an accepted write
// when it is applied or when leadership ends, but one handed to the state
// machine just as raft stops is never answered (hashicorp/raft#498): a
// leader loop waiting on it would hold Shutdown, and a test, for ever.
func (s *Server) await(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-s.shutdownCh:
	}
	t := time.NewTimer(awaitShutdownGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return raft.ErrRaftShutdown
	}
}

// Shutdown stops the leader loop and raft and closes the stores.
func (s *Server) Shutdown() error {
	var err error
	s.shutdownOnce.Do(func() {
		close(s.shutdownCh)
		s.blobr.Close()
		if s.raft != nil {
			err = s.raft.Shutdown().Error()
		}
		s.wg.Wait()
		s.closeStores()
	})
	return err
}

func (s *Server) closeStores() {
	if s.trans != nil {
		s.trans.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

// notifyFSM signals changed after each applied entry, so the scheduler is
// woken by events rather than by a timer. The signal is outside the FSM's
// deterministic work and never blocks it.
type notifyFSM struct {
	*fsm.FSM
	changed chan struct{}
	// restored runs after the state was replaced by a snapshot
	// (snapshot.go).
	restored func()
	// mem returns memory to the system after a large job GC (memory.go).
	mem *memoryReturner
	// catchup learns how far the log is replayed (catchup.go).
	catchup *catchUp
	// hold, in tests, runs before each entry is applied.
	hold func(index uint64)
}

func (n *notifyFSM) Apply(l *raft.Log) any {
	if n.hold != nil {
		n.hold(l.Index)
	}
	r := n.FSM.Apply(l)
	n.catchup.noteApplied(l.Index)
	n.signal()
	if gc, ok := r.(*structs.JobGCResponse); ok {
		n.mem.jobsCollected(gc.Jobs)
	}
	return r
}

func (n *notifyFSM) Restore(rc io.ReadCloser) error {
	err := n.FSM.Restore(rc)
	if err == nil && n.restored != nil {
		n.restored()
	}
	n.signal()
	return err
}

func (n *notifyFSM) signal() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}
