package sim

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/scheduler"
)

// halfJobs is the first half of the Philly month by count: policies are
// tuned on jobs [0, halfJobs) and judged on the rest (BENCH.md).
const halfJobs = 23596

// tuneSetting is one way of replaying the trace.
type tuneSetting struct {
	name  string
	nodes int
	opt   TraceOptions
}

func tuneSettings() []tuneSetting {
	var out []tuneSetting
	for _, n := range []int{80, 64} {
		out = append(out,
			tuneSetting{fmt.Sprintf("%dx8 normal", n), n, TraceOptions{}},
			tuneSetting{fmt.Sprintf("%dx8 1-user noisy", n), n, TraceOptions{NoisyLimits: true, NoiseSeed: 1, SingleUser: true}})
	}
	return out
}

// replayAll runs every (setting, policy) pair, two at a time.
func replayAll(t *testing.T, settings []tuneSetting, policies []string, cfgs map[string]*scheduler.Config, maxJobs, warmup int) map[[2]string]*Result {
	t.Helper()
	out := map[[2]string]*Result{}
	var mu sync.Mutex
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, s := range settings {
		opt := s.opt
		opt.MaxJobs = maxJobs
		jobs := phillyJobs(t, opt)
		for _, p := range policies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				r, err := Run(jobs, Options{Nodes: s.nodes, GPUsPerNode: 8, Policy: p, Config: cfgs[p], WarmupJobs: warmup})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				out[[2]string{s.name, p}] = r
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return out
}

// TestTuneRuntime is how the Runtime factor of the default policy was
// chosen: a grid of weights and scales replayed on the first half of the
// Philly month only, in the four settings, against the SJF oracle and
// EASY backfill on the same half. It takes minutes, so it runs only with
// NAI_SIM_TUNE=1:
//
//	NAI_SIM_TUNE=1 go test -run TestTuneRuntime -v -timeout 60m ./sim
func TestTuneRuntime(t *testing.T) {
	if os.Getenv("NAI_SIM_TUNE") == "" {
		t.Skip("set NAI_SIM_TUNE=1 to run the tuning grid (minutes)")
	}
	cfgs := map[string]*scheduler.Config{}
	policies := []string{OraclePolicy, EASYPolicy, "priority-backfill"}
	for _, w := range []float64{10_000, 30_000, 100_000} {
		for _, short := range []time.Duration{15 * time.Minute, time.Hour} {
			for _, long := range []time.Duration{7 * 24 * time.Hour, 30 * 24 * time.Hour} {
				for _, age := range []float64{1_000, w} {
					c := multifactor()
					c.Weights.Runtime = w
					c.Weights.Age = age
					c.Runtime = scheduler.RuntimeConfig{Short: short, Long: long}
					name := fmt.Sprintf("rt=%g short=%v long=%v age=%g", w, short, long, age)
					cfgs[name] = &c
					policies = append(policies, name)
				}
			}
		}
	}
	settings := tuneSettings()
	res := replayAll(t, settings, policies, cfgs, halfJobs, 0)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-50s", "first half: JCT/oracle, p99 wait/EASY")
	for _, s := range settings {
		fmt.Fprintf(&b, " | %-22s", s.name)
	}
	b.WriteString("\n")
	for _, p := range policies[1:] {
		fmt.Fprintf(&b, "%-50s", p)
		for _, s := range settings {
			r, o, e := res[[2]string{s.name, p}], res[[2]string{s.name, OraclePolicy}], res[[2]string{s.name, EASYPolicy}]
			fmt.Fprintf(&b, " | %6.3f %6.3f          ", r.AvgJCT/o.AvgJCT, r.P99Wait/e.P99Wait)
		}
		b.WriteString("\n")
	}
	t.Log(b.String())
}
