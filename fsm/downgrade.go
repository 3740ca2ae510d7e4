package fsm

import (
	"errors"
	"slices"

	"github.com/nai-project/nai/structs"
)

// Rewrites of format 3's request versions for servers that read only the
// versions before them (JobRegister 2 and AllocUpdate 2 carry service jobs,
// plugins, dataset outputs and node hooks). They are the downgrades the
// log formats of a rolling upgrade need: a leader whose cluster still has
// an older server writes the older version, or refuses what it cannot
// carry.

// errNeedsUpgrade refuses a submission that an older server would apply
// differently.
var errNeedsUpgrade = errors.New("jobs built from plugins and output { dataset } need every server upgraded")

// errServiceNeedsUpgrade refuses a service job, which an older server
// would store as a batch job.
var errServiceNeedsUpgrade = errors.New("service jobs need every server upgraded")

// jobRegisterV1 is a JobRegister request for servers without services or
// plugins: a service job would run there as a batch job, and a job that
// names a plugin or writes a dataset would lose its lineage or its outputs,
// so they are refused; a sweep sent as one spec goes with its members
// written out (an older server reads no spec); any other goes as it is.
func jobRegisterV1(r *structs.JobRegisterRequest) (*structs.JobRegisterRequest, error) {
	if r.Sweep != nil {
		if len(r.Jobs) > 0 {
			return nil, errors.New("a request with both jobs and a sweep")
		}
		jobs, err := r.Sweep.Expand()
		if err != nil {
			return nil, err
		}
		r = &structs.JobRegisterRequest{Jobs: jobs, Now: r.Now}
	}
	for _, j := range r.Jobs {
		if j == nil {
			continue
		}
		if j.IsService() {
			return nil, errServiceNeedsUpgrade
		}
		if j.Plugin != nil || (j.Output != nil && j.Output.Dataset != "") {
			return nil, errNeedsUpgrade
		}
	}
	return r, nil
}

// allocUpdateV1 is an AllocUpdate request for servers without node hooks:
// the client's report must still land (the allocation ended), so a failed
// hook's report is dropped (no drain: the old servers cannot make one) and
// a failed prolog ends the allocation as start-failed, as before hooks.
func allocUpdateV1(r *structs.AllocUpdateRequest) (*structs.AllocUpdateRequest, error) {
	out := *r
	out.Updates = make([]*structs.AllocUpdate, len(r.Updates))
	for i, u := range r.Updates {
		if u == nil || (u.Client.Hook == nil && u.Client.ExitReason != structs.ExitPrologFailed) {
			out.Updates[i] = u
			continue
		}
		c := *u
		c.Client = u.Client.Copy()
		c.Client.Hook = nil
		if c.Client.ExitReason == structs.ExitPrologFailed {
			c.Client.ExitReason = structs.ExitStartFail
		}
		out.Updates[i] = &c
	}
	return &out, nil
}

// jobRegisterV2 is a JobRegister request for servers without dependencies
// on an array's first member alone or held jobs: such a server would wait
// for the whole array, or start a job submitted held, so the request is
// refused until every server is upgraded.
func jobRegisterV2(r *structs.JobRegisterRequest) (*structs.JobRegisterRequest, error) {
	if anyJob(r, func(j *structs.Job) bool { return j.Hold != nil }) {
		return nil, errors.New("submitting a job held needs every server upgraded")
	}
	if anyJob(r, func(j *structs.Job) bool {
		return slices.ContainsFunc(j.DependsOn, func(d structs.Dependency) bool { return d.Member })
	}) {
		return nil, errors.New("a dependency on the first member of an array alone needs every server upgraded")
	}
	return r, nil
}

// anyJob reports whether p holds for a job of the request: one of its jobs,
// or its sweep's template or a member's changes.
func anyJob(r *structs.JobRegisterRequest, p func(*structs.Job) bool) bool {
	for _, j := range r.Jobs {
		if j != nil && p(j) {
			return true
		}
	}
	if s := r.Sweep; s != nil {
		if s.Template != nil && p(s.Template) {
			return true
		}
		for _, m := range s.Members {
			if m.Changes != nil && p(m.Changes) {
				return true
			}
		}
	}
	return false
}

// nodeStatusV1 is a NodeStatus request for servers that know no unreachable
// nodes: marking one is refused (the leader then leaves the node as it is,
// as before), a plain ready or down goes as it is.
func nodeStatusV1(r *structs.NodeStatusRequest) (*structs.NodeStatusRequest, error) {
	if r.Unreachable {
		return nil, errors.New("marking a node unreachable needs every server upgraded")
	}
	return r, nil
}

// jobGCV1 is a JobGC request for servers that keep only the jobs named in
// live jobs' dependencies: every server then applies that rule.
func jobGCV1(r *structs.JobGCRequest) (*structs.JobGCRequest, error) {
	out := *r
	out.KeepArrayMembers = false
	return &out, nil
}

// jobRegisterV3 is a JobRegister request for servers that make an array
// only of two jobs or more: one job that carries sweep values goes as a
// plain job, as those servers registered it before (its node still gives
// it the SLURM_ARRAY_ variables of an array of one, from its sweep values).
func jobRegisterV3(r *structs.JobRegisterRequest) (*structs.JobRegisterRequest, error) {
	if !r.Array {
		return r, nil
	}
	out := *r
	out.Array = false
	return &out, nil
}

// jobRegisterV4 is a JobRegister request for servers whose jobs' scripts
// take no arguments: they would refuse the job as invalid when they apply
// the entry, so it is refused until every server is upgraded.
func jobRegisterV4(r *structs.JobRegisterRequest) (*structs.JobRegisterRequest, error) {
	if anyJob(r, func(j *structs.Job) bool { return j.Task.Script != "" && len(j.Task.Args) > 0 }) {
		return nil, errors.New("a script with arguments needs every server upgraded")
	}
	return r, nil
}

// nodeDrainV1 and nodeEligibilityV1 are a node write for servers that do
// not tell an operator's from the rest: without ByOperator, a failed
// hook's drain reason stays, as before format 8.
func nodeDrainV1(r *structs.NodeDrainRequest) (*structs.NodeDrainRequest, error) {
	out := *r
	out.ByOperator = false
	return &out, nil
}

func nodeEligibilityV1(r *structs.NodeEligibilityRequest) (*structs.NodeEligibilityRequest, error) {
	out := *r
	out.ByOperator = false
	return &out, nil
}

// allocUpdateV2 is an AllocUpdate request for servers that keep no
// non-finite metrics: the report goes without them (and without its count
// of lines that were not JSON), and those servers keep a diverged metric's
// last finite value, as before format 7.
func allocUpdateV2(r *structs.AllocUpdateRequest) (*structs.AllocUpdateRequest, error) {
	var out *structs.AllocUpdateRequest
	for i, u := range r.Updates {
		if u == nil || (u.Client.NonFinite == nil && !u.Client.MetricsCounted && u.Client.MetricsSkipped == 0) {
			continue
		}
		if out == nil {
			c := *r
			c.Updates = slices.Clone(r.Updates)
			out = &c
		}
		c := *u
		c.Client = u.Client.Copy()
		c.Client.NonFinite, c.Client.MetricsSkipped, c.Client.MetricsCounted = nil, 0, false
		out.Updates[i] = &c
	}
	if out == nil {
		return r, nil
	}
	return out, nil
}

// allocUpdatesV1 is an AllocUpdates request for servers that keep no
// non-finite metrics: each report as allocUpdateV2 writes it.
func allocUpdatesV1(r *structs.AllocUpdatesRequest) (*structs.AllocUpdatesRequest, error) {
	out := &structs.AllocUpdatesRequest{Requests: make([]*structs.AllocUpdateRequest, len(r.Requests))}
	for i, req := range r.Requests {
		if req == nil {
			continue
		}
		d, err := allocUpdateV2(req)
		if err != nil {
			return nil, err
		}
		out.Requests[i] = d
	}
	return out, nil
}

// allocUpdateV3 is an AllocUpdate request for servers that copy every
// ending allocation's outputs, logs and metrics history onto its job: the
// report goes without RankZeroOutputs, so every server of the cluster
// applies that rule (the job keeps the last rank's), as before format 8.
func allocUpdateV3(r *structs.AllocUpdateRequest) (*structs.AllocUpdateRequest, error) {
	if !r.RankZeroOutputs {
		return r, nil
	}
	out := *r
	out.RankZeroOutputs = false
	return &out, nil
}

// allocUpdatesV2 is an AllocUpdates request for servers before format 8:
// each report as allocUpdateV3 writes it.
func allocUpdatesV2(r *structs.AllocUpdatesRequest) (*structs.AllocUpdatesRequest, error) {
	out := &structs.AllocUpdatesRequest{Requests: make([]*structs.AllocUpdateRequest, len(r.Requests))}
	for i, req := range r.Requests {
		if req == nil {
			continue
		}
		d, err := allocUpdateV3(req)
		if err != nil {
			return nil, err
		}
		out.Requests[i] = d
	}
	return out, nil
}
