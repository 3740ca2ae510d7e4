package scheduler

import "github.com/nai-project/nai/structs"

// beginTimeGate holds a job until its begin time; that time is also its
// estimated start. The members of a held sweep share one begin time, so
// the reason, a formatted string, is made once per time per pass.
func (p *pass) beginTimeGate(it *item) (structs.WaitStatus, verdict) {
	if !it.job.BeginTime.After(p.now) {
		return structs.WaitStatus{}, admit
	}
	if !p.beginSet || p.beginAt != it.job.BeginTime {
		p.beginAt, p.beginWait, p.beginSet = it.job.BeginTime, structs.WaitBeginAt(it.job.BeginTime), true
	}
	return p.beginWait, hold
}
