package scheduler

import (
	"math"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestRuntimeFactor(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name       string
		limit      time.Duration // the job's own; 0: none
		queueLimit time.Duration // the queue's default
		cfgLimit   time.Duration // Config.DefaultTimeLimit
		want       float64
		wantEst    time.Duration
	}{
		{name: "no limit anywhere counts as long", want: 0},
		{name: "below short", limit: 10 * time.Minute, want: 1, wantEst: 10 * time.Minute},
		{name: "at short", limit: time.Hour, want: 1, wantEst: time.Hour},
		{name: "between: logarithmic", limit: 12 * time.Hour, want: math.Log(168.0/12) / math.Log(168), wantEst: 12 * time.Hour},
		{name: "at long", limit: 7 * day, want: 0, wantEst: 7 * day},
		{name: "beyond long", limit: 30 * day, want: 0, wantEst: 30 * day},
		{name: "the queue's default limit", queueLimit: 2 * time.Hour, want: math.Log(84) / math.Log(168), wantEst: 2 * time.Hour},
		{name: "the policy's default limit", cfgLimit: 4 * time.Hour, want: math.Log(42) / math.Log(168), wantEst: 4 * time.Hour},
		{name: "its own limit before the defaults", limit: time.Hour, queueLimit: 2 * day, cfgLimit: 3 * day, want: 1, wantEst: time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			b := newJob().Queue("q")
			if tc.limit > 0 {
				b.TimeLimit(tc.limit)
			}
			j := h.submit(b)[0]
			cfg := DefaultConfig()
			cfg.DefaultTimeLimit = tc.cfgLimit
			cfg.Queues = []structs.Queue{{Name: "q", DefaultTimeLimit: structs.Duration(tc.queueLimit)}}
			f := New(cfg).Factors(h.st, j, h.now)
			if math.Abs(f.Runtime-tc.want) > 1e-12 {
				t.Errorf("runtime factor %v, want %v", f.Runtime, tc.want)
			}
			if time.Duration(f.ExpectedRuntime) != tc.wantEst {
				t.Errorf("expected runtime %v, want %v", time.Duration(f.ExpectedRuntime), tc.wantEst)
			}
			if got, want := f.Priority-f.Weights.Runtime*f.Runtime, f.Age*f.Weights.Age+f.FairShare*f.Weights.FairShare+f.Job*f.Weights.Job; math.Abs(got-want) > 1e-6 {
				t.Errorf("priority without runtime %v, want %v", got, want)
			}
		})
	}
}

// The weight 0 leaves the factor out (and the priority as it was), and a
// scale set in Config replaces the default one.
func TestRuntimeFactorConfig(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n"))
	j := h.submit(newJob().TimeLimit(10 * time.Minute))[0]
	cfg := DefaultConfig()
	cfg.Weights.Runtime = 0
	if f := New(cfg).Factors(h.st, j, h.now); f.Runtime != 0 || f.ExpectedRuntime != 0 {
		t.Errorf("weight 0: runtime %v, expected %v; want neither", f.Runtime, f.ExpectedRuntime)
	}
	cfg = DefaultConfig()
	cfg.Runtime = RuntimeConfig{Short: time.Minute, Long: 100 * time.Minute}
	if f := New(cfg).Factors(h.st, j, h.now); math.Abs(f.Runtime-0.5) > 1e-12 {
		t.Errorf("10 min on a 1-100 min scale: factor %v, want 0.5", f.Runtime)
	}
	cfg.Runtime = RuntimeConfig{Short: time.Hour, Long: time.Minute} // nonsense: long below short
	if got := New(cfg).Config().Runtime; got.Short != time.Hour || got.Long != DefaultRuntimeLong {
		t.Errorf("long below short: scale %+v, want short 1h, long the default", got)
	}
}

// With the default policy, of two jobs of one user that want the one free
// GPU, the one with the shorter time limit starts, even if submitted
// later; without a limit a job counts as long; fair share and age still
// count, and age makes up for the whole runtime range after MaxAge.
func TestRuntimeOrdersShortFirst(t *testing.T) {
	hour := time.Hour
	cases := []struct {
		name      string
		first     *jobBuilder // submitted first
		second    *jobBuilder
		usage     map[string]float64
		wantFirst string // "1" or "2"
	}{
		{"shorter limit goes first", newJob().TimeLimit(48 * hour), newJob().TimeLimit(2 * hour), nil, "2"},
		{"a limit beats none", newJob(), newJob().TimeLimit(100 * hour), nil, "2"},
		{"equal limits: submit order", newJob().TimeLimit(2 * hour), newJob().TimeLimit(2 * hour), nil, "1"},
		{"both under the short scale: submit order", newJob().TimeLimit(50 * time.Minute), newJob().TimeLimit(5 * time.Minute), nil, "1"},
		{"job priority outranks runtime", newJob().TimeLimit(100 * hour).Priority(60), newJob().TimeLimit(hour), nil, "1"},
		// heavy's fair-share factor is 0.25, light's 1: 7,500 points.
		{"a heavy user's 1-hour job outranks a light user's week-long one",
			newJob().User("light").TimeLimit(7 * 24 * hour), newJob().User("heavy").TimeLimit(hour),
			map[string]float64{"heavy": 1000}, "2"},
		{"but fair share outweighs a 12 times shorter limit",
			newJob().User("light").TimeLimit(24 * hour), newJob().User("heavy").TimeLimit(2 * hour),
			map[string]float64{"heavy": 1000}, "1"},
		{"fair share decides between equal limits",
			newJob().User("heavy").TimeLimit(2 * hour), newJob().User("light").TimeLimit(2 * hour),
			map[string]float64{"heavy": 1000}, "2"},
		{"a week's wait makes up for the longest limit",
			newJob().TimeLimit(30 * 24 * hour).Submitted(t0.Add(-7*24*hour - time.Minute)), newJob().TimeLimit(10 * time.Minute).Submitted(t0), nil, "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n").GPUs(1))
			h.submit(tc.first, tc.second)
			cfg := DefaultConfig()
			if tc.usage != nil {
				u := NewUsage(cfg.FairShare.HalfLife, h.now)
				u.Users = tc.usage
				cfg.Usage = u
			}
			p := h.plan(cfg)
			if got := placed(p); len(got) != 1 || got[tc.wantFirst] == "" {
				t.Errorf("placed %v, want job %s", got, tc.wantFirst)
			}
			if order := New(cfg).Order(h.st, h.now); order[0].ID != tc.wantFirst {
				t.Errorf("Order()[0] = %s, want %s", order[0].ID, tc.wantFirst)
			}
		})
	}
}
