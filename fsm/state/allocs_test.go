package state

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

func TestUpdateAllocsSettlesJob(t *testing.T) {
	end := t0.Add(30 * time.Minute)
	tests := []struct {
		name string
		job  *structs.Job
		// before runs after placement (e.g. a cancel), given the job id.
		before     func(f *fixture, jobID string)
		report     structs.ClientStatusFields
		wantStatus structs.JobStatus
		wantCode   *int
		wantExit   structs.ExitReason
		wantReason string
	}{
		{name: "exit 0 completes", job: newJob("a").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), ExitReason: structs.ExitExited, EndTime: end, Metrics: map[string]float64{"loss": 0.1}, OutputDigest: "sha256:ab", OutputSize: 42},
			wantStatus: structs.JobComplete, wantCode: exit(0), wantExit: structs.ExitExited},
		{name: "non-zero exit fails", job: newJob("a").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(3), ExitReason: structs.ExitExited, EndTime: end, Message: "exit status 3"},
			wantStatus: structs.JobFailed, wantCode: exit(3), wantExit: structs.ExitExited, wantReason: "exit status 3"},
		{name: "oom kill fails", job: newJob("a").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(137), ExitReason: structs.ExitOOMKilled, EndTime: end},
			wantStatus: structs.JobFailed, wantCode: exit(137), wantExit: structs.ExitOOMKilled},
		{name: "failure with retry requeues", job: newJob("a").Retry(1, "failed").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(1), ExitReason: structs.ExitExited, EndTime: end},
			wantStatus: structs.JobPending, wantReason: "requeued after failed"},
		{name: "retry on other reasons does not requeue a failure", job: newJob("a").Retry(3, "node-lost").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(1), ExitReason: structs.ExitExited, EndTime: end},
			wantStatus: structs.JobFailed, wantCode: exit(1), wantExit: structs.ExitExited},
		{name: "cancel ends as cancelled", job: newJob("a").Retry(3, "failed").Build(),
			before: func(f *fixture, id string) {
				if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
					f.t.Fatal(err)
				}
			},
			report:     structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(-1), ExitReason: "signal:SIGTERM", EndTime: end},
			wantStatus: structs.JobCancelled, wantCode: exit(-1), wantExit: structs.ExitCancelled, wantReason: "cancelled by user"},
		{name: "preemption requeues by default", job: newJob("a").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(-1), ExitReason: structs.ExitPreempted, EndTime: end},
			wantStatus: structs.JobPending, wantReason: "requeued after preempted"},
		{name: "preemption without retry on preempted fails", job: newJob("a").Retry(2, "failed").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(-1), ExitReason: structs.ExitPreempted, EndTime: end},
			wantStatus: structs.JobFailed, wantCode: exit(-1), wantExit: structs.ExitPreempted},
		{name: "reported lost without retry is lost", job: newJob("a").Build(),
			report:     structs.ClientStatusFields{Status: structs.AllocLost, ExitReason: structs.ExitNodeLost, EndTime: end},
			wantStatus: structs.JobLost, wantExit: structs.ExitNodeLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			id, allocID := f.start(tt.job, "n1")
			if tt.before != nil {
				tt.before(f, id)
			}
			if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: t0}); err != nil {
				t.Fatal(err)
			}
			if err := f.report(allocID, tt.report); err != nil {
				t.Fatal(err)
			}
			j := f.job(id)
			if j.Status != tt.wantStatus || !cmp.Equal(j.ExitCode, tt.wantCode) || j.ExitReason != tt.wantExit || j.Reason != tt.wantReason {
				t.Errorf("job: status %s code %v exit %q reason %q; want %s %v %q %q",
					j.Status, ptrStr(j.ExitCode), j.ExitReason, j.Reason, tt.wantStatus, ptrStr(tt.wantCode), tt.wantExit, tt.wantReason)
			}
			if tt.wantStatus.Terminal() && !j.EndTime.Equal(end) {
				t.Errorf("end time %v, want %v", j.EndTime, end)
			}
			if tt.wantStatus == structs.JobPending && (j.NodeID != "" || j.AllocID != "" || len(j.GPUs) != 0 || j.Attempt != 1 || !j.StartTime.IsZero()) {
				t.Errorf("requeued job keeps placement: %+v", j)
			}
			if tt.report.Metrics != nil && !cmp.Equal(j.Metrics, tt.report.Metrics) {
				t.Errorf("metrics %v, want %v", j.Metrics, tt.report.Metrics)
			}
			if j.OutputDigest != tt.report.OutputDigest || j.OutputSize != tt.report.OutputSize {
				t.Errorf("output %q %d, want %q %d", j.OutputDigest, j.OutputSize, tt.report.OutputDigest, tt.report.OutputSize)
			}
			if a := f.allocByID(allocID); a.ClientStatus.Status != tt.report.Status {
				t.Errorf("alloc status %s, want %s", a.ClientStatus.Status, tt.report.Status)
			}
		})
	}
}

func ptrStr(p *int) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestRetryAttemptsRunOut(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id := f.register(newJob("flaky").Retry(1, "failed").Build())[0]
	fail := structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(1), ExitReason: structs.ExitExited}
	for attempt, want := range []structs.JobStatus{structs.JobPending, structs.JobFailed} {
		a := f.alloc(id, "n1")
		if a.Attempt != attempt+1 || len(f.plan(a)) != 1 {
			t.Fatalf("attempt %d not placed", attempt+1)
		}
		if err := f.report(a.ID, fail); err != nil {
			t.Fatal(err)
		}
		if got := f.job(id).Status; got != want {
			t.Fatalf("after attempt %d: %s, want %s", attempt+1, got, want)
		}
	}
	allocs, _ := f.s.Snapshot().AllocsByJob(nil, id)
	if len(allocs) != 2 || allocs[0].ID != id+".1" || allocs[1].ID != id+".2" {
		t.Errorf("allocs by job: %v", allocs)
	}
}

func TestUpdateAllocsMetricsWhileRunning(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id, allocID := f.start(newJob("a").Build(), "n1")
	for _, m := range []map[string]float64{{"step": 10, "loss": 0.5}, {"step": 20, "acc": 0.7}} {
		if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: m}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]float64{"step": 20, "loss": 0.5, "acc": 0.7}
	if diff := cmp.Diff(want, f.job(id).Metrics); diff != "" {
		t.Errorf("job metrics (-want +got):\n%s", diff)
	}
	// The same metrics again leave the job untouched.
	before := f.job(id).ModifyIndex
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"acc": 0.7}}); err != nil {
		t.Fatal(err)
	}
	if got := f.job(id).ModifyIndex; got != before {
		t.Errorf("job modify index %d -> %d for unchanged metrics", before, got)
	}
}

// A metric that stops being finite leaves the job's metrics, whose last
// finite value would read as a healthy run, for its non-finite ones, which
// keep where it diverged; a finite value takes it back. A report without
// NonFinite (an older client, an entry of format 6) leaves the merge as it
// was: the last finite value stays.
func TestUpdateAllocsNonFiniteMetrics(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id, allocID := f.start(newJob("a").Build(), "n1")
	step2 := 2.0
	nan := map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 2, Step: &step2}}
	inf := map[string]structs.NonFiniteMetric{"loss": {Value: "Infinity", First: "NaN", Line: 2, Step: &step2}}
	for i, tc := range []struct {
		report       structs.ClientStatusFields
		wantMetrics  map[string]float64
		wantNonFinte map[string]structs.NonFiniteMetric
	}{
		{structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"step": 1, "loss": 0.5}},
			map[string]float64{"step": 1, "loss": 0.5}, nil},
		{structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"step": 2}, NonFinite: nan},
			map[string]float64{"step": 2}, nan},
		{structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"step": 3}, NonFinite: inf},
			map[string]float64{"step": 3}, inf},
		{structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"step": 4, "loss": 0.9}},
			map[string]float64{"step": 4, "loss": 0.9}, nil},
		{structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), Metrics: map[string]float64{"step": 5}, NonFinite: nan},
			map[string]float64{"step": 5}, nan},
	} {
		if err := f.report(allocID, tc.report); err != nil {
			t.Fatal(err)
		}
		j := f.job(id)
		if d := cmp.Diff(tc.wantMetrics, j.Metrics); d != "" {
			t.Errorf("report %d: metrics (-want +got):\n%s", i+1, d)
		}
		if d := cmp.Diff(tc.wantNonFinte, j.NonFiniteMetrics); d != "" {
			t.Errorf("report %d: non-finite metrics (-want +got):\n%s", i+1, d)
		}
	}
}

// A client that counts (format 7) gives the job its count of lines that
// were not JSON, so the servers need not read the history for it; the
// same count again leaves the job untouched.
func TestUpdateAllocsMetricsCounted(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id, allocID := f.start(newJob("a").Build(), "n1")
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"step": 1}}); err != nil {
		t.Fatal(err)
	}
	if j := f.job(id); j.MetricsCounted {
		t.Fatalf("a report that counts nothing marked the job counted")
	}
	// Only a line that was not JSON: no metric, but the count.
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning, MetricsSkipped: 1, MetricsCounted: true}); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if !j.MetricsCounted || j.MetricsSkippedLines != 1 || j.Metrics["step"] != 1 {
		t.Fatalf("counted %v, skipped %d, metrics %v", j.MetricsCounted, j.MetricsSkippedLines, j.Metrics)
	}
	before := j.ModifyIndex
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"step": 1}, MetricsSkipped: 1, MetricsCounted: true}); err != nil {
		t.Fatal(err)
	}
	if got := f.job(id).ModifyIndex; got != before {
		t.Errorf("job modify index %d -> %d for the same metrics and count", before, got)
	}
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), MetricsSkipped: 3, MetricsCounted: true}); err != nil {
		t.Fatal(err)
	}
	if j := f.job(id); j.MetricsSkippedLines != 3 || j.Status != structs.JobComplete {
		t.Errorf("after the end: skipped %d, status %s; want 3, complete", j.MetricsSkippedLines, j.Status)
	}
}

func TestUpdateAllocsRefusals(t *testing.T) {
	tests := []struct {
		name    string
		nodeID  string
		ids     []string
		status  structs.AllocStatus
		wantErr error
	}{
		{name: "unknown alloc applies none", ids: []string{"1.1", "9.1"}, status: structs.AllocRunning, wantErr: structs.ErrNotFound},
		{name: "alloc of another node", nodeID: "n2", ids: []string{"1.1"}, status: structs.AllocRunning, wantErr: structs.ErrNotFound},
		{name: "garbage id", ids: []string{"zz"}, status: structs.AllocRunning, wantErr: structs.ErrNotFound},
		{name: "unknown status", ids: []string{"1.1"}, status: "exploded", wantErr: structs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			_, allocID := f.start(newJob("a").Build(), "n1")
			before := f.s.LatestIndex()
			req := &structs.AllocUpdateRequest{NodeID: tt.nodeID, Now: t0}
			for _, id := range tt.ids {
				req.Updates = append(req.Updates, &structs.AllocUpdate{AllocID: id, Client: structs.ClientStatusFields{Status: tt.status}})
			}
			err := f.s.UpdateAllocs(f.next(), req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if a := f.allocByID(allocID); a.ClientStatus.Status != structs.AllocPending || f.s.LatestIndex() != before {
				t.Errorf("refused request changed state: alloc %s, index %d -> %d", a.ClientStatus.Status, before, f.s.LatestIndex())
			}
		})
	}
}

func TestLateReportIgnored(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	id, allocID := f.start(newJob("a").Build(), "n1")
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0)}); err != nil {
		t.Fatal(err)
	}
	before := f.job(id)
	if err := f.report(allocID, structs.ClientStatusFields{Status: structs.AllocRunning}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, f.job(id)); diff != "" {
		t.Errorf("late report changed the job:\n%s", diff)
	}
	if got := f.allocByID(allocID).ClientStatus.Status; got != structs.AllocComplete {
		t.Errorf("alloc went back to %s", got)
	}
}

func TestGangEnds(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	f.node(testNode("n2", 4))
	start := func() (string, []string) {
		id := f.register(newJob("g").GPUs(1).Nodes(2).Build())[0]
		a, b := f.alloc(id, "n1", 0), f.alloc(id, "n2", 0)
		a.ID, b.ID = id+".1.0", id+".1.1"
		if got := f.plan(a, b); len(got) != 2 {
			t.Fatalf("gang not placed: %v", got)
		}
		return id, []string{a.ID, b.ID}
	}
	done := structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0)}

	t.Run("completes when every member has", func(t *testing.T) {
		id, allocs := start()
		if err := f.report(allocs[0], done); err != nil {
			t.Fatal(err)
		}
		if got := f.job(id).Status; got != structs.JobRunning {
			t.Fatalf("after one member: %s, want running", got)
		}
		if err := f.report(allocs[1], done); err != nil {
			t.Fatal(err)
		}
		if got := f.job(id).Status; got != structs.JobComplete {
			t.Fatalf("after both: %s, want complete", got)
		}
	})
	t.Run("one failure stops the rest", func(t *testing.T) {
		id, allocs := start()
		if err := f.report(allocs[1], structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(2), ExitReason: structs.ExitExited}); err != nil {
			t.Fatal(err)
		}
		if got := f.job(id).Status; got != structs.JobFailed {
			t.Errorf("job %s, want failed", got)
		}
		if a := f.allocByID(allocs[0]); a.DesiredStatus != structs.DesiredStop {
			t.Errorf("surviving member desired %s, want stop", a.DesiredStatus)
		}
	})
}

func TestNodeStatus(t *testing.T) {
	tests := []struct {
		name       string
		job        *structs.Job
		wantStatus structs.JobStatus
		wantReason string
	}{
		{name: "no retry: lost", job: newJob("a").GPUs(1).Build(), wantStatus: structs.JobLost, wantReason: ""},
		{name: "retry on node-lost: requeued", job: newJob("a").GPUs(1).Retry(1, "node-lost").Build(), wantStatus: structs.JobPending, wantReason: "requeued after node-lost"},
		{name: "retry without node-lost: lost", job: newJob("a").GPUs(1).Retry(1, "failed").Build(), wantStatus: structs.JobLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.node(testNode("n1", 4))
			id, allocID := f.start(tt.job, "n1", 0)
			down := t0.Add(2 * time.Hour)
			if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeDown, Now: down}); err != nil {
				t.Fatal(err)
			}
			a := f.allocByID(allocID)
			if a.ClientStatus.Status != structs.AllocLost || a.ClientStatus.ExitReason != structs.ExitNodeLost || !a.ClientStatus.EndTime.Equal(down) {
				t.Errorf("alloc client status %+v", a.ClientStatus)
			}
			j := f.job(id)
			if j.Status != tt.wantStatus || (tt.wantReason != "" && j.Reason != tt.wantReason) {
				t.Errorf("job %s %q, want %s %q", j.Status, j.Reason, tt.wantStatus, tt.wantReason)
			}
			switch tt.wantStatus {
			case structs.JobPending:
				if j.NodeID != "" || j.AllocID != "" || len(j.GPUs) != 0 {
					t.Errorf("requeued job keeps its placement: %+v", j)
				}
			case structs.JobLost:
				if j.ExitReason != structs.ExitNodeLost || !j.EndTime.Equal(down) {
					t.Errorf("lost job exit %q end %v", j.ExitReason, j.EndTime)
				}
			}
			n, _ := f.s.Snapshot().NodeByID(nil, "n1")
			if n.Status != structs.NodeDown || !n.StatusTime.Equal(down) {
				t.Errorf("node %s at %v", n.Status, n.StatusTime)
			}

			// Back up: only the status changes.
			if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeReady, Now: down.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if n, _ := f.s.Snapshot().NodeByID(nil, "n1"); n.Status != structs.NodeReady {
				t.Errorf("node %s after coming back", n.Status)
			}
			if got := f.job(id).Status; got != tt.wantStatus {
				t.Errorf("job became %s when the node came back", got)
			}
		})
	}
}

func TestNodeStatusRefusals(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "nx", Status: structs.NodeDown}); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("unknown node: %v", err)
	}
	if err := f.s.UpdateNodeStatus(f.next(), &structs.NodeStatusRequest{NodeID: "n1", Status: "sleepy"}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("unknown status: %v", err)
	}
}

func TestUpsertNode(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 2))
	first, _ := f.s.Snapshot().NodeByID(nil, "n1")
	if !first.Eligible || first.Status != structs.NodeReady || first.CreateIndex != 1 || !first.RegisterTime.Equal(t0) {
		t.Fatalf("first registration: %+v", first)
	}
	f.setNode("n1", func(n *structs.Node) { n.Eligible = false })

	refreshed := testNode("n1", 4)
	refreshed.GPUs[0].AllocID = "should-not-be-stored"
	if err := f.s.UpsertNode(f.next(), &structs.NodeRegisterRequest{Node: refreshed, Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, _ := f.s.Snapshot().NodeByName(nil, "host-n1")
	if n == nil || len(n.GPUs) != 4 || n.Eligible || n.CreateIndex != 1 || n.ModifyIndex != f.index || !n.RegisterTime.Equal(t0) || n.GPUs[0].AllocID != "" {
		t.Errorf("re-registration: %+v", n)
	}

	tests := []struct {
		name string
		node *structs.Node
		want error
	}{
		{name: "name taken by another node", node: &structs.Node{ID: "n2", Name: "host-n1"}, want: structs.ErrConflict},
		{name: "missing id", node: &structs.Node{Name: "x"}, want: structs.ErrInvalid},
		{name: "duplicate GPU index", node: &structs.Node{ID: "n3", Name: "x", GPUs: []structs.GPU{{Index: 0}, {Index: 0}}}, want: structs.ErrInvalid},
		{name: "no node", node: nil, want: structs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.s.LatestIndex()
			err := f.s.UpsertNode(f.next(), &structs.NodeRegisterRequest{Node: tt.node, Now: t0})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if f.s.LatestIndex() != before {
				t.Error("refused registration changed the index")
			}
		})
	}
}

// A job's allocations are the block of the id index under its key: those
// of the jobs around it (2, 16, 17, 256, whose keys share all but a
// nibble or two with job 1's) are not among them, and its attempts come
// in numeric order (2 before 10). Ids that no job can have list nothing.
func TestAllocsByJobIsItsBlockOfIDs(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 64))
	jobs := make([]*structs.Job, 300)
	for i := range jobs {
		jobs[i] = newJob("j").Build()
	}
	ids := f.register(jobs...)
	byID := map[string]bool{}
	for _, id := range ids {
		byID[id] = true
	}
	for _, id := range []string{"1", "2", "16", "17", "256"} {
		if !byID[id] {
			t.Fatalf("job %s not registered (ids %s..%s)", id, ids[0], ids[len(ids)-1])
		}
		if got := f.plan(f.alloc(id, "n1")); len(got) != 1 {
			t.Fatalf("job %s not placed", id)
		}
	}
	// Job 1's attempts 2..10 as a store restored from them would hold.
	err := f.s.write(func(txn *memdb.Txn) error {
		for attempt := 2; attempt <= 10; attempt++ {
			a := &structs.Allocation{ID: fmt.Sprintf("1.%d", attempt), JobID: "1", NodeID: "n1", Attempt: attempt,
				ClientStatus: structs.ClientStatusFields{Status: structs.AllocFailed}}
			if err := txn.Insert(tableAllocs, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	allocs, err := f.s.Snapshot().AllocsByJob(nil, "1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range allocs {
		got = append(got, a.ID)
	}
	if want := "[1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8 1.9 1.10]"; fmt.Sprint(got) != want {
		t.Errorf("allocations of job 1: %v, want %s", got, want)
	}
	for _, id := range []string{"", "x", "1.1", "01"} {
		if allocs, err := f.s.Snapshot().AllocsByJob(nil, id); err != nil || len(allocs) != 0 {
			t.Errorf("allocations of job %q: %v, %v; want none", id, allocs, err)
		}
	}
}
