package membership

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nai-project/nai/internal/gossipkey"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// Config configures one agent's membership.
type Config struct {
	NodeName string
	// BindAddr is the IP serf listens on and advertises; it must be an
	// address the other agents can reach.
	BindAddr string
	// BindPort is the serf port (TCP and UDP); 0 picks a free one.
	BindPort int
	Tags     Tags
	// EncryptKey is a base64 gossip key from gossipkey.Generate; "" gossips in
	// clear text.
	EncryptKey string
	// Profile tunes failure detection: "lan" (memberlist's LAN defaults),
	// or "local" (fast probes for agents on one machine, as in tests).
	// Empty picks "local" for a loopback BindAddr, else "lan".
	Profile string
	Logger  *slog.Logger

	// broadcastTimeout replaces serf's wait for a tags broadcast (5 s);
	// tests shorten it to see what a busy machine sees.
	broadcastTimeout time.Duration
	// compress gossips compressed, as agents of earlier versions do;
	// tests use it to show that both kinds understand each other.
	compress bool
}

// Member is one agent as serf sees it.
type Member struct {
	Name   string `json:"name"`
	Addr   string `json:"addr"`   // serf host:port
	Status string `json:"status"` // alive, leaving, left, failed
	Tags   Tags   `json:"tags"`
	// TagsError says why the member's tags could not be read; such a
	// member is never used as a server.
	TagsError string `json:"tags_error,omitempty"`
}

// Alive reports whether serf considers the member up.
func (m Member) Alive() bool { return m.Status == serf.StatusAlive.String() }

// Membership is this agent's serf.
type Membership struct {
	cfg      Config
	logger   *slog.Logger
	serf     *serf.Serf
	events   chan serf.Event
	problems *Problems

	mu       sync.Mutex
	subs     []chan struct{}
	stopping bool

	joinMu   sync.Mutex
	joinStop context.CancelFunc

	// tagsMu guards cfg.Tags, which SetTags replaces while others read.
	tagsMu sync.Mutex

	done chan struct{}
}

// New starts serf. It does not join anybody: call Join or JoinRetry.
func New(cfg Config) (*Membership, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeName == "" {
		return nil, errors.New("membership: node name is required")
	}
	ip := net.ParseIP(cfg.BindAddr)
	if ip == nil {
		return nil, fmt.Errorf("membership: bind address %q is not an IP address", cfg.BindAddr)
	}
	if ip.IsUnspecified() {
		return nil, fmt.Errorf("membership: bind address %s cannot be advertised to other agents: give the address they reach this host at", cfg.BindAddr)
	}
	if cfg.BindPort < 0 || cfg.BindPort > 65535 {
		return nil, fmt.Errorf("membership: serf port %d is out of range", cfg.BindPort)
	}
	if cfg.Profile == "" {
		cfg.Profile = "lan"
		if ip.IsLoopback() {
			cfg.Profile = "local"
		}
	}
	m := &Membership{
		cfg:      cfg,
		logger:   cfg.Logger,
		events:   make(chan serf.Event, 256),
		problems: &Problems{},
		done:     make(chan struct{}),
	}
	bridge := &logBridge{logger: cfg.Logger.With("component", "serf"), problems: m.problems}
	stdLogger := log.New(bridge, "", 0)

	sc := serf.DefaultConfig()
	sc.NodeName = cfg.NodeName
	sc.Tags = cfg.Tags.Map()
	sc.EventCh = m.events
	sc.Logger = stdLogger
	sc.LogOutput = nil
	if cfg.broadcastTimeout > 0 {
		sc.BroadcastTimeout = cfg.broadcastTimeout
	}
	var mc *memberlist.Config
	switch cfg.Profile {
	case "lan":
		mc = memberlist.DefaultLANConfig()
	case "local":
		mc = memberlist.DefaultLocalConfig()
		// Agents on one machine: detect a dead one in a few seconds,
		// leave fast, and retry failed members often so a resumed
		// (SIGCONT) agent is seen again quickly.
		mc.ProbeInterval = 300 * time.Millisecond
		mc.ProbeTimeout = 200 * time.Millisecond
		mc.GossipInterval = 50 * time.Millisecond
		mc.PushPullInterval = 5 * time.Second
		// Each broadcast (a leave intent above all) is sent 4 times per
		// log10(N+1), as on a LAN, not memberlist's local 2: agents on one
		// loaded machine can miss packets while starved of CPU, and a
		// leave that no server hears leaves the leaver "failed" and in
		// raft (a flake of TestClusterBootstrapForwardAndLiveness under
		// make test, 2026-12-05).
		mc.RetransmitMult = 4
		sc.LeavePropagateDelay = 200 * time.Millisecond
		sc.ReconnectInterval = 2 * time.Second
		sc.ReapInterval = 5 * time.Second
	default:
		return nil, fmt.Errorf("membership: gossip profile %q is unknown: expected lan or local", cfg.Profile)
	}
	// An agent restarted on another address (a new serf port) may take
	// its name back from its dead self; without this memberlist refuses
	// it as a name conflict until the dead member is reaped.
	if mc.DeadNodeReclaimTime == 0 {
		mc.DeadNodeReclaimTime = 30 * time.Second
		if cfg.Profile == "local" {
			mc.DeadNodeReclaimTime = time.Second
		}
	}
	// Gossip messages fit in a datagram, and a LAN does not need them
	// smaller: memberlist's LZW compression allocated a 16 KB encoder for
	// each message, half of what an idle agent allocated (so half of its
	// idle heap's growth). Agents still read compressed messages from
	// peers that send them.
	mc.EnableCompression = cfg.compress
	if cfg.EncryptKey != "" {
		key, err := gossipkey.Decode(cfg.EncryptKey)
		if err != nil {
			return nil, fmt.Errorf("membership: %w", err)
		}
		mc.SecretKey = key
	}
	// The port is bound last, once the configuration is known good.
	tr, err := newTransport(ip, cfg.BindPort, cfg.Logger.With("component", "gossip"))
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	mc.Transport = tr
	mc.Name = cfg.NodeName
	mc.BindAddr = cfg.BindAddr
	mc.BindPort = tr.port
	mc.AdvertiseAddr = cfg.BindAddr
	mc.AdvertisePort = tr.port
	mc.Logger = stdLogger
	mc.LogOutput = nil
	sc.MemberlistConfig = mc
	s, err := serf.Create(sc)
	if err != nil {
		tr.Shutdown() // memberlist shuts it down only once it is running
		return nil, fmt.Errorf("start serf on %s:%d: %w", cfg.BindAddr, cfg.BindPort, err)
	}
	m.serf = s
	go m.consume()
	return m, nil
}

// consume drains serf's events without ever blocking on a consumer: each
// subscriber is signalled through a one-slot channel and re-reads Members.
func (m *Membership) consume() {
	defer close(m.done)
	for {
		select {
		case e := <-m.events:
			if me, ok := e.(serf.MemberEvent); ok {
				for _, mem := range me.Members {
					m.logger.Info("serf member "+eventVerb(me.Type), "member", mem.Name,
						"addr", net.JoinHostPort(mem.Addr.String(), strconv.Itoa(int(mem.Port))), "role", mem.Tags[tagRole])
					if _, err := ParseTags(mem.Tags); err != nil && me.Type != serf.EventMemberLeave && me.Type != serf.EventMemberReap {
						m.problems.Report(ProblemTags, fmt.Sprintf("member %s gossips tags nai cannot read: %v", mem.Name, err))
					}
				}
				m.notify()
			}
		case <-m.serf.ShutdownCh():
			if !m.isStopping() {
				m.problems.Report(ProblemStopped, "serf stopped on its own (see the log): this agent no longer takes part in the cluster")
				m.logger.Error("serf stopped on its own: this agent no longer takes part in the cluster")
			}
			m.notify()
			return
		}
	}
}

func (m *Membership) isStopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

func eventVerb(t serf.EventType) string {
	switch t {
	case serf.EventMemberJoin:
		return "joined"
	case serf.EventMemberLeave:
		return "left"
	case serf.EventMemberFailed:
		return "failed"
	case serf.EventMemberUpdate:
		return "updated"
	case serf.EventMemberReap:
		return "reaped"
	}
	return t.String()
}

// Subscribe returns a channel that receives a value (coalesced, never
// blocking serf) whenever membership changes. Call Members to see how.
func (m *Membership) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.subs = append(m.subs, ch)
	m.mu.Unlock()
	return ch
}

// Unsubscribe stops signals to a channel from Subscribe.
func (m *Membership) Unsubscribe(ch <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs = slices.DeleteFunc(m.subs, func(c chan struct{}) bool { return c == ch })
}

func (m *Membership) notify() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range m.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Members returns every member serf knows, this agent included, sorted by
// name.
func (m *Membership) Members() []Member {
	ms := m.serf.Members()
	out := make([]Member, 0, len(ms))
	for _, sm := range ms {
		out = append(out, toMember(sm))
	}
	slices.SortFunc(out, func(a, b Member) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

func toMember(sm serf.Member) Member {
	t, err := ParseTags(sm.Tags)
	mem := Member{
		Name:   sm.Name,
		Addr:   net.JoinHostPort(sm.Addr.String(), strconv.Itoa(int(sm.Port))),
		Status: sm.Status.String(),
		Tags:   t,
	}
	if err != nil {
		mem.TagsError = err.Error()
	}
	return mem
}

// Local returns this agent's own member.
func (m *Membership) Local() Member { return toMember(m.serf.LocalMember()) }

// Addr is the serf address other agents join (host:port).
func (m *Membership) Addr() string { return m.Local().Addr }

// Encrypted reports whether gossip is encrypted.
func (m *Membership) Encrypted() bool { return m.serf.EncryptionEnabled() }

// Problems is this agent's record of problems; other packages (the server's
// bootstrap) add theirs to it so `nai agent-info` shows them all.
func (m *Membership) Problems() *Problems { return m.problems }

// SetTags replaces this agent's tags and gossips them.
func (m *Membership) SetTags(t Tags) error {
	m.tagsMu.Lock()
	defer m.tagsMu.Unlock()
	if err := m.serf.SetTags(t.Map()); err != nil {
		if !isBroadcastTimeout(err) {
			return fmt.Errorf("update serf tags: %w", err)
		}
		// serf has taken the tags and queued their broadcast; it only did
		// not see it sent within its timeout (a busy machine). Gossip and
		// push-pull carry it on, so the tags are this agent's now.
		m.logger.Warn("serf tags updated, their broadcast is still queued", "err", err)
	}
	m.cfg.Tags = t
	return nil
}

// isBroadcastTimeout reports memberlist's "timeout waiting for update
// broadcast", which it returns after it has applied the update locally.
// memberlist has no error value for it, so the text is what is matched.
func isBroadcastTimeout(err error) bool {
	return strings.Contains(err.Error(), "timeout waiting for update broadcast")
}

// Tags returns this agent's own tags.
func (m *Membership) Tags() Tags {
	m.tagsMu.Lock()
	defer m.tagsMu.Unlock()
	return m.cfg.Tags
}

// Join joins the cluster through any of addrs (serf host:port) once. It
// succeeds when at least one answered.
func (m *Membership) Join(addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	n, err := m.serf.Join(addrs, true)
	if n > 0 {
		m.problems.Resolve(ProblemJoin)
		m.logger.Info("joined the cluster", "through", addrs, "contacted", n)
		return nil
	}
	if err == nil {
		err = errors.New("no agent answered")
	}
	return fmt.Errorf("join %v: %w", addrs, err)
}

// RetryPolicy paces JoinRetry.
type RetryPolicy struct {
	Initial time.Duration // first wait; default 1s
	Max     time.Duration // longest wait; default 30s
}

// JoinRetry joins through addrs in the background, retrying with doubling
// waits until one answers, ctx ends or the agent leaves. Every failure is
// logged and kept in Problems. It returns at once; done (when non-nil)
// receives the final error (nil on success).
func (m *Membership) JoinRetry(ctx context.Context, addrs []string, p RetryPolicy, done func(error)) {
	if p.Initial <= 0 {
		p.Initial = time.Second
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	m.joinMu.Lock()
	if m.joinStop != nil {
		m.joinStop()
	}
	m.joinStop = cancel
	m.joinMu.Unlock()
	go func() {
		defer cancel()
		wait := p.Initial
		for attempt := 1; ; attempt++ {
			err := m.Join(addrs)
			if err == nil {
				if done != nil {
					done(nil)
				}
				return
			}
			kind := ProblemJoin
			if k, _ := classify(err.Error()); k == ProblemEncrypt {
				kind = k
			}
			m.problems.Report(kind, fmt.Sprintf("cannot join the cluster through %v: %v (retrying)", addrs, err))
			m.logger.Warn("join failed; retrying", "through", addrs, "attempt", attempt, "retry_in", wait, "err", err)
			select {
			case <-ctx.Done():
				if done != nil {
					done(fmt.Errorf("join %v: gave up after %d attempts: %w", addrs, attempt, ctx.Err()))
				}
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, p.Max)
		}
	}()
}

// Leave tells the cluster this agent is going away on purpose (a server is
// then removed from raft, a client's node marked down at once), then stops
// serf.
func (m *Membership) Leave() error {
	m.markStopping()
	err := m.serf.Leave()
	if serr := m.serf.Shutdown(); err == nil {
		err = serr
	}
	<-m.done
	if err != nil {
		return fmt.Errorf("leave serf: %w", err)
	}
	return nil
}

// Shutdown stops serf without telling anybody (the others will see this
// agent fail).
func (m *Membership) Shutdown() error {
	m.markStopping()
	err := m.serf.Shutdown()
	<-m.done
	if err != nil {
		return fmt.Errorf("stop serf: %w", err)
	}
	return nil
}

func (m *Membership) markStopping() {
	m.joinMu.Lock()
	if m.joinStop != nil {
		m.joinStop()
	}
	m.joinMu.Unlock()
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
}

// ForceLeave marks a failed member as left, so it is no longer waited for
// (a server is then removed from raft by the leader).
func (m *Membership) ForceLeave(node string) error {
	if err := m.serf.RemoveFailedNode(node); err != nil {
		return fmt.Errorf("force-leave %s: %w", node, err)
	}
	return nil
}
