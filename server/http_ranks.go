package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The ranks of a gang job (resources { nodes = N }): each rank's
// allocation keeps its own outputs, final logs and metrics history; the
// job keeps rank 0's (raft log format 8), and ?rank=N on the job's
// outputs and logs routes reads another's, of the job's current (latest)
// attempt.

// rankOf reads ?rank=N of a request about job j: ok false when it names no
// rank. A rank is a number from 0 to the job's node count less one.
func rankOf(r *request, j *structs.Job) (rank int, ok bool, err error) {
	q := r.URL.Query()
	if !q.Has("rank") {
		return 0, false, nil
	}
	v := q.Get("rank")
	if j.IsService() {
		return 0, false, structs.NewError(structs.CodeInvalid, "rank %q: job %s is a service, whose replicas have no ranks: name one by ?alloc=ID (GET /v1/jobs/%s/allocations lists them)", v, j.ID, j.ID)
	}
	nodes := max(j.Resources.Nodes, 1)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n >= nodes {
		on := "one node"
		if nodes > 1 {
			on = strconv.Itoa(nodes) + " nodes"
		}
		return 0, false, structs.NewError(structs.CodeInvalid, "rank %q: expected a rank of job %s, a whole number from 0 to %d (it runs on %s)", v, j.ID, nodes-1, on)
	}
	return n, true, nil
}

// rankAlloc is the allocation of rank n in job j's current attempt, nil
// when that attempt has none (the job has not been placed yet).
func rankAlloc(snap *state.Snapshot, j *structs.Job, n int) (*structs.Allocation, error) {
	allocs, err := snap.AllocsByJob(nil, j.ID)
	if err != nil {
		return nil, fmt.Errorf("allocations of job %s: %w", j.ID, err)
	}
	var out *structs.Allocation
	for _, a := range allocs {
		if a.Attempt == j.Attempt && a.Rank == n && (out == nil || a.CreateIndex > out.CreateIndex) {
			out = a
		}
	}
	return out, nil
}

// noRankAlloc is the answer for a rank whose allocation is not there.
func noRankAlloc(j *structs.Job, n int) error {
	if j.Attempt == 0 {
		return structs.NewError(structs.CodeNotFound, "job %s has not started yet: rank %d has no allocation", j.ID, n)
	}
	return structs.NewError(structs.CodeNotFound, "attempt %d of job %s has no rank %d (GET /v1/jobs/%s/allocations lists its allocations)", j.Attempt, j.ID, n, j.ID)
}

// ranksWithOutputs lists the other ranks of job j's current attempt that
// kept outputs, for the answer about a gang job whose rank 0 kept none.
func ranksWithOutputs(snap *state.Snapshot, j *structs.Job) []string {
	if j.Resources.Nodes < 2 {
		return nil
	}
	allocs, err := snap.AllocsByJob(nil, j.ID)
	if err != nil {
		return nil
	}
	var ranks []int
	for _, a := range allocs {
		if a.Attempt == j.Attempt && a.Rank != 0 && a.ClientStatus.OutputDigest != "" {
			ranks = append(ranks, a.Rank)
		}
	}
	slices.Sort(ranks)
	ranks = slices.Compact(ranks)
	out := make([]string, len(ranks))
	for i, n := range ranks {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// otherRanksNote says where a gang job's outputs are when rank 0 kept none.
func otherRanksNote(snap *state.Snapshot, j *structs.Job) string {
	ranks := ranksWithOutputs(snap, j)
	if len(ranks) == 0 {
		return ""
	}
	return fmt.Sprintf("; a job on several nodes keeps its rank 0's, and rank %s kept some (nai job outputs -rank %s %s, or ?rank=%s)",
		strings.Join(ranks, ", "), ranks[0], j.ID, ranks[0])
}
