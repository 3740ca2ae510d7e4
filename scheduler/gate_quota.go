package scheduler

import "github.com/nai-project/nai/structs"

// setupQuotas counts the GPUs each user and group holds. Off when no quota
// is configured.
func (p *pass) setupQuotas() bool {
	cfg := &p.s.cfg
	if len(cfg.UserQuotas) == 0 && len(cfg.GroupQuotas) == 0 &&
		cfg.DefaultUserQuota == (structs.Quota{}) && cfg.DefaultGroupQuota == (structs.Quota{}) {
		return false
	}
	p.userGPUs, p.groupGPUs = map[string]int{}, map[string]int{}
	p.userPending, p.groupPending = map[string]int{}, map[string]int{}
	for _, a := range p.allocs {
		j := p.st.Job(a.JobID)
		if j == nil {
			continue
		}
		p.userGPUs[j.User] += len(a.GPUs)
		if j.Group != "" {
			p.groupGPUs[j.Group] += len(a.GPUs)
		}
	}
	return true
}

func (p *pass) quotaOf(user, group string) (structs.Quota, structs.Quota) {
	cfg := &p.s.cfg
	uq, ok := cfg.UserQuotas[user]
	if !ok {
		uq = cfg.DefaultUserQuota
	}
	gq := structs.Quota{}
	if group != "" {
		if q, ok := cfg.GroupQuotas[group]; ok {
			gq = q
		} else {
			gq = cfg.DefaultGroupQuota
		}
	}
	return uq, gq
}

// quotaGate holds a job whose user or group is at a quota: pending jobs
// considered in this pass (every job that reaches this gate counts, held
// or not) or GPUs in use (placements of this pass count).
func (p *pass) quotaGate(it *item) (structs.WaitStatus, verdict) {
	j := it.job
	gpus := j.Resources.GPU.Count * max(j.Resources.Nodes, 1)
	uq, gq := p.quotaOf(j.User, j.Group)
	p.userPending[j.User]++
	if j.Group != "" {
		p.groupPending[j.Group]++
	}
	switch {
	case uq.MaxPending > 0 && p.userPending[j.User] > uq.MaxPending:
		return structs.WaitQuotaPending(structs.AccountUser, j.User, uq.MaxPending), hold
	case gq.MaxPending > 0 && p.groupPending[j.Group] > gq.MaxPending:
		return structs.WaitQuotaPending(structs.AccountGroup, j.Group, gq.MaxPending), hold
	case uq.MaxGPUs > 0 && p.userGPUs[j.User]+gpus > uq.MaxGPUs:
		return structs.WaitQuotaGPUs(structs.AccountUser, j.User, p.userGPUs[j.User], uq.MaxGPUs, gpus), hold
	case gq.MaxGPUs > 0 && p.groupGPUs[j.Group]+gpus > gq.MaxGPUs:
		return structs.WaitQuotaGPUs(structs.AccountGroup, j.Group, p.groupGPUs[j.Group], gq.MaxGPUs, gpus), hold
	}
	return structs.WaitStatus{}, admit
}

// placedQuota counts a placement of this pass against its user and group.
func (p *pass) placedQuota(j *structs.Job, gpus int) {
	p.userGPUs[j.User] += gpus
	if j.Group != "" {
		p.groupGPUs[j.Group] += gpus
	}
}
