package scheduler

import (
	"math"
	"time"
)

// RuntimeConfig scales the Runtime priority factor, which favours jobs
// expected to end soon: shortest job first, the order that minimises the
// average completion time, from what is known at submit time.
type RuntimeConfig struct {
	// Short is the expected run time at or below which the factor is 1.
	Short time.Duration `json:"short"`
	// Long is the expected run time at or above which the factor is 0;
	// so is a job with no time limit.
	Long time.Duration `json:"long"`
}

// Defaults of RuntimeConfig when unset.
const (
	DefaultRuntimeShort = time.Hour
	DefaultRuntimeLong  = 7 * 24 * time.Hour
)

// runtimeFactor is 1 for an expected run time (nanoseconds: the job's
// time limit from limitOf, what is known at submit time) at or below
// Short, 0 at or above Long and for none (forever), and falls with its
// logarithm between: a job expected to run twice as long loses as much
// wherever it stands.
func (s *Scheduler) runtimeFactor(est int64) float64 {
	if est <= 0 || est == forever {
		return 0
	}
	short, long := float64(s.cfg.Runtime.Short), float64(s.cfg.Runtime.Long)
	e := float64(est)
	switch {
	case e <= short:
		return 1
	case e >= long:
		return 0
	}
	return clamp01(math.Log(long/e) / math.Log(long/short))
}
