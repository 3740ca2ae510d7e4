package scheduler

import "github.com/nai-project/nai/structs"

// beginTimeGate holds a job until its begin time; that time is also its
// estimated start.
func (p *pass) beginTimeGate(it *item) (structs.WaitStatus, verdict) {
	if it.job.BeginTime.After(p.now) {
		return structs.WaitBeginAt(it.job.BeginTime), hold
	}
	return structs.WaitStatus{}, admit
}
