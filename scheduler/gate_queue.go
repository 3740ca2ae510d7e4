package scheduler

import "github.com/nai-project/nai/structs"

// queueGate holds a job that names a queue that does not exist (it was
// deleted after the job was submitted).
func (p *pass) queueGate(it *item) (structs.WaitStatus, verdict) {
	if it.q == nil {
		return structs.WaitUnknownQueue(queueName(it.job.Queue)), hold
	}
	return structs.WaitStatus{}, admit
}

// requestGate holds a job whose resources are invalid. The server
// validates jobs at submit; the scheduler never trusts it to have, so a
// bad job waits with a reason instead of breaking the pass.
func (p *pass) requestGate(it *item) (structs.WaitStatus, verdict) {
	if err := it.job.Resources.Validate(); err != nil {
		return structs.WaitInvalidRequest(err), hold
	}
	return structs.WaitStatus{}, admit
}

// queueLimitGate holds a job that breaks its queue's limits: its time
// limit, GPUs per job, or the groups allowed. It runs after queueGate, so
// the queue exists.
func (p *pass) queueLimitGate(it *item) (structs.WaitStatus, verdict) {
	j, c := it.job, &it.q.cfg
	if c.MaxTimeLimit > 0 && j.TimeLimit > c.MaxTimeLimit {
		return structs.WaitQueueTimeLimit(c.Name, j.TimeLimit, c.MaxTimeLimit), hold
	}
	if n := j.Resources.GPU.Count * max(j.Resources.Nodes, 1); c.MaxGPUsPerJob > 0 && n > c.MaxGPUsPerJob {
		return structs.WaitQueueGPULimit(c.Name, n, c.MaxGPUsPerJob), hold
	}
	if it.q.allowed != nil && !it.q.allowed[j.Group] {
		return structs.WaitQueueGroup(c.Name, j.Group), hold
	}
	return structs.WaitStatus{}, admit
}
