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
func resolveMemberDeps(snap *state.Snapshot, deps []structs.Dependency) ([]structs.Dependency, error) {
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
		if len(members) == 0 {
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
func resolveSweepMemberDeps(snap *state.Snapshot, spec *structs.SweepSpec) error {
	deps, err := resolveMemberDeps(snap, spec.Template.DependsOn)
	if err != nil {
		return err
	}
	spec.Template.DependsOn = deps
	for i, m := range spec.Members {
		if m.Changes == nil || !slices.Contains(m.Changed, "depends_on") {
			continue
		}
		deps, err := resolveMemberDeps(snap, m.Changes.DependsOn)
		if err != nil {
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
