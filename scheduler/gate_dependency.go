package scheduler

import "github.com/nai-project/nai/structs"

// dependencyGate holds a job until the jobs it depends on have ended as
// it requires, and cancels it when they never can: one ended the wrong
// way, or it names a job that does not exist.
//
// A dependency on a job array's id (not on one member, Dependency.Member)
// is on every member, as in Slurm: afterok holds until all completed and
// is never met once one did not; afterany holds until all ended;
// afternotok holds until all ended and is met when one did not complete.
// Members removed by job GC (ended long ago) are not counted.
func (p *pass) dependencyGate(it *item) (structs.WaitStatus, verdict) {
	var wait structs.WaitStatus
	for k := range it.job.DependsOn {
		d := &it.job.DependsOn[k]
		dj := p.st.Job(d.JobID)
		if dj == nil {
			return structs.WaitDependencyNeverSatisfied(), cancel
		}
		jobs := []*structs.Job{dj}
		array := !d.Member && dj.ArrayID == dj.ID
		if array {
			if m := p.arrayMembers(dj.ID); len(m) > 0 {
				jobs = m
			}
		}
		left, failed := 0, false
		for _, j := range jobs {
			switch {
			case !j.Status.Terminal():
				left++
			case j.Status != structs.JobComplete:
				failed = true
			}
		}
		if d.Type == structs.AfterOK && failed {
			return structs.WaitDependencyNeverSatisfied(), cancel
		}
		if left > 0 {
			if wait.Code == "" {
				switch {
				case array && len(jobs) > 1:
					wait = structs.WaitDependsOnArray(d.JobID, left, len(jobs), d.Type)
				case dj.ArrayID != "":
					wait = structs.WaitDependsOn(dj.ArrayRef(), d.Type) // one member: 12_3
				default:
					wait = structs.WaitDependsOn(d.JobID, d.Type)
				}
			}
			continue
		}
		if d.Type == structs.AfterNotOK && !failed {
			return structs.WaitDependencyNeverSatisfied(), cancel
		}
	}
	if wait.Code != "" {
		return wait, hold
	}
	return structs.WaitStatus{}, admit
}

// arrayMembers is the state's ArrayJobs, asked once per array and pass:
// every job that depends on an array asks for the same members.
func (p *pass) arrayMembers(id string) []*structs.Job {
	if m, ok := p.arrayDeps[id]; ok {
		return m
	}
	if p.arrayDeps == nil {
		p.arrayDeps = map[string][]*structs.Job{}
	}
	m := p.st.ArrayJobs(id)
	p.arrayDeps[id] = m
	return m
}
