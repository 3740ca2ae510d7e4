package scheduler

import (
	"cmp"
	"slices"
	"time"

	"github.com/nai-project/nai/structs"
)

// Factors returns the priority factors of one job as the scheduler would
// compute them at now (for `nai job priority`).
func (s *Scheduler) Factors(st State, job *structs.Job, now time.Time) structs.PriorityFactors {
	p := s.newPass(st, now, []*structs.Job{job})
	if len(p.items) == 0 {
		return structs.PriorityFactors{JobID: job.ID, Weights: s.cfg.Weights}
	}
	return p.factors(job, p.items[0].q)
}

// Order returns the pending jobs in the order a pass considers them:
// queue tier, then priority, then submit time, then ID.
func (s *Scheduler) Order(st State, now time.Time) []*structs.Job {
	p := s.newPass(st, now, nil)
	out := make([]*structs.Job, len(p.items))
	for i := range p.items {
		out[i] = p.items[i].job
	}
	return out
}

// item is one pending job in a pass.
type item struct {
	job   *structs.Job
	q     *queueInfo // nil: the job names a queue that does not exist
	tier  int
	prio  float64
	limit int64 // time limit in nanoseconds; forever when it has none
	// slots are the replica numbers a service lacks, lowest first; each
	// placement takes the first.
	slots []int
}

func (p *pass) factors(j *structs.Job, q *queueInfo) structs.PriorityFactors {
	w := p.s.cfg.Weights
	f := structs.PriorityFactors{JobID: j.ID, Weights: w}
	if q != nil {
		f.Tier = q.cfg.PriorityTier
		if p.s.maxQueuePrio > 0 {
			f.Queue = clamp01(float64(q.cfg.Priority) / float64(p.s.maxQueuePrio))
		}
	}
	if w.Age != 0 && !j.SubmitTime.IsZero() {
		f.Age = clamp01(float64(p.now.Sub(j.SubmitTime)) / float64(p.s.cfg.MaxAge))
	}
	if w.FairShare != 0 {
		f.FairShare = p.fairShare(j)
	}
	if w.JobSize != 0 && p.c.totalGPUs > 0 {
		n := max(j.Resources.Nodes, 1)
		f.JobSize = clamp01(float64(j.Resources.GPU.Count*n) / float64(p.c.totalGPUs))
	}
	f.Job = clamp01(float64(j.Priority) / structs.MaxPriority)
	f.Priority = w.Age*f.Age + w.FairShare*f.FairShare + w.JobSize*f.JobSize + w.Queue*f.Queue + w.Job*f.Job
	if w.Runtime != 0 {
		est := p.s.limitOf(j, q)
		if est != forever {
			f.ExpectedRuntime = structs.Duration(est)
		}
		f.Runtime = p.s.runtimeFactor(est)
		f.Priority += w.Runtime * f.Runtime
	}
	return f
}

// fairShare combines the user's and the group's factors (their mean when
// the job has a group).
func (p *pass) fairShare(j *structs.Job) float64 {
	if p.users == nil {
		p.buildShares()
	}
	f := p.users.factor(j.User)
	if j.Group != "" {
		f = (f + p.groups.factor(j.Group)) / 2
	}
	return f
}

func (p *pass) buildShares() {
	var uu, gu map[string]float64
	if u := p.s.cfg.Usage; u != nil {
		uu, gu = u.Users, u.Groups
	}
	// Each account once: the table sorts the names, and a queue has far
	// more jobs than accounts.
	var users, groups []string
	seen := map[string]bool{}
	for _, j := range p.pending {
		if !seen[j.User] {
			seen[j.User] = true
			users = append(users, j.User)
		}
	}
	clear(seen)
	for _, j := range p.pending {
		if j.Group != "" && !seen[j.Group] {
			seen[j.Group] = true
			groups = append(groups, j.Group)
		}
	}
	fs := p.s.cfg.FairShare
	p.users = newShareTable(uu, fs.UserShares, fs.DefaultShares, users)
	p.groups = newShareTable(gu, fs.GroupShares, fs.DefaultShares, groups)
}

func clamp01(v float64) float64 {
	if v < 0 || v != v {
		return 0
	}
	return min(v, 1)
}

// sortItems orders items for consideration. Ties on tier and priority go
// to the earlier submit, then to the smaller ID (numerically when both are
// numbers).
func sortItems(items []item) {
	slices.SortFunc(items, func(a, b item) int { return compareItems(&a, &b) })
}

func compareIDs(a, b string) int {
	if isDigits(a) && isDigits(b) && len(a) != len(b) {
		return cmp.Compare(len(a), len(b))
	}
	return cmp.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
