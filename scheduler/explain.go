package scheduler

import (
	"time"

	"github.com/nai-project/nai/structs"
)

// Explain returns the priority factors of every pending job in the order a
// pass at now considers them (`nai queue -explain`), computed in one pass.
func (s *Scheduler) Explain(st State, now time.Time) []structs.PriorityFactors {
	p := s.newPass(st, now, nil)
	out := make([]structs.PriorityFactors, len(p.items))
	for i := range p.items {
		out[i] = p.factors(p.items[i].job, p.items[i].q)
	}
	return out
}

// Shares reports, like Slurm's sshare, the shares, decayed usage and
// fair-share factor of every group and user that has shares, usage or a
// pending job, exactly as a pass over st would compute them: groups first,
// then users, each by name.
func (s *Scheduler) Shares(st State) []structs.ShareInfo {
	var uu, gu map[string]float64
	if u := s.cfg.Usage; u != nil {
		uu, gu = u.Users, u.Groups
	}
	var users, groups []string
	for _, j := range st.PendingJobs() {
		users = append(users, j.User)
		if j.Group != "" {
			groups = append(groups, j.Group)
		}
	}
	fs := s.cfg.FairShare
	out := shareRows(structs.AccountGroup, newShareTable(gu, fs.GroupShares, fs.DefaultShares, groups))
	return append(out, shareRows(structs.AccountUser, newShareTable(uu, fs.UserShares, fs.DefaultShares, users))...)
}

func shareRows(kind structs.AccountKind, t *shareTable) []structs.ShareInfo {
	rows := make([]structs.ShareInfo, 0, len(t.names))
	for _, n := range t.names { // sorted by newShareTable
		r := structs.ShareInfo{Kind: kind, Name: n, Shares: t.share(n), Usage: t.usage[n], FairShare: t.factor(n)}
		if t.totalShares > 0 {
			r.NormShares = r.Shares / t.totalShares
		}
		if t.totalUsage > 0 {
			r.EffectiveUsage = r.Usage / t.totalUsage
		}
		rows = append(rows, r)
	}
	return rows
}
