package scheduler

import "github.com/nai-project/nai/structs"

// holdGate keeps a held job (nai job hold, sbatch --hold) from starting
// until it is released. It comes first: a held job says it is held, by
// whom, whatever else would keep it waiting, and uses no quota.
func (p *pass) holdGate(it *item) (structs.WaitStatus, verdict) {
	if it.job.Hold == nil {
		return structs.WaitStatus{}, admit
	}
	return structs.WaitHeld(it.job.Hold), hold
}
