package structs

// CancelTarget is one thing a bulk cancel stops: a job, or a whole sweep
// by its id; Only stops member 0 of a sweep alone (its id is the sweep's).
type CancelTarget struct {
	ID   string `json:"id"`
	Only bool   `json:"only,omitempty"`
}

// JobCancelManyRequest is the body of POST /v1/jobs/cancel: many targets
// cancelled in one raft entry (scancel of a whole selection), rather than
// one DELETE and one raft commit each.
type JobCancelManyRequest struct {
	Targets []CancelTarget `json:"targets"`
}

// JobCancelManyResponse answers a bulk cancel: the target ids that stopped
// at least one pending or running job (Cancelled), those that named no job
// (NotFound), and every job named that had already ended (Ended, with its
// target), which the cancel left alone; a target all of whose jobs had
// ended is in Ended only. A target the caller may not cancel refuses the
// whole request instead (403, nothing changed). A server of an earlier
// release sends no Ended and lists every target found as cancelled.
type JobCancelManyResponse struct {
	Cancelled []string   `json:"cancelled"`
	NotFound  []string   `json:"not_found"`
	Ended     []EndedJob `json:"ended"`
	Index     uint64     `json:"index"`
}

// EndedJob is a job a cancel named that had already ended: there was
// nothing to cancel, and its state is left as it was.
type EndedJob struct {
	JobID  string    `json:"job_id"`
	Status JobStatus `json:"status"`
	// Target is the id of the bulk cancel's target that named the job:
	// its own, or its sweep's.
	Target string `json:"target,omitempty"`
}

// SplitEnded sorts the jobs a cancel names into the ids of those it would
// stop (pending or running) and those already ended, each ended one
// recorded with target.
func SplitEnded(target string, jobs []*Job) (live []string, ended []EndedJob) {
	for _, j := range jobs {
		if j.Status.Terminal() {
			ended = append(ended, EndedJob{JobID: j.ID, Status: j.Status, Target: target})
			continue
		}
		live = append(live, j.ID)
	}
	return live, ended
}

// MaxCancelTargets bounds one bulk cancel.
const MaxCancelTargets = 100000
