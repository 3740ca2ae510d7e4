package scheduler

import "github.com/nai-project/nai/structs"

// dependencyGate holds a job until the jobs it depends on have ended as
// it requires, and cancels it when they never can: one ended the wrong
// way, or it names a job that does not exist.
func (p *pass) dependencyGate(it *item) (structs.WaitStatus, verdict) {
	var waitFor *structs.Dependency
	for k := range it.job.DependsOn {
		d := &it.job.DependsOn[k]
		dj := p.st.Job(d.JobID)
		if dj == nil {
			return structs.WaitDependencyNeverSatisfied(), cancel
		}
		if !dj.Status.Terminal() {
			if waitFor == nil {
				waitFor = d
			}
			continue
		}
		ok := dj.Status == structs.JobComplete
		if (d.Type == structs.AfterOK && !ok) || (d.Type == structs.AfterNotOK && ok) {
			return structs.WaitDependencyNeverSatisfied(), cancel
		}
	}
	if waitFor != nil {
		return structs.WaitDependsOn(waitFor.JobID, waitFor.Type), hold
	}
	return structs.WaitStatus{}, admit
}
