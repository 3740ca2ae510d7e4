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
