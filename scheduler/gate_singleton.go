package scheduler

import "github.com/nai-project/nai/structs"

// nameUser is what makes jobs one singleton line: Slurm's
// --dependency=singleton runs one job of a name and user at a time.
type nameUser struct{ name, user string }

// singleInfo is, for one name and user, a job of it that runs (or was
// placed in this pass), and the earliest submitted pending one.
type singleInfo struct {
	running string
	first   *structs.Job
	// the wait of the jobs behind waitFor, shared by all of them
	wait    structs.WaitStatus
	waitFor string
}

// waitBehind is the wait of a singleton of this name and user behind job
// id, built once for all of them.
func (s *singleInfo) waitBehind(id, name, user string) structs.WaitStatus {
	if s.waitFor != id {
		s.wait, s.waitFor = structs.WaitSingleton(id, name, user), id
	}
	return s.wait
}

// setupSingleton finds, for each name and user of a pending singleton
// job, who runs and who waits first. Off when no pending job is a
// singleton.
func (p *pass) setupSingleton() bool {
	for _, j := range p.pending {
		if j.Singleton {
			if p.single == nil {
				p.single = map[nameUser]*singleInfo{}
			}
			p.single[nameUser{j.Name, j.User}] = &singleInfo{}
		}
	}
	if p.single == nil {
		return false
	}
	for _, j := range p.pending {
		info := p.single[nameUser{j.Name, j.User}]
		if info != nil && (info.first == nil || submittedBefore(j, info.first)) {
			info.first = j
		}
	}
	for _, a := range p.allocs { // in ID order, so the job named is the same every pass
		j := p.st.Job(a.JobID)
		if j == nil {
			continue
		}
		if info := p.single[nameUser{j.Name, j.User}]; info != nil && info.running == "" {
			info.running = j.ID
		}
	}
	return true
}

// submittedBefore orders jobs by submit time, then ID.
func submittedBefore(a, b *structs.Job) bool {
	if c := a.SubmitTime.Compare(b.SubmitTime); c != 0 {
		return c < 0
	}
	return compareIDs(a.ID, b.ID) < 0
}

// singletonGate holds a singleton job while another job of its name and
// user runs, or waits ahead of it in submit order; the other job need not
// be a singleton itself (as in Slurm). The reason names that job.
func (p *pass) singletonGate(it *item) (structs.WaitStatus, verdict) {
	j := it.job
	if !j.Singleton {
		return structs.WaitStatus{}, admit
	}
	info := p.single[nameUser{j.Name, j.User}]
	switch {
	case info == nil:
	case info.running != "":
		return info.waitBehind(info.running, j.Name, j.User), hold
	case info.first != nil && info.first != j:
		return info.waitBehind(info.first.ID, j.Name, j.User), hold
	}
	return structs.WaitStatus{}, admit
}

// placedSingleton records that j starts in this pass, so no singleton of
// its name and user starts beside it.
func (p *pass) placedSingleton(j *structs.Job) {
	if info := p.single[nameUser{j.Name, j.User}]; info != nil && info.running == "" {
		info.running = j.ID
	}
}
