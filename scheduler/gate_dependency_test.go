package scheduler

import (
	"testing"

	"github.com/nai-project/nai/structs"
)

func TestDependencyGate(t *testing.T) {
	never := gateRun{cancel, structs.WaitDependency, "DependencyNeverSatisfied"}
	cases := []struct {
		name  string
		setup func(h *harness) *jobBuilder // returns the job under test
		want  gateRun
	}{
		{"no dependencies", func(h *harness) *jobBuilder { return newJob() }, admitted},
		{"afterok a completed job", func(h *harness) *jobBuilder {
			h.finish(h.submit(newJob())[0].ID, structs.JobComplete)
			return newJob().After(structs.AfterOK, "1")
		}, admitted},
		{"afterok a failed job", func(h *harness) *jobBuilder {
			h.finish(h.submit(newJob())[0].ID, structs.JobFailed)
			return newJob().After(structs.AfterOK, "1")
		}, never},
		{"afterok a cancelled job", func(h *harness) *jobBuilder {
			h.finish(h.submit(newJob())[0].ID, structs.JobCancelled)
			return newJob().After(structs.AfterOK, "1")
		}, never},
		{"afternotok a failed job", func(h *harness) *jobBuilder {
			h.finish(h.submit(newJob())[0].ID, structs.JobFailed)
			return newJob().After(structs.AfterNotOK, "1")
		}, admitted},
		{"afternotok a completed job", func(h *harness) *jobBuilder {
			h.finish(h.submit(newJob())[0].ID, structs.JobComplete)
			return newJob().After(structs.AfterNotOK, "1")
		}, never},
		{"afterany a failed job", func(h *harness) *jobBuilder {
			h.finish(h.submit(newJob())[0].ID, structs.JobFailed)
			return newJob().After(structs.AfterAny, "1")
		}, admitted},
		{"afterany a running job waits", func(h *harness) *jobBuilder {
			h.running(newJob().GPUs(0), "n1", nil, t0)
			return newJob().After(structs.AfterAny, "1")
		}, gateRun{hold, structs.WaitDependency, "Dependency: waiting for job 1 to end (afterany)"}},
		{"afterok a pending job waits", func(h *harness) *jobBuilder {
			h.submit(newJob())
			return newJob().After(structs.AfterOK, "1")
		}, gateRun{hold, structs.WaitDependency, "Dependency: waiting for job 1 to end (afterok)"}},
		{"an unknown job", func(h *harness) *jobBuilder { return newJob().After(structs.AfterAny, "404") }, never},
		{"the first unfinished dependency is named", func(h *harness) *jobBuilder {
			h.finish(h.submit(newJob())[0].ID, structs.JobComplete)
			h.submit(newJob(), newJob())
			return newJob().After(structs.AfterOK, "1").After(structs.AfterAny, "3").After(structs.AfterOK, "2")
		}, gateRun{hold, structs.WaitDependency, "Dependency: waiting for job 3 to end (afterany)"}},
		{"one dependency that failed cancels, whatever still runs", func(h *harness) *jobBuilder {
			h.submit(newJob())
			h.finish(h.submit(newJob())[0].ID, structs.JobFailed)
			return newJob().After(structs.AfterAny, "1").After(structs.AfterOK, "2")
		}, never},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			j := h.submit(tc.setup(h))[0]
			if got := h.runGate(DefaultConfig(), "dependencies")[j.ID]; got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// array adds a job array of one member per status (its id the first
// member's, 1 in a fresh harness) and returns its members.
func (h *harness) array(statuses ...structs.JobStatus) []*structs.Job {
	var members []*structs.Job
	for i, st := range statuses {
		j := h.submit(newJob())[0]
		j.ArrayID, j.ArrayIndex, j.ArraySize = j.ID, i, len(statuses)
		if i > 0 {
			j.ArrayID = members[0].ID
		}
		if st != structs.JobPending {
			h.finish(j.ID, st) // running: only its status counts here
		}
		members = append(members, j)
	}
	return members
}

// A dependency on an array's id is on every member (Slurm's meaning); one
// on a member is on that member alone, the first too (Dependency.Member).
func TestDependencyOnArray(t *testing.T) {
	never := gateRun{cancel, structs.WaitDependency, "DependencyNeverSatisfied"}
	const (
		P  = structs.JobPending
		R  = structs.JobRunning
		OK = structs.JobComplete
		F  = structs.JobFailed
		CA = structs.JobCancelled
	)
	waitArray := func(typ structs.DependencyType, left, n int) gateRun {
		return gateRun{hold, structs.WaitDependency, structs.WaitDependsOnArray("1", left, n, typ).Reason}
	}
	cases := []struct {
		name    string
		members []structs.JobStatus
		typ     structs.DependencyType
		member  string // a member's job id instead of the array (the first's with Dependency.Member)
		want    gateRun
	}{
		{"afterany waits while a member runs", []structs.JobStatus{OK, F, R}, structs.AfterAny, "", waitArray(structs.AfterAny, 1, 3)},
		{"afterany waits while members are pending", []structs.JobStatus{OK, P, P}, structs.AfterAny, "", waitArray(structs.AfterAny, 2, 3)},
		{"afterany: every member ended", []structs.JobStatus{OK, F, CA}, structs.AfterAny, "", admitted},
		{"afterok waits while a member runs", []structs.JobStatus{OK, R, OK}, structs.AfterOK, "", waitArray(structs.AfterOK, 1, 3)},
		{"afterok: every member completed", []structs.JobStatus{OK, OK, OK}, structs.AfterOK, "", admitted},
		{"afterok: a failed member is never satisfied, whatever still runs", []structs.JobStatus{OK, R, F}, structs.AfterOK, "", never},
		{"afterok: a cancelled member is never satisfied", []structs.JobStatus{OK, CA}, structs.AfterOK, "", never},
		{"afternotok waits for every member though one failed", []structs.JobStatus{F, R}, structs.AfterNotOK, "", waitArray(structs.AfterNotOK, 1, 2)},
		{"afternotok: one member failed", []structs.JobStatus{OK, F, OK}, structs.AfterNotOK, "", admitted},
		{"afternotok: every member completed", []structs.JobStatus{OK, OK}, structs.AfterNotOK, "", never},
		{"a member: the first alone", []structs.JobStatus{OK, R, F}, structs.AfterOK, "1", admitted},
		{"a member: a running one, by its job id", []structs.JobStatus{OK, R, F}, structs.AfterAny, "2",
			gateRun{hold, structs.WaitDependency, "Dependency: waiting for job 1_1 to end (afterany)"}},
		{"a member: a failed one", []structs.JobStatus{OK, R, F}, structs.AfterOK, "3", never},
		{"a member: the first alone, still running", []structs.JobStatus{R, OK}, structs.AfterAny, "1",
			gateRun{hold, structs.WaitDependency, "Dependency: waiting for job 1_0 to end (afterany)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			h.array(tc.members...)
			b := newJob().After(tc.typ, "1")
			switch tc.member {
			case "":
			case "1": // the first member, whose id is the array's
				b = newJob().AfterMember(tc.typ, tc.member)
			default:
				b = newJob().After(tc.typ, tc.member)
			}
			j := h.submit(b)[0]
			if got := h.runGate(DefaultConfig(), "dependencies")[j.ID]; got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
