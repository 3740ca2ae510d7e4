package scheduler

import "github.com/nai-project/nai/structs"

// Services (structs.JobService) run until stopped, as replicas: each replica
// is one allocation on one node, holding one of the node's service ports
// (Resources.Ports) besides its GPUs, cores and memory. State lists the
// running services among the pending jobs; a pass considers a service once
// for each replica of its current version that no live allocation meant to
// run holds, so a replica lost with its node, preempted or drained is
// placed again, and a rollout's new version is placed beside the old one.
// Each placement's Rank is the replica number. A service has no time limit:
// backfill and estimates treat its allocations as running for ever.

// heldReplicas maps each service among jobs to the replica numbers of its
// current version that live allocations meant to run hold.
func heldReplicas(jobs []*structs.Job, allocs []*structs.Allocation) map[string]map[int]bool {
	var svc map[string]int // service id -> current version
	for _, j := range jobs {
		if j.IsService() {
			if svc == nil {
				svc = map[string]int{}
			}
			svc[j.ID] = j.Version
		}
	}
	if svc == nil {
		return nil
	}
	held := map[string]map[int]bool{}
	for _, a := range allocs {
		v, ok := svc[a.JobID]
		if !ok || a.DesiredStatus != structs.DesiredRun || a.JobVersion != v {
			continue
		}
		if held[a.JobID] == nil {
			held[a.JobID] = map[int]bool{}
		}
		held[a.JobID][a.Replica] = true
	}
	return held
}

// missingReplicas lists the replica numbers a service lacks, lowest first.
func missingReplicas(j *structs.Job, held map[int]bool) []int {
	if j.Service == nil {
		return nil
	}
	var out []int
	for r := 0; r < j.Service.Replicas; r++ {
		if !held[r] {
			out = append(out, r)
		}
	}
	return out
}
