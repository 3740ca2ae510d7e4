package scheduler

import "github.com/nai-project/nai/structs"

// setupArrayLimit counts the running members of each sweep. Off when no
// pending job belongs to a sweep with max_parallel.
func (p *pass) setupArrayLimit() bool {
	on := false
	for _, j := range p.pending {
		if j.MaxParallel > 0 && j.ArrayID != "" {
			on = true
			break
		}
	}
	if !on {
		return false
	}
	p.arrayRunning = map[string]int{}
	seen := map[string]bool{} // a gang member has one allocation per node
	for _, a := range p.allocs {
		j := p.st.Job(a.JobID)
		if j == nil || j.ArrayID == "" || seen[j.ID] {
			continue
		}
		seen[j.ID] = true
		p.arrayRunning[j.ArrayID]++
	}
	return true
}

// arrayGate holds a sweep member while its sweep runs max_parallel
// members (placements of this pass count).
func (p *pass) arrayGate(it *item) (structs.WaitStatus, verdict) {
	j := it.job
	if j.MaxParallel > 0 && j.ArrayID != "" && p.arrayRunning[j.ArrayID] >= j.MaxParallel {
		return structs.WaitArrayLimit(j.ArrayID, p.arrayRunning[j.ArrayID], j.MaxParallel), hold
	}
	return structs.WaitStatus{}, admit
}
