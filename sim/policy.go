package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

// DefaultPolicy is the policy of a live cluster: what `nai agent` runs
// (scheduler.DefaultConfig), and what `nai sim` replays without -policy.
const DefaultPolicy = "default"

// OraclePolicy is the shortest-job-first oracle, the yardstick of average
// job completion time.
const OraclePolicy = "sjf-oracle"

// Policies are the names Options.Policy accepts.
var Policies = []string{DefaultPolicy, "fifo", "priority", "backfill", "priority-backfill", OraclePolicy}

// policy is a scheduler configuration and what the replay tells it.
type policy struct {
	cfg scheduler.Config
	// exactLimits gives every job its true run time as its time limit:
	// only an oracle knows it.
	exactLimits bool
}

// PolicyConfig maps a policy name to a scheduler configuration:
//
//   - default: scheduler.DefaultConfig(), the live default.
//   - fifo: strict submit order; a job that cannot start blocks the rest.
//   - priority: multifactor priority (fair share per user, age), strict.
//   - backfill: submit order with EASY backfill from time limits.
//   - priority-backfill: multifactor priority with EASY backfill (the
//     live default before the Runtime factor).
//   - sjf-oracle: shortest true run time first, EASY backfill planned with
//     the true run times. No scheduler knows them; it bounds what one that
//     guesses them could reach.
//
// No job of a trace is preemptible, so preemption is off: it could never
// act.
func PolicyConfig(name string) (scheduler.Config, error) {
	p, err := policyNamed(name)
	return p.cfg, err
}

func policyNamed(name string) (policy, error) {
	var p policy
	cfg := &p.cfg
	switch name {
	case DefaultPolicy:
		*cfg = scheduler.DefaultConfig()
	case "fifo":
		cfg.Weights = structs.PriorityWeights{Age: 1} // age alone is submit order
	case "priority":
		*cfg = multifactor()
		cfg.Backfill = false
	case "backfill":
		cfg.Weights = structs.PriorityWeights{Age: 1}
		cfg.Backfill = true
		cfg.BackfillMode = scheduler.BackfillEASY
	case "priority-backfill":
		*cfg = multifactor()
	case OraclePolicy:
		// Runtime alone, over a range wider than any trace's run times,
		// orders by true run time; ties go to submit order.
		cfg.Weights = structs.PriorityWeights{Runtime: 1}
		cfg.Runtime = scheduler.RuntimeConfig{Short: time.Second, Long: 100 * 365 * 24 * time.Hour}
		cfg.Backfill = true
		cfg.BackfillMode = scheduler.BackfillEASY
		p.exactLimits = true
	default:
		return p, fmt.Errorf("unknown policy %q: expected one of %s", name, strings.Join(Policies, ", "))
	}
	p.cfg = replayConfig(p.cfg)
	return p, nil
}

// replayConfig is cfg as a replay runs it.
func replayConfig(cfg scheduler.Config) scheduler.Config {
	cfg.Preemption = false
	// Nobody reads estimates or wait reasons in a replay: a pass may stop
	// once no later job can start (the placements are the same).
	cfg.SkipEstimates = true
	cfg.PlacementsOnly = true
	return cfg
}

// multifactor is Slurm-like multifactor priority with EASY backfill: the
// live default policy before the Runtime factor.
func multifactor() scheduler.Config {
	cfg := scheduler.DefaultConfig()
	cfg.Weights = structs.PriorityWeights{Job: 1_000_000, Queue: 10_000, FairShare: 10_000, Age: 1_000}
	return cfg
}

// EASYPolicy is first-come first-served with EASY backfill, the yardstick
// of tail wait.
const EASYPolicy = "backfill"

// Comparison is a policy's replay beside the yardsticks on the same trace:
// the shortest-job-first oracle for average job completion time, EASY
// backfill for the tail of waits.
type Comparison struct {
	Policy *Result `json:"policy"`
	Oracle *Result `json:"sjf_oracle"`
	EASY   *Result `json:"easy_backfill"`
	// JCTVsOracle is the policy's average job completion time over the
	// oracle's; P99WaitVsEASY its p99 wait over EASY backfill's (zero when
	// EASY's is zero).
	JCTVsOracle   float64 `json:"avg_jct_vs_oracle"`
	P99WaitVsEASY float64 `json:"p99_wait_vs_easy"`
}

// Compare replays jobs with opt's policy, the oracle and EASY backfill.
func Compare(jobs []TraceJob, opt Options) (*Comparison, error) {
	var c Comparison
	for _, x := range []struct {
		policy string
		res    **Result
	}{{opt.Policy, &c.Policy}, {OraclePolicy, &c.Oracle}, {EASYPolicy, &c.EASY}} {
		o := opt
		o.Policy = x.policy
		r, err := Run(jobs, o)
		if err != nil {
			return nil, err
		}
		*x.res = r
	}
	if c.Oracle.AvgJCT > 0 {
		c.JCTVsOracle = round(c.Policy.AvgJCT / c.Oracle.AvgJCT)
	}
	if c.EASY.P99Wait > 0 {
		c.P99WaitVsEASY = round(c.Policy.P99Wait / c.EASY.P99Wait)
	}
	return &c, nil
}
