package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/internal/promtext"
	"github.com/nai-project/nai/internal/version"
	"github.com/nai-project/nai/structs"
)

// DefaultKillGrace is how long a task has between SIGTERM and SIGKILL.
const DefaultKillGrace = 10 * time.Second

// pollWait is how long one long-poll of the node's allocations may block.
const pollWait = 30 * time.Second

// Config is what the agent gives the client.
type Config struct {
	DataDir    string // the client's own dir (alloc dirs, node id)
	NodeName   string // default: the host name
	Datacenter string
	HTTPAddr   string // this agent's advertised HTTP address (servers proxy logs to it)
	// Servers reaches the servers. Its token, if any, is the agent's
	// token (policy node): it registers the node the first time; every
	// other call presents the node's own secret.
	Servers *api.Client
	// ACLEnabled makes the client's own routes (allocation logs) accept
	// only callers the servers say may read the job.
	ACLEnabled bool
	// RegisterToken, when set and not empty, is the token of the node's
	// first registration instead of the Servers client's (an agent that
	// is also a server uses the servers' shared secret).
	RegisterToken func() string
	Host          *fingerprint.Host
	// Cgroups is nil when cgroups are disabled: limits are then not
	// enforced (the agent says so loudly).
	Cgroups cgroups.Manager
	// CgroupParent is the parent Cgroups was made with ("" = the agent's
	// own cgroup); executors and exec shims open the same one.
	CgroupParent string
	// ExecutorBinary is the binary that runs `BINARY executor ALLOC_DIR`
	// for every allocation (package client/executor's Main); the executor
	// starts `BINARY exec-shim ...` (ShimMain) from the same binary. The
	// agent command sets nai-executor when it is installed beside it.
	// Empty: this process's own binary (os.Executable).
	ExecutorBinary string
	KillGrace      time.Duration // SIGTERM, wait this long, SIGKILL; default DefaultKillGrace
	// DeviceDir is where the GPU device nodes live (default /dev). Fake
	// GPUs get device rules only when it is set, so tests can restrict jobs
	// to fake device files made with mknod.
	DeviceDir string
	Logger    *slog.Logger

	// GPUSampleInterval is how often GPU utilisation and memory are
	// sampled; 0: fingerprint.DefaultMonitorInterval.
	GPUSampleInterval time.Duration
	// CacheMaxBytes caps the local blob cache (DataDir/cache/blobs);
	// 0: DefaultCacheMaxBytes. Blobs in use are never evicted.
	CacheMaxBytes int64
	// AllocGCAge is how long a reported allocation dir (logs, exit.json)
	// is kept; 0: DefaultAllocGCAge; negative: kept for ever.
	AllocGCAge time.Duration
	// LogMaxBytes caps each of an allocation's log files (stdout and
	// stderr): past it, further output is dropped, after one marker line
	// (logcap.go). 0: DefaultLogMaxBytes; negative: no cap.
	LogMaxBytes int64
	// ServicePorts is the range service replicas' ports are picked from
	// (client { service_ports }); zero: structs.DefaultServicePorts.
	ServicePorts structs.PortRange
	// RootTasks says whether a task may run as root (uid 0) when the agent
	// is root: RootTasksAllow or RootTasksRefuse; "" is refuse (the
	// operator allows root tasks with client { allow_root_tasks = true }).
	// See rootpolicy.go.
	RootTasks string
	// Hooks are the node's prolog and epilog (hooks.go); SetHooks
	// changes them while the client runs.
	Hooks Hooks
	// MinFreeDisk is the free space the data dir must keep for a job to
	// start here (client { min_free_disk }, disk.go); 0: the default
	// (DefaultMinFreeDisk, or 5 % of the filesystem when less); negative:
	// not checked.
	MinFreeDisk int64
}

// Client is the GPU host side of the agent: it registers the node, runs
// the allocations the servers place on it and reports how they end.
type Client struct {
	cfg     Config
	logger  *slog.Logger
	nodeID  string
	updater *updater
	// api reaches the servers as this node (its secret as token); the
	// node secret never leaves this host but in that header and at
	// registration.
	api    *api.Client
	secret string
	// secretKnown says whether the servers are taken to know the node's
	// secret: false for a secret this agent just made, until the node is
	// registered with the agent's token, so that the first registration
	// makes no call with a secret the servers cannot know.
	secretKnown atomic.Bool
	// authz caches the servers' answers about who may read a job's logs
	// (door.go).
	authz authzCache

	mu      sync.Mutex
	runners map[string]*allocRunner
	// unstarted remembers stop requests for allocations that never ran
	// here and were already reported, so they are reported once.
	unstarted map[string]bool
	// settled remembers the allocations listed as running that have a dir
	// here but no runner and were reported or refused (restored.go), so
	// each is reported once. Both are keyed by allocKey.
	settled map[string]bool
	wg      sync.WaitGroup

	cache      *blobCache
	reregister chan struct{} // the GPUs' health or the capacity changed: register again
	// capMu guards the CPU and memory offered to jobs: the fingerprint's,
	// until SetCapacity changes them.
	capMu       sync.Mutex
	cpu         float64
	memoryBytes int64
	gpuMu       sync.Mutex
	monitor     *fingerprint.Monitor // nil without GPUs or NVML
	hooksMu     sync.Mutex
	hooks       Hooks
	// gatherer is what GET /v1/metrics serves on a client-only agent
	// (metrics_export.go).
	gatherer atomic.Pointer[promtext.Gatherer]
	// primed is when cgroup migrations were last primed (unix ns).
	primed atomic.Int64
	// ports are the service ports this node's replicas hold (service.go).
	portMu sync.Mutex
	ports  map[int]string
	// execLog is DataDir/executor.log, every executor's stderr (execlog.go).
	execLogMu sync.Mutex
	execLog   *os.File
	// execs are the idle executors, for reuse (execpool.go).
	execs execPool
	// mountNS says whether tasks get their datasets and models read-only
	// in a mount namespace (readonly.go).
	mountNS bool
	// statfs is statfsSpace, or a test's (disk.go); diskLow is the latest
	// check's problem ("" for none).
	statfs  func(path string) (diskSpace, error)
	diskLow atomic.Pointer[string]
	// diskRoomy: the latest check found room to end the node's drain;
	// diskDrained: a refusal for the disk drained it (disk.go).
	diskRoomy, diskDrained atomic.Bool
	diskEvery              time.Duration // diskCheckEvery, or a test's
	// createArchive makes an output archive's file: createArchiveFile,
	// or a test's (outputs.go).
	createArchive func(path string) (io.WriteCloser, error)
	// problems receives the client's conditions for nai agent-info
	// (SetProblems); nil: none.
	problemsMu sync.Mutex
	problems   ProblemSink
}

// New checks the configuration, makes the data dir and reads (or creates)
// the node id. It starts nothing.
func New(cfg Config) (*Client, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("client: data dir is required")
	}
	if cfg.Servers == nil {
		return nil, errors.New("client: servers (api client) are required")
	}
	if cfg.Host == nil {
		return nil, errors.New("client: host fingerprint is required")
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = DefaultKillGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeName == "" {
		cfg.NodeName = cfg.Host.Hostname
	}
	if cfg.NodeName == "" {
		return nil, errors.New("client: node name is required (the host name is unknown)")
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("client data dir %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dataDir
	if err := tightenDataDir(dataDir, cfg.Logger); err != nil { // perms.go
		return nil, err
	}
	id, err := loadNodeID(filepath.Join(dataDir, "node-id"))
	if err != nil {
		return nil, err
	}
	secret, fresh, err := loadNodeSecret(filepath.Join(dataDir, "node-secret"))
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		logger:    cfg.Logger.With("node_id", id),
		nodeID:    id,
		runners:   map[string]*allocRunner{},
		unstarted: map[string]bool{},
		settled:   map[string]bool{},
		api:       cfg.Servers.WithToken(secret),
		secret:    secret,

		cpu:         cfg.Host.CPU,
		memoryBytes: cfg.Host.MemoryBytes,
		ports:       map[int]string{},
		statfs:      statfsSpace,
		diskEvery:   diskCheckEvery,

		createArchive: createArchiveFile,
	}
	c.secretKnown.Store(!fresh)
	c.diskDrained.Store(exists(filepath.Join(dataDir, diskDrainedFile)))
	c.execs.logger = c.logger
	c.updater = newUpdater(c.api, id, c.logger)
	c.updater.refused = c.reportRefused
	c.reregister = make(chan struct{}, 1)
	if err := c.checkOptions(); err != nil {
		return nil, err
	}
	if err := c.SetHooks(cfg.Hooks); err != nil {
		return nil, err
	}
	var why string
	if c.mountNS, why = mountNamespaces(); !c.mountNS {
		c.logger.Warn("tasks' datasets and models are read-only by file permissions alone, not by a read-only mount: a task running as the agent's user or as root can change the node's cached copy", "reason", why)
	}
	c.cache = newBlobCache(filepath.Join(dataDir, "cache", "blobs"), c.cfg.CacheMaxBytes, c.fetchBlob, c.logger)
	return c, nil
}

// loadNodeID reads the persisted node id or makes a new one.
func loadNodeID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if _, perr := uuid.Parse(id); perr != nil {
			return "", fmt.Errorf("node id file %s holds %q: expected a uuid (remove the file to get a new id)", path, id)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	id := uuid.NewString()
	if err := executor.WriteFileDurable(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("save node id: %w", err)
	}
	return id, nil
}

// loadNodeSecret reads the persisted node secret or makes a new one
// (fresh: no server can know it yet). Only root (the agent) may read the
// file.
func loadNodeSecret(path string) (secret string, fresh bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return "", false, fmt.Errorf("node secret file %s is too short: remove it to make a new one (the node then registers again with the agent's token)", path)
		}
		return s, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read node secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("make node secret: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	if err := executor.WriteFileDurable(path, []byte(s+"\n")); err != nil {
		return "", false, fmt.Errorf("save node secret: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", false, fmt.Errorf("protect node secret: %w", err)
	}
	return s, true, nil
}

// NodeID is this node's stable id.
func (c *Client) NodeID() string { return c.nodeID }

func (c *Client) nodeName() string { return c.cfg.NodeName }

func (c *Client) allocsDir() string { return filepath.Join(c.cfg.DataDir, "allocs") }

// node is what the client registers.
func (c *Client) node() *structs.Node {
	h := c.cfg.Host
	attrs := map[string]string{}
	for k, v := range map[string]string{"os": h.OS, "kernel": h.Kernel, "hostname": h.Hostname, "nvml_error": h.NVMLError} {
		if v != "" {
			attrs[k] = v
		}
	}
	if h.Fake {
		attrs["fake_gpus"] = "true"
	}
	// The version of nai running on the node, for `nai node status`.
	attrs["nai_version"] = version.Get().Version
	if c.cfg.Cgroups != nil {
		attrs["cgroups"] = fmt.Sprintf("v%d", c.cfg.Cgroups.Version())
	} else {
		attrs["cgroups"] = "disabled"
	}
	gpus := c.gpus()
	c.capMu.Lock()
	cpu, mem := c.cpu, c.memoryBytes
	c.capMu.Unlock()
	return &structs.Node{
		ID:          c.nodeID,
		Name:        c.cfg.NodeName,
		Datacenter:  c.cfg.Datacenter,
		HTTPAddr:    c.cfg.HTTPAddr,
		Status:      structs.NodeReady,
		Eligible:    true,
		CPU:         cpu,
		MemoryBytes: mem,
		GPUs:        gpus,
		Driver:      h.Driver,
		CUDAVersion: h.CUDAVersion,
		Attributes:  attrs,
		// A service replica holds one of these ports.
		ServicePorts: c.cfg.ServicePorts,
	}
}

// SetCapacity changes the CPU cores and memory the node offers to jobs
// (the agent's configuration reload changed what the host keeps for
// itself) and registers the node again with them. Running allocations are
// not touched: a node that now offers less than its jobs hold gets no new
// work until enough of them end.
func (c *Client) SetCapacity(cpu float64, memoryBytes int64) {
	c.capMu.Lock()
	changed := cpu != c.cpu || memoryBytes != c.memoryBytes
	c.cpu, c.memoryBytes = cpu, memoryBytes
	c.capMu.Unlock()
	if !changed {
		return
	}
	c.logger.Info("node capacity changed: registering again", "cpu", cpu, "memory_bytes", memoryBytes)
	select {
	case c.reregister <- struct{}{}:
	default: // one is pending already; it will read the newest capacity
	}
}

// Run registers the node (retrying until the servers answer), takes back
// the allocations an earlier agent left, and then runs what the servers
// place here until ctx ends. Executors keep running after Run returns.
func (c *Client) Run(ctx context.Context) error {
	go c.updater.run(ctx)
	// The monitor first, so that a GPU found broken at start is registered
	// unhealthy.
	if m := c.startGPUMonitor(ctx); m != nil {
		defer m.Stop()
	}
	if err := c.register(ctx); err != nil {
		return nil // ctx ended
	}
	go c.registerLoop(ctx)
	c.recover(ctx)
	go c.gcLoop(ctx)
	go c.diskLoop(ctx) // disk.go
	err := c.poll(ctx)
	c.wg.Wait()
	c.execs.close()
	c.closeExecutorLog()
	return err
}

func (c *Client) register(ctx context.Context) error {
	b := newBackoff(100*time.Millisecond, 10*time.Second)
	for {
		// A node the servers know refreshes itself with its own secret;
		// the first registration needs the agent's token (policy node),
		// and a secret just made is not tried first: the servers cannot
		// know it (that call would only be refused).
		reg := c.cfg.Servers
		if c.cfg.RegisterToken != nil {
			if t := c.cfg.RegisterToken(); t != "" {
				reg = reg.WithToken(t)
			}
		}
		known := c.secretKnown.Load()
		var err error
		if known || reg.Token() == "" {
			err = c.api.RegisterNode(ctx, c.node(), c.secret)
		}
		if (!known && reg.Token() != "") || api.IsUnauthorized(err) || api.IsForbidden(err) {
			if reg.Token() != "" {
				err = reg.RegisterNode(ctx, c.node(), c.secret)
			} else {
				// The servers do not know this node's own secret and
				// there is no token to register it with: say that,
				// not "unknown token" about a secret nobody set.
				err = fmt.Errorf("no agent token is configured (acl { agent_token } or -acl-agent-token: a token of policy node, from nai token create -policy node), and the servers do not know this node's own secret yet: %w", err)
			}
		}
		if err == nil {
			c.secretKnown.Store(true)
			c.logger.Info("node registered", "name", c.cfg.NodeName, "gpus", len(c.cfg.Host.GPUs))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.logger.Warn("cannot register node, will retry", "error", err)
		if !b.wait(ctx) {
			return ctx.Err()
		}
	}
}

// poll long-polls the node's allocations and acts on every answer.
func (c *Client) poll(ctx context.Context) error {
	var index uint64
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		asked := time.Now()
		allocs, idx, err := c.api.NodeAllocations(ctx, c.nodeID, index, pollWait)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.logger.Warn("cannot fetch allocations, will retry", "error", err)
			if api.IsNotFound(err) || api.IsUnauthorized(err) {
				// The servers forgot the node or its secret (a wiped
				// state, a snapshot restored from before it registered):
				// introduce it again, with the agent's token.
				if api.IsUnauthorized(err) {
					c.secretKnown.Store(false)
				}
				if c.register(ctx) != nil {
					break
				}
			}
			if !b.wait(ctx) {
				break
			}
			continue
		}
		b.reset()
		full := c.reconcile(ctx, allocs, idx, index > 0)
		switch {
		case !full:
			// An allocation to start came without its job (a compact
			// answer): ask again for every allocation in full.
			index = 0
		case idx < index:
			index = 0 // the servers' state was reset; start over
		case idx == index || idx == 0:
			// No progress. After a full wait that is normal; a server that
			// answers at once without progress must not make us spin.
			if time.Since(asked) < pollWait/2 && !sleepCtx(ctx, 100*time.Millisecond) {
				return nil
			}
		default:
			index = idx
		}
	}
	return nil
}

// reconcile makes the node's runners match the servers' view: start what
// is new, stop what is to be stopped or no longer listed. It reports false
// when an allocation to start came without its job, as a compact answer
// sends those it already sent in full (api.NodeAllocations): the client
// must ask again from index 0 rather than start it without one.
func (c *Client) reconcile(ctx context.Context, allocs []*structs.Allocation, index uint64, compact bool) (full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	full = true
	listed := make(map[string]bool, len(allocs))
	for _, a := range allocs {
		if a.NodeID != "" && a.NodeID != c.nodeID {
			continue
		}
		listed[a.ID] = true
		r := c.runners[a.ID]
		switch {
		case r != nil && a.DesiredStatus == structs.DesiredStop:
			r.stop(a.DesiredReason)
		case r != nil && a.ClientStatus.Status == structs.AllocLost:
			r.stop(structs.ExitNodeLost)
		case r != nil:
		case a.Terminal():
		case c.settleLocked(ctx, a):
			// Its dir was here without a runner: it ran here before, or
			// an earlier allocation of its id did (restored.go).
		case a.DesiredStatus == structs.DesiredRun && a.Job == nil && compact && !exists(filepath.Join(c.allocsDir(), a.ID)):
			full = false
		case a.DesiredStatus == structs.DesiredRun:
			c.startLocked(ctx, a)
		case a.DesiredStatus == structs.DesiredStop:
			c.ackUnstartedStopLocked(a)
		}
	}
	for id, r := range c.runners {
		switch {
		case listed[id] || !r.running():
		case index >= r.alloc.CreateIndex:
			r.logger.Warn("allocation no longer listed by the servers; stopping it")
			r.stop(structs.ExitNodeLost)
		default:
			// A runner newer than this answer is not stale when the answer
			// came from a follower behind; but a restored snapshot moves
			// the index back too. A report settles it: the leader answers,
			// and refuses one of an allocation it does not know
			// (reportRefused).
			r.probe()
		}
	}
	return full
}

// reportRefused stops an allocation whose report the servers refused
// because they do not know it (a snapshot restored from before it was
// placed): it must not run on, holding its GPUs, unseen by the servers.
func (c *Client) reportRefused(allocID string, err error) {
	if structs.CodeOf(err) != structs.CodeNotFound {
		return
	}
	c.mu.Lock()
	r := c.runners[allocID]
	c.mu.Unlock()
	if r == nil || !r.running() {
		return
	}
	r.logger.Warn("the servers do not know this allocation (their state was restored from a snapshot?): stopping it", "error", err)
	r.stop(structs.ExitNodeLost)
}

// startLocked starts an allocation once: a dir for it means it ran here
// before (or runs now), and a task is never run twice.
func (c *Client) startLocked(ctx context.Context, a *structs.Allocation) {
	if err := validAllocID(a.ID); err != nil {
		c.logger.Error("refusing allocation", "error", err)
		return
	}
	dir := filepath.Join(c.allocsDir(), a.ID)
	if exists(dir) {
		return
	}
	// The dir is made here, not in the runner's goroutine: it marks the
	// allocation as taken, and a stop that comes at once has a place for
	// its stop file.
	if err := os.Mkdir(dir, modeTraverse); err != nil { // perms.go
		c.logger.Error("cannot make allocation dir", "alloc", a.ID, "error", err)
		return
	}
	r := newAllocRunner(c, a)
	c.runners[a.ID] = r
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.forget(a.ID)
		if a.Job == nil {
			r.report(ctx, r.startFailed(errors.New("the allocation came without its job")))
			return
		}
		if r.serviceSpec() != nil {
			if !r.startService(ctx) { // tried again until it starts (service.go)
				return
			}
		} else if err := r.start(); err != nil {
			r.logger.Error("cannot start allocation", "error", err)
			r.cleanupCgroup()
			r.report(ctx, r.startFailed(err))
			return
		}
		r.logger.Info("allocation started", "gpus", a.GPUs)
		r.run(ctx, true)
	}()
}

// primeWindow is how long a primed host stays ready for migrations: the
// kernel keeps its lock's fast path about that long after a move (a move
// 20 ms after another took 0.07 ms, one 50 ms after took 7.5 ms).
const primeWindow = 20 * time.Millisecond

// primeMigrations has the host's wait before the next cgroup migration
// done now, in the background, while the executor starts
// (cgroups.PrimeMigrations): a lone job's task started 7-8 ms later
// without it. Called once the allocation's cgroup is made: the wait holds
// the host's cgroup lock, and a cgroup made during it waited as long
// (perf trace: mkdir 10-12 ms beside the priming move). Starts in a burst
// share one.
//
// On cgroup v1 the executor no longer moves a process: one of its threads
// visits the cgroup (executor/direct.go), which takes neither the lock nor
// the wait, so there is nothing to prime, and a priming move would only
// hold up the next allocations' cgroup directories. It primes for the
// moves that remain: cgroup v2 (the exec shim moves itself), and the
// exec shim or the whole-process visit asked for by environment.
func (c *Client) primeMigrations() {
	if c.cfg.Cgroups == nil || !movesProcesses(c.cfg.Cgroups.Version(), os.Getenv) {
		return
	}
	now, last := time.Now().UnixNano(), c.primed.Load()
	if now-last < int64(primeWindow) || !c.primed.CompareAndSwap(last, now) {
		return
	}
	go func() {
		if err := cgroups.PrimeMigrations(); err != nil {
			c.logger.Debug("cannot prime cgroup migrations", "error", err)
		}
	}()
}

// movesProcesses reports whether the executors this agent starts move
// whole processes into allocation cgroups (see primeMigrations): on cgroup
// v2, and on v1 with NAI_EXEC_SHIM=1 or NAI_EXEC_PROCESS_MOVE=1 in the
// environment the executors inherit.
func movesProcesses(version int, getenv func(string) string) bool {
	return version != 1 || getenv("NAI_EXEC_SHIM") == "1" || getenv("NAI_EXEC_PROCESS_MOVE") == "1"
}

// ackUnstartedStopLocked reports an allocation stopped before it ever ran
// here, so the servers do not wait for it.
func (c *Client) ackUnstartedStopLocked(a *structs.Allocation) {
	if c.unstarted[allocKey(a)] || exists(filepath.Join(c.allocsDir(), a.ID)) {
		return
	}
	c.unstarted[allocKey(a)] = true
	reason := a.DesiredReason
	if reason == "" {
		reason = structs.ExitCancelled
	}
	c.updater.post(&structs.AllocUpdate{AllocID: a.ID, Client: structs.ClientStatusFields{
		Status: structs.AllocFailed, ExitReason: reason, Message: "stopped before it started", EndTime: time.Now(),
	}})
}

func (c *Client) forget(id string) {
	c.mu.Lock()
	delete(c.runners, id)
	c.mu.Unlock()
}
