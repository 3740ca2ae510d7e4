package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

// submittedJobs reads the body of a submission (PUT /v1/jobs, and the dry
// run): {"job": ...}, {"jobs": [...]} or {"sweep": {...}} (a sweep as one
// spec, see structs.SweepSpec). It returns the jobs, cleaned, checked and
// owned, and for a sweep sent as a spec the spec they were expanded from,
// made to expand to exactly those jobs: the raft entry carries it rather
// than the members written out. A registration (members false) gets a
// sweep's spec without its members where it can (submittedSweep).
func (s *Server) submittedJobs(r *request, members bool) ([]*structs.Job, *structs.SweepSpec, error) {
	var body registerBody
	if err := decodeRegisterBody(r.Request, &body); err != nil {
		return nil, nil, err
	}
	if body.Sweep != nil {
		if body.Job != nil || len(body.Jobs) > 0 {
			return nil, nil, structs.NewError(structs.CodeInvalid, `a submission holds either jobs or a sweep, not both: expected {"jobs": [...]} or {"sweep": {...}}`)
		}
		spec := (*structs.SweepSpec)(body.Sweep)
		jobs, err := submittedSweep(r, s.State().Snapshot(), spec, members)
		if err != nil {
			return nil, nil, err
		}
		if spec.Template != nil {
			if err := checkInputsExist(r, spec.Template); err != nil {
				return nil, nil, err
			}
		}
		if err := s.checkJobCode(r, jobs, spec.Template); err != nil {
			return nil, nil, err
		}
		return jobs, spec, nil
	}
	jobs := body.Jobs
	if body.Job != nil {
		jobs = append([]*structs.Job{body.Job}, jobs...)
	}
	if len(jobs) == 0 {
		return nil, nil, structs.NewError(structs.CodeInvalid, `no job in the request: expected {"job": {...}}, {"jobs": [...]} or {"sweep": {...}}`)
	}
	if len(jobs) > MaxJobsPerSubmit {
		return nil, nil, structs.NewError(structs.CodeInvalid, "%d jobs in one submission: the limit is %d", len(jobs), MaxJobsPerSubmit)
	}
	var snap *state.Snapshot
	for i, j := range jobs {
		if j == nil {
			return nil, nil, structs.NewError(structs.CodeInvalid, "job %d of the request is null", i)
		}
		clean := withoutState(j)
		clean.Canonicalize()
		if err := errors.Join(clean.Validate(), clean.CheckSubmit()); err != nil {
			return nil, nil, structs.NewError(structs.CodeInvalid, "job %q is invalid: %v", clean.Name, err)
		}
		if len(clean.DependsOn) > 0 {
			if snap == nil {
				snap = s.State().Snapshot()
			}
			deps, err := resolveMemberDeps(snap, clean.DependsOn, visibleTo(r))
			if err == nil {
				err = checkDepsSatisfiable(snap, deps, visibleTo(r))
			}
			if err != nil {
				return nil, nil, structs.NewError(structs.CodeOf(err), "job %q: %v", clean.Name, err)
			}
			clean.DependsOn = deps
		}
		jobs[i] = clean
	}
	if err := ownJobs(r, jobs); err != nil {
		return nil, nil, err
	}
	for _, j := range jobs {
		if err := checkInputsExist(r, j); err != nil {
			return nil, nil, err
		}
		if err := serviceNameFree(r, j); err != nil {
			return nil, nil, err
		}
	}
	if err := s.checkJobCode(r, jobs, nil); err != nil {
		return nil, nil, err
	}
	return jobs, nil, nil
}

// checkInputsExist refuses a job that reads a dataset or model of a name
// that does not exist, with the name it probably meant. The registration
// checks again in its transaction (resolveArtifactRefs): this one is for
// the message, which there cannot know what the caller may see.
func checkInputsExist(r *request, j *structs.Job) error {
	for _, in := range []struct {
		kind structs.ArtifactKind
		refs []structs.ArtifactRef
	}{{structs.KindDataset, j.Datasets}, {structs.KindModel, j.Models}} {
		for _, ref := range in.refs {
			a, err := r.snap.ArtifactByName(nil, in.kind, ref.Name)
			if err != nil {
				return err
			}
			if a == nil {
				// The job is what is wrong (400), as the registration says.
				err := missingArtifact(r, in.kind, ref.Name, "%s %q does not exist: push it first")
				return structs.NewError(structs.CodeInvalid, "%s", err.Error())
			}
		}
	}
	return nil
}

// decodeRegisterBody is decodeBody for a submission. A body that is one
// sweep, {"sweep":SPEC} as the API client sends it, goes to the sweep's
// decoder at once: a json.Decoder scans the whole body twice before
// calling it (1.5 ms of a 1000-member sweep). Anything else, or a spec
// that does not decode, takes decodeBody's way, errors included.
func decodeRegisterBody(r *http.Request, body *registerBody) error {
	raw, err := readBody(r)
	if err != nil {
		if tooLarge := bodyTooLarge(err); tooLarge != nil {
			return tooLarge
		}
		return structs.NewError(structs.CodeInvalid, "cannot read the request body: %v", err)
	}
	const prefix = `{"sweep":`
	if spec := bytes.TrimRight(raw, " \t\r\n"); bytes.HasPrefix(spec, []byte(prefix)) && len(spec) > len(prefix)+1 && spec[len(prefix)] == '{' && spec[len(spec)-1] == '}' {
		var s structs.StrictSweepSpec
		if s.UnmarshalJSON(spec[len(prefix):len(spec)-1]) == nil {
			*body = registerBody{Sweep: &s}
			return nil
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return decodeBody(r, body)
}

// readBody reads a request's body, at most maxBody bytes, into a buffer of
// its announced length where it has one, up to maxBodyPresize (io.ReadAll
// grows from 512 bytes by doubling: a sweep's 83 KB body was read into
// nine buffers). A larger announced length is not allocated before its
// bytes come.
func readBody(r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	if n := r.ContentLength; n > 0 && n <= maxBody {
		buf := bytes.NewBuffer(make([]byte, 0, min(n, maxBodyPresize)+1)) // +1: the read that sees the end
		_, err := buf.ReadFrom(body)
		return buf.Bytes(), err
	}
	return io.ReadAll(body)
}

// maxBodyPresize bounds what readBody allocates for a body before reading
// it: a 10,000-member sweep is under 1 MB.
const maxBodyPresize = 1 << 20

// withoutState is a copy of a submitted job without the fields the cluster
// owns, which are never the submitter's.
func withoutState(j *structs.Job) *structs.Job {
	clean := *j
	clean.ID, clean.Status, clean.Reason, clean.ExitCode, clean.ExitReason = "", "", "", nil, ""
	clean.NodeID, clean.NodeName, clean.AllocID, clean.GPUs, clean.Attempt = "", "", "", nil, 0
	clean.SubmitTime, clean.StartTime, clean.EndTime, clean.EstimatedStart = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	clean.Metrics, clean.OutputDigest, clean.OutputSize, clean.ArrayID = nil, "", 0, ""
	clean.NonFiniteMetrics, clean.MetricsSkippedLines, clean.MetricsCounted = nil, 0, false
	clean.OutputFiles, clean.OutputVersion = 0, 0
	clean.MetricsDigest, clean.StdoutDigest, clean.StderrDigest = "", "", ""
	clean.OutputServe, clean.Version, clean.Rollout = nil, 0, nil
	clean.CreateIndex, clean.ModifyIndex = 0, 0
	return &clean
}

// submittedSweep checks a sweep sent as one spec and returns its members,
// as submittedJobs does the jobs of a list; the spec is changed in place
// (state fields cleared, owner set) so that it expands to them. A member
// changes only fields a job file sets (Check), and not its owner.
//
// Without ACLs, and when the caller does not need the members (members
// false: a registration), they are not made here: the state store makes,
// canonicalizes and validates every member as it applies the entry, and
// refuses the whole sweep, naming the member, as this would (an invalid
// member costs a raft entry that changes nothing). Made here too, they
// were a tenth of the leader's time and a fifth of its garbage for a
// 1000-member sweep. With ACLs each member's owner, group and artifacts
// are checked against the caller, which only this side knows.
func submittedSweep(r *request, snap *state.Snapshot, spec *structs.SweepSpec, members bool) ([]*structs.Job, error) {
	if err := spec.Check(MaxJobsPerSubmit); err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "sweep: %v", err)
	}
	if err := spec.CheckSizes(); err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "sweep: %v", err)
	}
	for i, m := range spec.Members {
		if slices.Contains(m.Changed, "user") {
			return nil, structs.NewError(structs.CodeInvalid, "sweep member %d changes its owner (user): every member of a sweep has the template's", i)
		}
	}
	spec.Template = withoutState(spec.Template)
	if err := spec.Template.CheckSubmit(); err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "sweep %q is invalid: %v", spec.Template.Name, err)
	}
	if err := resolveSweepMemberDeps(snap, spec, visibleTo(r)); err != nil {
		return nil, err
	}
	// The template is owned as any job is (its user, group and run-as
	// account decided and checked); the members then inherit the owner.
	if err := ownJobs(r, []*structs.Job{spec.Template}); err != nil {
		return nil, err
	}
	if !members && !r.acl.Enabled() {
		return nil, nil
	}
	jobs, invalid, err := spec.ExpandValid()
	if err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "sweep: %v", err)
	}
	for i, err := range invalid {
		if err == nil {
			err = jobs[i].CheckSubmit()
		}
		if err != nil {
			return nil, structs.NewError(structs.CodeInvalid, "sweep member %d (%s) is invalid: %v", i, jobs[i].Name, err)
		}
	}
	if err := ownJobs(r, jobs); err != nil {
		return nil, err
	}
	// ownJobs fills in a member's group or run-as account only where it
	// is empty, which the template's are not: only a member that changed
	// one to empty has one the spec would not expand to, and it is
	// refused.
	for i, m := range spec.Members {
		for _, name := range m.Changed {
			if (name == "group" && m.Changes.Group != jobs[i].Group) || (name == "task.user" && m.Changes.Task.User != jobs[i].Task.User) {
				return nil, structs.NewError(structs.CodeInvalid, "sweep member %d clears its group or task user: leave them out of its changes to use the template's", i)
			}
		}
	}
	return jobs, nil
}

// ownJobs decides who owns submitted jobs and as which unix account they
// run. Without ACLs the job says (the CLI sends the local account); with
// ACLs the token does: its user owns the jobs, under the group the job
// names (the user's personal group by default, where it must be a member
// or admin), and the tasks run as the user's unix account unless the
// caller may choose another (operators). A management token that acts for
// no user must name the job's user.
func ownJobs(r *request, jobs []*structs.Job) error {
	a := r.acl
	if !a.Enabled() {
		for _, j := range jobs {
			if j.User == "" {
				j.User = "anonymous"
			}
		}
		return nil
	}
	me := a.UserName()
	users := map[string]*structs.User{}
	for _, j := range jobs {
		switch {
		case j.User == "" && me == "":
			return structs.NewError(structs.CodeInvalid, "this token acts for no user, so the job must name its owner (\"user\"); better, submit with a user's token")
		case j.User == "":
			j.User = me
		case j.User != me && !a.IsManagement():
			return structs.NewError(structs.CodeForbidden, "permission denied: you are user %s and may not submit jobs as user %s", me, j.User)
		}
		u, ok := users[j.User]
		if !ok {
			var err error
			if u, err = r.snap.UserByName(nil, j.User); err != nil {
				return err
			}
			if u == nil {
				return structs.NewError(structs.CodeInvalid, "user %s does not exist (nai user create %s)", j.User, j.User)
			}
			users[j.User] = u
		}
		if j.Group == "" {
			j.Group = u.Name
		}
		g, err := r.snap.GroupByName(nil, j.Group)
		if err != nil {
			return err
		}
		if g == nil {
			return structs.NewError(structs.CodeNotFound, "group %s not found", j.Group)
		}
		if j.User == me {
			if err := a.CheckGroupWrite(j.Group); err != nil {
				return err
			}
		} else if g.Role(j.User).Rank() < structs.RoleMember.Rank() {
			return structs.NewError(structs.CodeForbidden, "permission denied: user %s is not a member of group %s, so it cannot own a job there", j.User, j.Group)
		}
		if j.Task.User == "" {
			j.Task.User = u.Account()
		} else if err := a.CheckRunAs(j.Task.User, u.Account()); err != nil {
			return err
		}
		if j.User == me {
			if err := checkJobArtifacts(r, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkJobArtifacts refuses a job that reads datasets or models its owner
// may not pull, runs a plugin it may not pull, or writes its outputs into
// a model or dataset of a group where its owner may not push: a job must
// not be a way around the registries' rules.
//
// One the owner may not even see is, as an input, one that does not exist,
// in the words used for that (hidden.go); as an output, a name taken by
// another group, as a push to it says.
func checkJobArtifacts(r *request, j *structs.Job) error {
	check := func(kind structs.ArtifactKind, name string, right acl.Right) error {
		a, err := r.snap.ArtifactByName(nil, kind, name)
		if err != nil || a == nil {
			return err // a missing one is the state store's to refuse
		}
		err = r.acl.CheckArtifact(kind, name, a.User, a.Group, right)
		if err == nil || !r.acl.HidesArtifact(kind, a.User, a.Group) {
			return err
		}
		switch {
		case right == acl.Write:
			return structs.NewError(structs.CodeForbidden, "permission denied: the %s name %q is taken by another group: choose another name", kind, name)
		case kind == structs.KindPlugin:
			// As the registration refuses a plugin that is not installed
			// (fsm/state/plugins.go).
			return structs.NewError(structs.CodeNotFound, "plugin %q is not installed (nai plugin install DIR)", name)
		}
		// As checkInputsExist refuses a dataset or model that does not
		// exist.
		return structs.NewError(structs.CodeInvalid, "%s", missingArtifact(r, kind, name, "%s %q does not exist: push it first").Error())
	}
	for _, d := range j.Datasets {
		if err := check(structs.KindDataset, d.Name, acl.ReadData); err != nil {
			return err
		}
	}
	for _, m := range j.Models {
		if err := check(structs.KindModel, m.Name, acl.ReadData); err != nil {
			return err
		}
	}
	if j.Plugin != nil {
		if err := check(structs.KindPlugin, j.Plugin.Name, acl.ReadData); err != nil {
			return err
		}
	}
	if j.Output != nil && j.Output.Dataset != "" {
		if err := check(structs.KindDataset, j.Output.Dataset, acl.Write); err != nil {
			return err
		}
	}
	if j.Output != nil && j.Output.Model != "" {
		return check(structs.KindModel, j.Output.Model, acl.Write)
	}
	return nil
}

// jobPlan is a dry run of a submission: the real scheduler, with the
// fair-share usage the leader plans with, runs one pass over the current
// state with the candidate jobs added as pending, and the answer says
// where each would start or why it would wait. Nothing goes to raft.
func (s *Server) jobPlan(r *request) (any, uint64, error) {
	jobs, _, err := s.submittedJobs(r, true)
	if err != nil {
		return nil, 0, err
	}
	snap := s.State().Snapshot()
	out, err := s.planJobs(snap, jobs, time.Now().UTC())
	if err != nil {
		return nil, 0, err
	}
	return out, snap.Index(), nil
}

// planJobs runs one scheduling pass over snap with jobs added as pending.
func (s *Server) planJobs(snap *state.Snapshot, jobs []*structs.Job, now time.Time) (*structs.JobPlanResponse, error) {
	base := snap.SchedulerState()
	// The same checks the state store makes when it registers jobs.
	for _, j := range jobs {
		for _, d := range j.DependsOn {
			if base.Job(d.JobID) == nil {
				return nil, structs.NewError(structs.CodeInvalid, "job %q depends_on names job %q, which does not exist", j.Name, d.JobID)
			}
		}
	}
	st := newPlanState(base, jobs, now)
	sched, err := s.schedulerFor(snap, now)
	if err != nil {
		return nil, err
	}
	plan := sched.Plan(st, now)
	order := sched.Order(st, now)

	results := make([]structs.JobPlanResult, len(st.extra))
	at := make(map[string]*structs.JobPlanResult, len(st.extra))
	for i, j := range st.extra {
		results[i] = structs.JobPlanResult{PlanID: j.ID, Name: j.Name, ArrayIndex: j.ArrayIndex, SweepValues: j.SweepValues}
		at[j.ID] = &results[i]
	}
	for i, j := range order {
		if r := at[j.ID]; r != nil {
			r.Position = i + 1
		}
	}
	nodes := map[string]string{}
	for _, n := range base.Nodes() {
		nodes[n.ID] = n.Name
	}
	for _, p := range plan.Placements {
		if r := at[p.JobID]; r != nil {
			p.NodeName = nodes[p.NodeID]
			p.GPUs = slices.Clone(p.GPUs)
			if p.GPUs == nil {
				p.GPUs = []int{}
			}
			r.Placements = append(r.Placements, p)
		}
	}
	for _, ws := range plan.Waiting {
		if r := at[ws.JobID]; r != nil {
			r.Wait = &ws
		}
	}
	for _, ws := range plan.Cancel {
		if r := at[ws.JobID]; r != nil {
			r.Wait, r.Cancelled = &ws, true
		}
	}
	for _, p := range plan.Preempt {
		if r := at[p.ForJobID]; r != nil {
			r.Preempt = append(r.Preempt, p)
		}
	}
	for i := range results {
		r := &results[i]
		if r.Wait != nil && strings.Contains(r.Wait.Reason, planArrayID) {
			// The candidates' sweep has no id yet: its temporary one
			// means nothing to the person asking.
			w := *r.Wait
			w.Reason = strings.Replace(w.Reason, "sweep "+planArrayID+" already runs", "its sweep would already run", 1)
			w.Reason = strings.ReplaceAll(w.Reason, planArrayID, fmt.Sprintf("the sweep %q", r.Name))
			r.Wait = &w
		}
		if r.Wait == nil && len(r.Placements) == 0 {
			// The scheduler accounts for every pending job; this would
			// be a bug in it, not a property of the job.
			return nil, fmt.Errorf("plan: the scheduler neither placed job %s (%s) nor said why it waits", r.PlanID, r.Name)
		}
	}
	return &structs.JobPlanResponse{Jobs: results, Pending: len(order), Index: snap.Index(), Now: now}, nil
}

// planArrayID is the temporary array id of the candidates of a sweep.
const planArrayID = "plan-1"

// planState is the scheduler's view of the state with candidate jobs
// added as pending, under temporary ids ("plan-1", "plan-2", ...) that no
// real job has (real ids are numbers).
type planState struct {
	base    scheduler.State
	extra   []*structs.Job
	byID    map[string]*structs.Job
	pending []*structs.Job
}

func newPlanState(base scheduler.State, jobs []*structs.Job, now time.Time) *planState {
	ps := &planState{base: base, byID: make(map[string]*structs.Job, len(jobs))}
	// A submission of jobs with sweep values is an array, as the state
	// store makes it (one such job too: the array of one of
	// --array=5), so max_parallel applies in the plan too.
	sweep := len(jobs) > 0
	for _, j := range jobs {
		if len(j.SweepValues) == 0 {
			sweep = false
		}
	}
	for i, in := range jobs {
		j := in.Copy()
		j.ID = fmt.Sprintf("plan-%d", i+1)
		j.Status = structs.JobPending
		j.SubmitTime = now
		j.GPUs = []int{}
		j.ArrayID, j.ArrayIndex = "", 0
		if sweep {
			j.ArrayID, j.ArrayIndex = planArrayID, i
		}
		ps.extra = append(ps.extra, j)
		ps.byID[j.ID] = j
	}
	ps.pending = append(slices.Clone(base.PendingJobs()), ps.extra...)
	return ps
}

// Nodes returns every node, as the state has them.
func (ps *planState) Nodes() []*structs.Node { return ps.base.Nodes() }

// PendingJobs returns the state's pending jobs, then the candidates.
func (ps *planState) PendingJobs() []*structs.Job { return ps.pending }

// LiveAllocs returns the state's live allocations.
func (ps *planState) LiveAllocs() []*structs.Allocation { return ps.base.LiveAllocs() }

// ArrayJobs returns the members of one of the state's arrays (the
// candidates' own sweep is no job's dependency).
func (ps *planState) ArrayJobs(arrayID string) []*structs.Job { return ps.base.ArrayJobs(arrayID) }

// Job returns a candidate or any job of the state.
func (ps *planState) Job(id string) *structs.Job {
	if j := ps.byID[id]; j != nil {
		return j
	}
	return ps.base.Job(id)
}
