package structs

import "time"

// JobHold marks a pending job that must not start until it is released
// (Slurm's scontrol hold / release). A user hold may be released by the
// job's owner; an admin hold, placed by an operator, only by an operator.
type JobHold struct {
	// By is the user who placed the hold ("" when unknown).
	By string `json:"by,omitempty"`
	// Admin marks a hold placed by an operator: the job's owner cannot
	// release it (Slurm's JobHeldAdmin, against JobHeldUser).
	Admin bool      `json:"admin,omitempty"`
	Time  time.Time `json:"time,omitzero"`
}

// Kind is "admin" or "user".
func (h *JobHold) Kind() string {
	if h.Admin {
		return "admin"
	}
	return "user"
}

// JobHoldRequest holds or releases pending jobs, all or none of them: a
// job that is not pending (or, on release, not held, or held by an admin
// when Admin is false) refuses the whole request. JobIDs are job ids, the
// members of arrays already resolved by the server.
type JobHoldRequest struct {
	JobIDs []string `json:"job_ids"`
	// Release lifts the holds instead of placing them.
	Release bool `json:"release,omitempty"`
	// Admin places an admin hold, or may release one: the caller is an
	// operator.
	Admin bool `json:"admin,omitempty"`
	// By is who asks; "" records each job's owner.
	By  string    `json:"by,omitempty"`
	Now time.Time `json:"now"`
}

// JobHoldTargets is the body of POST /v1/jobs/hold and /v1/jobs/release:
// job ids, or array ids (every pending member, every held one on a
// release); Only names member 0 of an array alone (its id is the array's),
// as a bulk cancel's targets do.
type JobHoldTargets struct {
	Targets []CancelTarget `json:"targets"`
}

// JobHoldResponse answers a hold or release: the jobs it changed.
type JobHoldResponse struct {
	JobIDs []string `json:"job_ids"`
	// Refs are JobIDs as people name them, in the same order: an array's
	// member as A_N (Job.ArrayRef), any other job by its id. Servers
	// before it answer none.
	Refs []string `json:"refs,omitempty"`
	// Unchanged are the targets that were as asked already and were left
	// as they were: held already on a hold; not held on a release.
	// Servers before it answered a release of a job not held with an
	// error, and a hold of a held job with nothing.
	Unchanged []JobHoldUnchanged `json:"unchanged,omitempty"`
	// Admin says the holds placed are admin holds.
	Admin bool   `json:"admin,omitempty"`
	Index uint64 `json:"index"`
}

// JobHoldUnchanged is a target of a hold or release that was as asked
// already.
type JobHoldUnchanged struct {
	// Ref names it as people do: an array's member as A_N (Job.ArrayRef),
	// a whole array (Array) by its id, any other job by its id.
	Ref string `json:"ref"`
	// ID is the job's id; a whole array's id.
	ID    string `json:"id"`
	Array bool   `json:"array,omitempty"`
}

// MaxHoldTargets bounds one hold or release.
const MaxHoldTargets = MaxCancelTargets
