package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// TraceJob is one row of a trace. Times are seconds from the trace's
// start.
type TraceJob struct {
	ID       string
	Submit   float64 // seconds
	GPUs     int
	Duration float64 // seconds it really ran
	Limit    float64 // seconds; its time limit
	User     string
}

// TraceOptions say how to read a trace.
type TraceOptions struct {
	// LimitFactor makes a time limit of duration x factor for rows without
	// time_limit_s; zero means 2.0.
	LimitFactor float64
	// MaxJobs reads only the first N rows; zero reads all.
	MaxJobs int
	// NoisyLimits replaces every time limit by what a user would ask for
	// without knowing the run time well: the true duration times a draw
	// from U[1,5] (a seeded generator, one draw per job in submit order),
	// rounded up to whole quarter hours (LimitQuantum).
	NoisyLimits bool
	NoiseSeed   uint64
	// SingleUser makes every job SingleUserName's, so fair share cannot
	// tell jobs apart.
	SingleUser bool
}

// LimitQuantum is what noisy limits are rounded up to, as users ask for
// time in round amounts.
const LimitQuantum = 15 * 60.0

// SingleUserName is the user of every job under TraceOptions.SingleUser.
const SingleUserName = "user"

// ReadTrace reads a CSV trace with a header. Columns job_id,
// submit_time_s, num_gpus and duration_s are required; user and
// time_limit_s are used when present; others are ignored. Jobs come back
// in submit order (ties keep file order).
func ReadTrace(r io.Reader, opt TraceOptions) ([]TraceJob, error) {
	if opt.LimitFactor == 0 {
		opt.LimitFactor = 2.0
	}
	if opt.LimitFactor < 1 || math.IsNaN(opt.LimitFactor) || math.IsInf(opt.LimitFactor, 0) {
		return nil, fmt.Errorf("limit factor %v is invalid: expected a number of at least 1", opt.LimitFactor)
	}
	if opt.MaxJobs < 0 {
		return nil, fmt.Errorf("max jobs %d is negative", opt.MaxJobs)
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("read trace: empty file: expected a header with job_id,submit_time_s,num_gpus,duration_s")
		}
		return nil, fmt.Errorf("read trace header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"job_id", "submit_time_s", "num_gpus", "duration_s"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("read trace: header lacks column %q: expected at least job_id,submit_time_s,num_gpus,duration_s", need)
		}
	}
	userCol, hasUser := col["user"]
	limitCol, hasLimit := col["time_limit_s"]
	var jobs []TraceJob
	seen := map[string]bool{}
	for line := 2; ; line++ {
		if opt.MaxJobs > 0 && len(jobs) >= opt.MaxJobs {
			break
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read trace line %d: %w", line, err)
		}
		field := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		j := TraceJob{ID: field(col["job_id"])}
		if j.ID == "" {
			return nil, fmt.Errorf("trace line %d: job_id is empty", line)
		}
		if seen[j.ID] {
			return nil, fmt.Errorf("trace line %d: job_id %q appears twice", line, j.ID)
		}
		seen[j.ID] = true
		if j.Submit, err = seconds(field(col["submit_time_s"])); err != nil {
			return nil, fmt.Errorf("trace line %d: submit_time_s: %w", line, err)
		}
		if j.Duration, err = seconds(field(col["duration_s"])); err != nil {
			return nil, fmt.Errorf("trace line %d: duration_s: %w", line, err)
		}
		g, err := strconv.Atoi(field(col["num_gpus"]))
		if err != nil || g < 0 || g > 1<<20 {
			return nil, fmt.Errorf("trace line %d: num_gpus %q: expected a whole number of at least 0", line, field(col["num_gpus"]))
		}
		j.GPUs = g
		if hasUser {
			j.User = field(userCol)
		}
		if hasLimit && field(limitCol) != "" {
			if j.Limit, err = seconds(field(limitCol)); err != nil {
				return nil, fmt.Errorf("trace line %d: time_limit_s: %w", line, err)
			}
		}
		if j.Limit <= 0 {
			j.Limit = j.Duration * opt.LimitFactor
		}
		jobs = append(jobs, j)
	}
	slices.SortStableFunc(jobs, func(a, b TraceJob) int {
		switch {
		case a.Submit < b.Submit:
			return -1
		case a.Submit > b.Submit:
			return 1
		}
		return 0
	})
	if opt.NoisyLimits {
		NoisyLimits(jobs, opt.NoiseSeed)
	}
	if opt.SingleUser {
		for i := range jobs {
			jobs[i].User = SingleUserName
		}
	}
	return jobs, nil
}

// NoisyLimits sets each job's limit to its duration times U[1,5], drawn in
// order from a generator seeded with seed, rounded up to LimitQuantum (at
// least one quantum, as zero would mean no limit).
func NoisyLimits(jobs []TraceJob, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6e61692d73696d)) // "nai-sim"
	for i := range jobs {
		f := 1 + 4*rng.Float64()
		jobs[i].Limit = max(1, math.Ceil(jobs[i].Duration*f/LimitQuantum)) * LimitQuantum
	}
}

// seconds parses a non-negative number of seconds.
func seconds(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if v > 1e12 {
		return 0, fmt.Errorf("%q is absurdly large", s)
	}
	return v, nil
}
