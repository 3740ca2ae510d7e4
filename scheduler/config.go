package scheduler

import (
	"time"

	"github.com/nai-project/nai/structs"
)

// BackfillMode names the backfill algorithm.
type BackfillMode string

const (
	// BackfillEASY reserves resources for the top blocked job only; lower
	// jobs start now if they cannot delay that reservation.
	BackfillEASY BackfillMode = "easy"
)

// FairShareConfig holds the shares users and groups are entitled to.
type FairShareConfig struct {
	// HalfLife is how fast past usage is forgotten (Slurm's
	// PriorityDecayHalfLife). Used by the usage helpers.
	HalfLife      time.Duration      `json:"half_life"`
	UserShares    map[string]float64 `json:"user_shares,omitempty"`
	GroupShares   map[string]float64 `json:"group_shares,omitempty"`
	DefaultShares float64            `json:"default_shares"` // for anyone not listed
}

// Config is the whole scheduling policy. The zero value is a strict
// priority-then-submit-order scheduler (all-zero Weights mean Job: 1);
// DefaultConfig is the recommended multifactor policy. Weights with only
// Age set give first-in first-out.
type Config struct {
	Weights structs.PriorityWeights `json:"weights"`
	// MaxAge is the wait after which the age factor reaches 1.
	MaxAge time.Duration `json:"max_age"`

	Backfill     bool         `json:"backfill"`
	BackfillMode BackfillMode `json:"backfill_mode,omitempty"`
	// DefaultTimeLimit is assumed for running jobs that have none when
	// reservations and estimates are computed; zero means they run
	// forever (nothing is expected back from them).
	DefaultTimeLimit time.Duration `json:"default_time_limit,omitempty"`

	// Preemption lets jobs of a higher queue tier stop preemptible jobs.
	Preemption bool `json:"preemption"`

	FairShare FairShareConfig `json:"fair_share"`
	// Runtime scales the Runtime factor (runtime.go).
	Runtime RuntimeConfig `json:"runtime"`
	// Usage is the decayed GPU-hour usage per user and group, computed by
	// the caller with Usage.Advance or AccumulateUsage; nil means none.
	Usage *Usage `json:"-"`

	// Queues defines the queues; empty means one queue, "default", on
	// every node with no limits.
	Queues []structs.Queue `json:"queues,omitempty"`

	UserQuotas        map[string]structs.Quota `json:"user_quotas,omitempty"`
	GroupQuotas       map[string]structs.Quota `json:"group_quotas,omitempty"`
	DefaultUserQuota  structs.Quota            `json:"default_user_quota"`
	DefaultGroupQuota structs.Quota            `json:"default_group_quota"`

	// SkipEstimates leaves WaitStatus.EstimatedStart zero except for the
	// reserved job; the simulator sets it because nobody reads them there.
	SkipEstimates bool `json:"skip_estimates,omitempty"`
	// PlacementsOnly makes a pass for a replay, where nobody reads why a
	// job waits: it makes the same placements, preemptions and
	// cancellations as a full pass among the jobs it looks at, but stops
	// once no later job can start (never with Preemption on), so the
	// jobs after that get no WaitStatus (replay.go). Never for a live
	// cluster, whose users read every job's reason.
	PlacementsOnly bool `json:"-"`

	// firstEstimates leaves each estimate as wait() computed it, without
	// the profile of the jobs ahead (profile.go): for tests that compare a
	// full pass with a PlacementsOnly one, which never refines.
	firstEstimates bool
}

// DefaultConfig is Slurm-like multifactor priority in which the job's own
// priority dominates (each point weighs as much as the whole range of any
// other factor), then three factors of equal weight: the expected run time from the time
// limit (shortest first, runtime.go), fair share, and age, which after
// MaxAge has made up the whole runtime range, so no job starves behind an
// endless stream of shorter ones. EASY backfill on; preemption on (only
// preemptible jobs in lower tiers). The runtime and age weights and the
// runtime scale were tuned on the first half of the Philly trace and
// checked on the second (BENCH.md, "Scheduling quality").
func DefaultConfig() Config {
	return Config{
		Weights: structs.PriorityWeights{
			Job:       1_000_000,
			Queue:     10_000,
			FairShare: 10_000,
			Age:       10_000,
			JobSize:   0,
			Runtime:   10_000,
		},
		Runtime:      RuntimeConfig{Short: DefaultRuntimeShort, Long: DefaultRuntimeLong},
		MaxAge:       7 * 24 * time.Hour,
		Backfill:     true,
		BackfillMode: BackfillEASY,
		Preemption:   true,
		FairShare: FairShareConfig{
			HalfLife:      7 * 24 * time.Hour,
			DefaultShares: 1,
		},
	}
}

// DefaultQueue is the queue of a job that names none.
const DefaultQueue = structs.DefaultQueueName

// Scheduler plans with one Config. It keeps no state between calls, so
// one Scheduler may be used from several goroutines.
type Scheduler struct {
	cfg    Config
	queues map[string]*queueInfo
	// maxQueuePrio normalises structs.Queue.Priority to 0..1.
	maxQueuePrio int
}

type queueInfo struct {
	cfg     structs.Queue
	nodes   map[string]bool // names or IDs; nil = all
	allowed map[string]bool // nil = all
}

// New returns a scheduler for cfg. cfg is copied; maps in it must not be
// changed afterwards.
func New(cfg Config) *Scheduler {
	s := &Scheduler{cfg: cfg, queues: map[string]*queueInfo{}}
	if cfg.Weights == (structs.PriorityWeights{}) {
		s.cfg.Weights = structs.PriorityWeights{Job: 1}
	}
	if cfg.MaxAge <= 0 {
		s.cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.FairShare.DefaultShares <= 0 {
		s.cfg.FairShare.DefaultShares = 1
	}
	if cfg.BackfillMode == "" {
		s.cfg.BackfillMode = BackfillEASY
	}
	if cfg.Runtime.Short <= 0 {
		s.cfg.Runtime.Short = DefaultRuntimeShort
	}
	if cfg.Runtime.Long <= s.cfg.Runtime.Short {
		s.cfg.Runtime.Long = max(DefaultRuntimeLong, 2*s.cfg.Runtime.Short)
	}
	for _, q := range cfg.Queues {
		s.queues[q.Name] = newQueueInfo(q)
		s.maxQueuePrio = max(s.maxQueuePrio, q.Priority)
	}
	return s
}

// newQueueInfo indexes a queue's nodes and groups.
func newQueueInfo(q structs.Queue) *queueInfo {
	qi := &queueInfo{cfg: q}
	if len(q.Nodes) > 0 {
		qi.nodes = map[string]bool{}
		for _, n := range q.Nodes {
			qi.nodes[n] = true
		}
	}
	if len(q.AllowedGroups) > 0 {
		qi.allowed = map[string]bool{}
		for _, g := range q.AllowedGroups {
			qi.allowed[g] = true
		}
	}
	return qi
}

// Config returns the scheduler's configuration.
func (s *Scheduler) Config() Config { return s.cfg }

// WithUsage returns a scheduler with the same policy and new fair-share
// usage; the leader calls it before each pass.
func (s *Scheduler) WithUsage(u *Usage) *Scheduler {
	c := *s
	c.cfg.Usage = u
	return &c
}

// queue returns the queue a job belongs to, or nil when it names one that
// does not exist.
func (s *Scheduler) queue(name string) *queueInfo {
	if name == "" {
		name = DefaultQueue
	}
	if len(s.queues) == 0 {
		if name == DefaultQueue {
			return defaultQueueInfo
		}
		return nil
	}
	return s.queues[name]
}

var defaultQueueInfo = &queueInfo{cfg: structs.Queue{Name: DefaultQueue}}
