package state

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// svcJob is a service of n replicas with one GPU each.
func svcJob(name string, n int) *structs.Job {
	j := newJob(name).GPUs(1).Build()
	j.Type = structs.JobService
	j.Service = &structs.ServiceSpec{Replicas: n}
	return j
}

// portNode is a node that offers service ports first..last.
func portNode(id string, gpus, first, last int) *structs.Node {
	n := testNode(id, gpus)
	n.ServicePorts = structs.PortRange{First: first, Last: last}
	return n
}

// replica is a placement of replica r of a service as the leader makes
// it: the next attempt after the job's, at the job's version.
func (f *fixture) replica(jobID string, r, nth int, nodeID string, gpus ...int) *structs.Allocation {
	f.t.Helper()
	j := f.job(jobID)
	attempt := j.Attempt + nth
	return &structs.Allocation{ID: fmt.Sprintf("%s.%d", jobID, attempt), JobID: jobID, NodeID: nodeID, GPUs: gpus,
		Attempt: attempt, Replica: r, JobVersion: j.Version}
}

func (f *fixture) healthy(allocID string, ok bool) {
	f.t.Helper()
	h := &structs.ReplicaHealth{Address: "127.0.0.1:20000", Healthy: ok}
	if !ok {
		h.HealthError = "GET /health: connection refused"
	}
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning, Service: h}); err != nil {
		f.t.Fatal(err)
	}
}

// live lists a service's allocations meant to run, as "id:replica@version".
func (f *fixture) live(jobID string) []string {
	f.t.Helper()
	allocs, err := f.s.Snapshot().AllocsByJob(nil, jobID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, a := range allocs {
		if !a.Terminal() && a.DesiredStatus == structs.DesiredRun {
			out = append(out, fmt.Sprintf("%s:%d@%d", a.ID, a.Replica, a.JobVersion))
		}
	}
	return out
}

func TestServiceRegister(t *testing.T) {
	f := newFixture(t)
	id := f.register(svcJob("api", 2))[0]
	j := f.job(id)
	if j.Version != 1 || j.Resources.Ports != 1 || j.Status != structs.JobPending {
		t.Errorf("version %d, ports %d, status %s: want 1, 1, pending", j.Version, j.Resources.Ports, j.Status)
	}
	// A second live service of the same name is refused, whole.
	_, err := f.s.RegisterJobs(f.next(), &structs.JobRegisterRequest{Jobs: []*structs.Job{svcJob("api", 1)}, Now: t0})
	if structs.CodeOf(err) != structs.CodeConflict || !strings.Contains(err.Error(), "job "+id) {
		t.Errorf("second service api: %v, want a conflict naming job %s", err, id)
	}
	// A batch job of that name is fine.
	f.register(newJob("api").Build())
}

func TestServiceRegisterRefusesBadSpecs(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(j *structs.Job)
		want string
	}{
		{"zero replicas", func(j *structs.Job) { j.Service.Replicas = 0 }, "replicas 0 is out of range"},
		{"negative replicas", func(j *structs.Job) { j.Service.Replicas = -1 }, "replicas -1 is out of range"},
		{"service block on a batch job", func(j *structs.Job) { j.Type = "" }, `needs type = "service"`},
		{"no service block", func(j *structs.Job) { j.Service = nil }, "needs a service block"},
		{"time limit", func(j *structs.Job) { j.TimeLimit = structs.Duration(time.Hour) }, "time_limit is for batch jobs"},
		{"health path escaping", func(j *structs.Job) { j.Service.Health.Path = "/a/../b" }, "health path"},
		{"unknown type", func(j *structs.Job) { j.Type = "daemon" }, `type "daemon" is unknown`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			j := svcJob("api", 1)
			tc.edit(j)
			_, err := f.s.RegisterJobs(f.next(), &structs.JobRegisterRequest{Jobs: []*structs.Job{j}, Now: t0})
			if structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("register: %v, want invalid mentioning %q", err, tc.want)
			}
			if jobs, _ := f.s.Snapshot().Jobs(nil); len(jobs) != 0 {
				t.Errorf("a refused service left %d jobs", len(jobs))
			}
		})
	}
}

func TestServicePlacesReplicasOneByOne(t *testing.T) {
	f := newFixture(t)
	f.node(portNode("n1", 4, 20000, 20001))
	id := f.register(svcJob("api", 3))[0]
	// Replica 0 and 1 fit (two ports); replica 2 has no port left and is
	// dropped without the others; a stale attempt is dropped too.
	stale := f.replica(id, 2, 0, "n1", 3)
	applied := f.plan(f.replica(id, 0, 1, "n1", 0), f.replica(id, 1, 2, "n1", 1), f.replica(id, 2, 3, "n1", 2), stale)
	if want := []string{id + ".1", id + ".2"}; !cmp.Equal(applied, want) {
		t.Fatalf("applied %v, want %v", applied, want)
	}
	j := f.job(id)
	if j.Status != structs.JobRunning || j.Attempt != 2 || j.AllocID != id+".1" {
		t.Errorf("job status %s attempt %d alloc %s: want running, 2, %s.1", j.Status, j.Attempt, j.AllocID, id)
	}
	// A slot already held is not placed twice.
	if got := f.plan(f.replica(id, 1, 1, "n1", 2)); len(got) != 0 {
		t.Errorf("replica 1 placed twice: %v", got)
	}
	// The scheduler's view lists the running service (it lacks replica 2).
	var listed bool
	for _, pj := range f.s.Snapshot().SchedulerState().PendingJobs() {
		listed = listed || pj.ID == id
	}
	if !listed {
		t.Error("a running service is not among the jobs waiting for placements")
	}
}

func TestServiceReplicaLostIsReplaced(t *testing.T) {
	f := newFixture(t)
	f.node(portNode("n1", 2, 20000, 20009))
	id := f.register(svcJob("api", 1))[0]
	f.plan(f.replica(id, 0, 1, "n1", 0))
	if err := f.report(id+".1", structs.ClientStatusFields{Status: structs.AllocLost, ExitReason: structs.ExitNodeLost}); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if j.Status != structs.JobRunning || !strings.Contains(j.Reason, "placing another") {
		t.Errorf("status %s reason %q: a service outlives its replicas", j.Status, j.Reason)
	}
	if got := f.plan(f.replica(id, 0, 1, "n1", 1)); len(got) != 1 {
		t.Errorf("replica 0 not placed again: %v", got)
	}
}

func TestServiceScale(t *testing.T) {
	f := newFixture(t)
	f.node(portNode("n1", 4, 20000, 20009))
	id := f.register(svcJob("api", 3))[0]
	f.plan(f.replica(id, 0, 1, "n1", 0), f.replica(id, 1, 2, "n1", 1), f.replica(id, 2, 3, "n1", 2))
	if err := f.s.ScaleService(f.next(), &structs.ServiceScaleRequest{JobID: id, Replicas: 1, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.live(id), []string{id + ".1:0@1"}; !cmp.Equal(got, want) {
		t.Errorf("live %v, want %v", got, want)
	}
	if a := f.allocByID(id + ".3"); a.DesiredReason != structs.ExitScaledDown {
		t.Errorf("replica 2 stops for %q, want scaled-down", a.DesiredReason)
	}
	for _, n := range []int{0, -1, structs.MaxReplicas + 1} {
		err := f.s.ScaleService(f.next(), &structs.ServiceScaleRequest{JobID: id, Replicas: n, Now: t0})
		if structs.CodeOf(err) != structs.CodeInvalid {
			t.Errorf("scale to %d: %v, want invalid", n, err)
		}
	}
	batch := f.register(newJob("train").Build())[0]
	if err := f.s.ScaleService(f.next(), &structs.ServiceScaleRequest{JobID: batch, Replicas: 2, Now: t0}); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("scale a batch job: %v, want invalid", err)
	}
}

func TestServiceRolloutCompletesWhenNewReplicasAreHealthy(t *testing.T) {
	f := newFixture(t)
	f.node(portNode("n1", 4, 20000, 20009))
	id := f.register(svcJob("api", 2))[0]
	f.plan(f.replica(id, 0, 1, "n1", 0), f.replica(id, 1, 2, "n1", 1))
	f.healthy(id+".1", true)
	f.healthy(id+".2", true)
	resp, err := f.s.StartRollout(f.next(), &structs.ServiceRolloutRequest{JobID: id, Now: t0, Deadline: t0.Add(time.Minute),
		Revision: structs.ServiceRevision{Task: structs.Task{Command: "python3", Args: []string{"serve.py", "--v2"}}}})
	if err != nil || resp.Version != 2 {
		t.Fatalf("rollout: %+v, %v", resp, err)
	}
	// The old replicas still run their old spec.
	if spec := f.job(id).SpecFor(1); !cmp.Equal(spec.Task.Args, []string{"train.py"}) {
		t.Errorf("version 1 runs %v, want the old args", spec.Task.Args)
	}
	f.plan(f.replica(id, 0, 1, "n1", 2), f.replica(id, 1, 2, "n1", 3))
	f.healthy(id+".3", true)
	if r := f.job(id).Rollout; r.Status != structs.RolloutRunning {
		t.Fatalf("rollout %s with one of two new replicas healthy", r.Status)
	}
	f.healthy(id+".4", true)
	j := f.job(id)
	if j.Rollout.Status != structs.RolloutComplete {
		t.Fatalf("rollout %s, want complete", j.Rollout.Status)
	}
	if got, want := f.live(id), []string{id + ".3:0@2", id + ".4:1@2"}; !cmp.Equal(got, want) {
		t.Errorf("live %v, want only the new version", got)
	}
	if a := f.allocByID(id + ".1"); a.DesiredReason != structs.ExitReplaced {
		t.Errorf("old replica stops for %q, want replaced", a.DesiredReason)
	}
	// Rolling out what already runs is refused.
	_, err = f.s.StartRollout(f.next(), &structs.ServiceRolloutRequest{JobID: id, Now: t0, Revision: structs.RevisionOf(j)})
	if structs.CodeOf(err) != structs.CodeConflict {
		t.Errorf("rollout to the same revision: %v, want conflict", err)
	}
}

func TestServiceRollback(t *testing.T) {
	f := newFixture(t)
	f.node(portNode("n1", 4, 20000, 20009))
	id := f.register(svcJob("api", 1))[0]
	f.plan(f.replica(id, 0, 1, "n1", 0))
	f.healthy(id+".1", true)
	if _, err := f.s.StartRollout(f.next(), &structs.ServiceRolloutRequest{JobID: id, Now: t0, Deadline: t0.Add(time.Minute),
		Revision: structs.ServiceRevision{Task: structs.Task{Command: "false"}}}); err != nil {
		t.Fatal(err)
	}
	// A second rollout while one runs is refused.
	_, err := f.s.StartRollout(f.next(), &structs.ServiceRolloutRequest{JobID: id, Now: t0,
		Revision: structs.ServiceRevision{Task: structs.Task{Command: "true"}}})
	if structs.CodeOf(err) != structs.CodeConflict {
		t.Errorf("second rollout: %v, want conflict", err)
	}
	f.plan(f.replica(id, 0, 1, "n1", 1))
	f.healthy(id+".2", false)
	// A stale rollback (another version) changes nothing.
	if err := f.s.RollbackRollout(f.next(), &structs.ServiceRollbackRequest{JobID: id, ToVersion: 7, Reason: "x", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RollbackRollout(f.next(), &structs.ServiceRollbackRequest{JobID: id, ToVersion: 2, Reason: "0 of 1 new replicas healthy", Now: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if j.Version != 1 || j.Task.Command != "python3" || j.Rollout.Status != structs.RolloutRolledBack || !strings.Contains(j.Reason, "0 of 1 new replicas healthy") {
		t.Errorf("after rollback: version %d command %q rollout %s reason %q", j.Version, j.Task.Command, j.Rollout.Status, j.Reason)
	}
	if got, want := f.live(id), []string{id + ".1:0@1"}; !cmp.Equal(got, want) {
		t.Errorf("live %v, want the old replica only", got)
	}
	// The next rollout takes a version number never used.
	resp, err := f.s.StartRollout(f.next(), &structs.ServiceRolloutRequest{JobID: id, Now: t0,
		Revision: structs.ServiceRevision{Task: structs.Task{Command: "true"}}})
	if err != nil || resp.Version != 3 {
		t.Errorf("next rollout: %+v, %v; want version 3", resp, err)
	}
}

func TestServiceStop(t *testing.T) {
	f := newFixture(t)
	f.node(portNode("n1", 4, 20000, 20009))
	id := f.register(svcJob("api", 2))[0]
	f.plan(f.replica(id, 0, 1, "n1", 0), f.replica(id, 1, 2, "n1", 1))
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if j.Status != structs.JobCancelled {
		t.Errorf("status %s, want cancelled at once", j.Status)
	}
	if len(f.live(id)) != 0 {
		t.Errorf("replicas still meant to run: %v", f.live(id))
	}
	if svcs, _ := f.s.Snapshot().Services(nil); len(svcs) != 0 {
		t.Errorf("a stopped service is listed: %v", svcs)
	}
	// Its name is free again.
	f.register(svcJob("api", 1))
	// A replica's late report changes nothing of the ended service.
	if err := f.report(id+".1", structs.ClientStatusFields{Status: structs.AllocFailed, ExitReason: structs.ExitCancelled}); err != nil {
		t.Fatal(err)
	}
	if j := f.job(id); j.Status != structs.JobCancelled {
		t.Errorf("status %s after a replica ended", j.Status)
	}
}

func TestBatchJobNeedsNoPorts(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 2)) // no service ports
	if _, aid := f.start(newJob("train").GPUs(1).Build(), "n1", 0); aid == "" {
		t.Fatal("batch job not placed")
	}
	id := f.register(svcJob("api", 1))[0]
	if got := f.plan(f.replica(id, 0, 1, "n1", 1)); len(got) != 0 {
		t.Errorf("a replica was placed on a node without service ports: %v", got)
	}
}

// TestServiceRolloutReasonPlural: a completed rollout's reason counts its
// replicas in words that agree with the count ("1 replica").
func TestServiceRolloutReasonPlural(t *testing.T) {
	for _, tt := range []struct {
		replicas int
		want     string
	}{
		{1, "1 replica of version 2 healthy; 1 of version 1 stopped"},
		{2, "2 replicas of version 2 healthy; 2 of version 1 stopped"},
	} {
		t.Run(strconv.Itoa(tt.replicas), func(t *testing.T) {
			f := newFixture(t)
			f.node(portNode("n1", 4, 20000, 20009))
			id := f.register(svcJob("api", tt.replicas))[0]
			var old, next []*structs.Allocation
			for i := range tt.replicas {
				old = append(old, f.replica(id, i, i+1, "n1", i))
			}
			f.plan(old...)
			for i := range tt.replicas {
				f.healthy(fmt.Sprintf("%s.%d", id, i+1), true)
			}
			if _, err := f.s.StartRollout(f.next(), &structs.ServiceRolloutRequest{JobID: id, Now: t0, Deadline: t0.Add(time.Minute),
				Revision: structs.ServiceRevision{Task: structs.Task{Command: "python3", Args: []string{"serve.py", "--v2"}}}}); err != nil {
				t.Fatal(err)
			}
			for i := range tt.replicas {
				next = append(next, f.replica(id, i, i+1, "n1", tt.replicas+i))
			}
			f.plan(next...)
			for i := range tt.replicas {
				f.healthy(fmt.Sprintf("%s.%d", id, tt.replicas+i+1), true)
			}
			r := f.job(id).Rollout
			if r.Status != structs.RolloutComplete || r.Reason != tt.want {
				t.Errorf("rollout %s: %q, want complete: %q", r.Status, r.Reason, tt.want)
			}
		})
	}
}
