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

// JobCancelManyResponse answers a bulk cancel: the target ids cancelled and
// those that named no job. A target the caller may not cancel refuses the
// whole request instead (403, nothing changed).
type JobCancelManyResponse struct {
	Cancelled []string `json:"cancelled"`
	NotFound  []string `json:"not_found"`
	Index     uint64   `json:"index"`
}

// MaxCancelTargets bounds one bulk cancel.
const MaxCancelTargets = 100000
