package server

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// resolveMemberDeps turns the dependencies of submitted jobs that name an
// array member as people type it ("12_3": task id 3 of array 12, or index
// 3 of a sweep block's; structs.Job.ArrayTask) into the member's job id,
// marked Member where it is the array's first, whose id is the array's,
// so that the scheduler waits for that member alone. It runs before
// the raft entry is made, so every server stores the same ids; the state
// store then checks that they exist, as for any id. deps is not changed:
// a new list is returned when one is resolved.
func resolveMemberDeps(snap *state.Snapshot, deps []structs.Dependency, see visibleFunc) ([]structs.Dependency, error) {
	var out []structs.Dependency
	for i, d := range deps {
		arr, num, ok := strings.Cut(d.JobID, "_")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if arr == "" || err != nil || n < 0 || strconv.Itoa(n) != num {
			return nil, structs.NewError(structs.CodeInvalid, "depends_on %q: expected a job id (12) or an array member (12_3)", d.JobID)
		}
		members, err := snap.JobsByArray(nil, arr)
		if err != nil {
			return nil, err
		}
		if len(members) == 0 || !see(members[0]) {
			// An array the caller may not read is one that does not exist.
			return nil, structs.NewError(structs.CodeInvalid, "depends_on names job %q, but there is no job array %s", d.JobID, arr)
		}
		k := slices.IndexFunc(members, func(m *structs.Job) bool { return m.ArrayTask() == n })
		if k < 0 {
			nums := make([]int, len(members))
			for k, m := range members {
				nums[k] = m.ArrayTask()
			}
			return nil, structs.NewError(structs.CodeInvalid, "depends_on names job %q, but job array %s has no member %d (members %s)", d.JobID, arr, n, jobtext.Ranges(nums))
		}
		if out == nil {
			out = slices.Clone(deps)
		}
		m := members[k]
		out[i] = structs.Dependency{Type: d.Type, JobID: m.ID, Member: m.ID == m.ArrayID}
	}
	if out == nil {
		return deps, nil
	}
	return out, nil
}

// resolveSweepMemberDeps is resolveMemberDeps for a sweep sent as one
// spec: the template's dependencies and those of members that change
// them.
func resolveSweepMemberDeps(snap *state.Snapshot, spec *structs.SweepSpec, see visibleFunc) error {
	deps, err := resolveMemberDeps(snap, spec.Template.DependsOn, see)
	if err != nil {
		return err
	}
	spec.Template.DependsOn = deps
	if err := checkDepsSatisfiable(snap, deps, see); err != nil {
		return err
	}
	for i, m := range spec.Members {
		if m.Changes == nil || !slices.Contains(m.Changed, "depends_on") {
			continue
		}
		deps, err := resolveMemberDeps(snap, m.Changes.DependsOn, see)
		if err != nil {
			return structs.NewError(structs.CodeOf(err), "sweep member %d: %v", i, err)
		}
		if err := checkDepsSatisfiable(snap, deps, see); err != nil {
			return structs.NewError(structs.CodeOf(err), "sweep member %d: %v", i, err)
		}
		if !slices.Equal(deps, m.Changes.DependsOn) {
			// Members may share their Changes: this one gets its own.
			c := *m.Changes
			c.DependsOn = deps
			spec.Members[i].Changes = &c
		}
	}
	return nil
}

// checkDepsSatisfiable refuses dependencies that can never be met given
// how the jobs they name have already ended, as Slurm refuses them at
// submit ("Job dependency problem"): afterok on a job that ended without
// completing, afternotok on one that completed. A dependency on a whole
// array follows the scheduler's rule (scheduler/gate_dependency.go):
// afterok can never be met once one member did not complete, afternotok
// once every member ended and all completed. deps are resolved
// (resolveMemberDeps). A job that does not exist, or that the caller may
// not read (whatever the kind of dependency: its state is none of the
// caller's business), is refused as the state store refuses a job that
// does not exist, in the same words. A job that ends the wrong way after
// this check is still cancelled by the scheduler, as before.
func checkDepsSatisfiable(snap *state.Snapshot, deps []structs.Dependency, see visibleFunc) error {
	for _, d := range deps {
		dj, err := snap.JobByID(nil, d.JobID)
		if err != nil {
			return err
		}
		if d.JobID != "" && (dj == nil || !see(dj)) {
			return structs.NewError(structs.CodeInvalid, "depends_on names job %q, which does not exist", d.JobID)
		}
		if dj == nil || (d.Type != structs.AfterOK && d.Type != structs.AfterNotOK) {
			continue
		}
		if d.Type == structs.AfterOK && dj.IsService() {
			// A service runs until it is stopped, and a stopped service
			// ends cancelled: it never completes.
			return structs.NewError(structs.CodeInvalid, "dependency afterok:%s can never be satisfied: job %s is a service (%s), which runs until it is stopped and then ends cancelled; wait for it with afterany:%s", dj.ID, dj.ID, dj.Name, dj.ID)
		}
		jobs := []*structs.Job{dj}
		array := !d.Member && dj.ArrayID == dj.ID
		if array {
			members, err := snap.JobsByArray(nil, dj.ID)
			if err != nil {
				return err
			}
			if len(members) > 0 {
				jobs = members
			}
		}
		var notOK *structs.Job
		left := 0
		for _, j := range jobs {
			switch {
			case !j.Status.Terminal():
				left++
			case j.Status != structs.JobComplete && notOK == nil:
				notOK = j
			}
		}
		whole := array       // an array of one (--array=5) too: its id names the array
		ref := dj.ArrayRef() // 12, or 12_3 for one member
		if whole {
			ref = dj.ID
		}
		switch {
		case d.Type == structs.AfterOK && notOK != nil && whole:
			return structs.NewError(structs.CodeInvalid, "dependency afterok:%s can never be satisfied: member %s of job array %s ended %s", ref, notOK.ArrayRef(), ref, notOK.Status)
		case d.Type == structs.AfterOK && notOK != nil:
			return structs.NewError(structs.CodeInvalid, "dependency afterok:%s can never be satisfied: job %s ended %s", ref, ref, notOK.Status)
		case d.Type == structs.AfterNotOK && left == 0 && notOK == nil && whole:
			return structs.NewError(structs.CodeInvalid, "dependency afternotok:%s can never be satisfied: every member of job array %s ended complete", ref, ref)
		case d.Type == structs.AfterNotOK && left == 0 && notOK == nil:
			return structs.NewError(structs.CodeInvalid, "dependency afternotok:%s can never be satisfied: job %s ended complete", ref, ref)
		}
	}
	return nil
}

// visibleFunc says whether the caller may read a job (acl.ACL.CanSeeJob).
type visibleFunc func(*structs.Job) bool

// visibleTo is the visibleFunc of a request's caller.
func visibleTo(r *request) visibleFunc {
	return func(j *structs.Job) bool { return r.acl.CanSeeJob(j.User, j.Group) }
}
