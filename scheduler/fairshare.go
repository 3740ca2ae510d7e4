package scheduler

import (
	"math"
	"slices"
	"time"

	"github.com/nai-project/nai/structs"
)

// Usage is decayed GPU-hours per user and per group as of At: an hour of
// one GPU counts 1 when it is spent and half as much HalfLife later
// (Slurm's PriorityDecayHalfLife). The server and the simulator both build
// it with the helpers below, so they agree to the last bit.
type Usage struct {
	At       time.Time          `json:"at"`
	HalfLife time.Duration      `json:"half_life"` // zero: never decays
	Users    map[string]float64 `json:"users"`
	Groups   map[string]float64 `json:"groups"`
}

// UsageRecord is one allocation's use of GPUs: a finished one has End set,
// a running one has End zero.
type UsageRecord struct {
	User  string
	Group string
	GPUs  int
	Start time.Time
	End   time.Time
}

// RecordOf is the usage record of one allocation of job j: its GPUs from
// the client's start time to its end time (zero while it runs). ok is false
// when it never started. The server and the simulator both build records
// with it.
func RecordOf(a *structs.Allocation, j *structs.Job) (r UsageRecord, ok bool) {
	if a == nil || j == nil || a.ClientStatus.StartTime.IsZero() {
		return UsageRecord{}, false
	}
	r = UsageRecord{User: j.User, Group: j.Group, GPUs: len(a.GPUs), Start: a.ClientStatus.StartTime}
	if a.Terminal() {
		r.End = a.ClientStatus.EndTime
		if r.End.IsZero() {
			r.End = r.Start
		}
	}
	return r, true
}

// NewUsage returns empty usage as of at.
func NewUsage(halfLife time.Duration, at time.Time) *Usage {
	return &Usage{At: at, HalfLife: halfLife, Users: map[string]float64{}, Groups: map[string]float64{}}
}

// AccumulateUsage computes usage as of now from every allocation that has
// used GPUs (finished and running), from scratch.
func AccumulateUsage(records []UsageRecord, now time.Time, halfLife time.Duration) *Usage {
	u := NewUsage(halfLife, now)
	for _, r := range records {
		u.Add(r)
	}
	return u
}

// Add counts the part of r that lies before u.At (a running record counts
// up to u.At), decayed to u.At.
func (u *Usage) Add(r UsageRecord) {
	end := r.End
	if end.IsZero() || end.After(u.At) {
		end = u.At
	}
	v := u.integral(r.GPUs, r.Start, end)
	if v <= 0 {
		return
	}
	u.Users[r.User] += v
	if r.Group != "" {
		u.Groups[r.Group] += v
	}
}

// Advance moves usage forward to now: what was counted decays, and the
// running allocations' GPU-hours between the old At (or their start, if
// later) and now are added. Calling Advance at every event with the
// allocations then running gives the same result as AccumulateUsage.
func (u *Usage) Advance(now time.Time, running []UsageRecord) {
	from, f, ok := u.decayTo(now)
	if !ok {
		return
	}
	for i := range running {
		r := &running[i]
		if r.Start.After(from) {
			rec := *r
			rec.End = time.Time{}
			u.Add(rec)
			continue
		}
		if v := u.held(r.GPUs, from, f); v > 0 {
			u.Users[r.User] += v
			if r.Group != "" {
				u.Groups[r.Group] += v
			}
		}
	}
}

// AdvanceHeld is Advance for a caller that counts, per user and per
// group, the GPUs held without a break since u.At (a replay keeps these
// counts as jobs start and end, and advances at every instant where one
// does). It adds what Advance adds for one record per allocation, summed
// per account first, so the last bits of a sum may differ from Advance's.
// Each account gets one addition, so map order does not matter.
func (u *Usage) AdvanceHeld(now time.Time, users, groups map[string]int) {
	from, f, ok := u.decayTo(now)
	if !ok {
		return
	}
	for k, g := range users {
		if v := u.held(g, from, f); v > 0 {
			u.Users[k] += v
		}
	}
	for k, g := range groups {
		if v := u.held(g, from, f); v > 0 {
			u.Groups[k] += v
		}
	}
}

// decayTo decays what was counted from u.At to now and moves At there. f
// is the decay over that span; ok is false when now is not after At.
func (u *Usage) decayTo(now time.Time) (from time.Time, f float64, ok bool) {
	if !now.After(u.At) {
		return u.At, 1, false
	}
	f = u.decay(now.Sub(u.At))
	if f != 1 {
		for k, v := range u.Users {
			u.Users[k] = v * f
		}
		for k, v := range u.Groups {
			u.Groups[k] = v * f
		}
	}
	from = u.At
	u.At = now
	return from, f, true
}

// held is the decayed GPU-hours of gpus held from from to u.At, f being
// the decay over that span: integral's own arithmetic with
// decay(At-At) = 1 and decay(At-from) = f, without an Exp2 per call.
func (u *Usage) held(gpus int, from time.Time, f float64) float64 {
	if gpus <= 0 {
		return 0
	}
	if u.HalfLife <= 0 {
		return float64(gpus) * u.At.Sub(from).Hours()
	}
	return float64(gpus) * u.HalfLife.Hours() / math.Ln2 * (1 - f)
}

// Clone returns a deep copy.
func (u *Usage) Clone() *Usage {
	c := *u
	c.Users = make(map[string]float64, len(u.Users))
	for k, v := range u.Users {
		c.Users[k] = v
	}
	c.Groups = make(map[string]float64, len(u.Groups))
	for k, v := range u.Groups {
		c.Groups[k] = v
	}
	return &c
}

func (u *Usage) decay(d time.Duration) float64 {
	if u.HalfLife <= 0 || d <= 0 {
		return 1
	}
	return math.Exp2(-d.Hours() / u.HalfLife.Hours())
}

// integral is the decayed GPU-hours of gpus used from a to b, seen at
// u.At: the integral of gpus * 2^-((At-t)/HalfLife) dt.
func (u *Usage) integral(gpus int, a, b time.Time) float64 {
	if gpus <= 0 || !b.After(a) {
		return 0
	}
	if u.HalfLife <= 0 {
		return float64(gpus) * b.Sub(a).Hours()
	}
	h := u.HalfLife.Hours()
	return float64(gpus) * h / math.Ln2 * (u.decay(u.At.Sub(b)) - u.decay(u.At.Sub(a)))
}

// shareTable turns usage and shares into fair-share factors for one pass.
// Totals are summed over sorted keys, so the float result never depends on
// map order.
type shareTable struct {
	usage       map[string]float64
	shares      map[string]float64
	names       []string // everyone with usage, shares or a pending job, sorted
	def         float64
	totalUsage  float64
	totalShares float64
	cache       map[string]float64
	// the last name asked and its factor: a pass asks for one user's
	// jobs in a row
	lastName string
	lastF    float64
	hasLast  bool
}

func newShareTable(usage, shares map[string]float64, def float64, active []string) *shareTable {
	t := &shareTable{usage: usage, shares: shares, def: def, cache: map[string]float64{}}
	names := make([]string, 0, len(usage)+len(shares)+len(active))
	for k := range usage {
		names = append(names, k)
	}
	for k := range shares {
		names = append(names, k)
	}
	names = append(names, active...)
	slices.Sort(names)
	names = slices.Compact(names)
	t.names = names
	for _, k := range names {
		t.totalUsage += usage[k]
		t.totalShares += t.share(k)
	}
	return t
}

func (t *shareTable) share(name string) float64 {
	if v, ok := t.shares[name]; ok {
		return v
	}
	return t.def
}

// factor is Slurm's classic 2^(-usage/shares) with both normalised: 1 for
// someone who used nothing, 0.5 for someone who used exactly their share.
func (t *shareTable) factor(name string) float64 {
	if t.hasLast && name == t.lastName {
		return t.lastF
	}
	f := t.compute(name)
	t.lastName, t.lastF, t.hasLast = name, f, true
	return f
}

func (t *shareTable) compute(name string) float64 {
	if v, ok := t.cache[name]; ok {
		return v
	}
	f := 1.0
	if t.totalUsage > 0 && t.totalShares > 0 {
		s := t.share(name) / t.totalShares
		u := t.usage[name] / t.totalUsage
		switch {
		case s <= 0 && u > 0:
			f = 0
		case s > 0:
			f = math.Exp2(-u / s)
		}
	}
	t.cache[name] = f
	return f
}
