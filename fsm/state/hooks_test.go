package state

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// A failed prolog ends the allocation, puts the job back in the queue
// whatever its retry policy, and drains the node with the prolog's
// message; another job running there runs on. Making the node eligible
// again clears the reason, and the node's next registration keeps it.
func TestPrologFailureDrainsNodeAndRequeues(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	busy, _ := f.start(newJob("busy").GPUs(1).Build(), "n1", 0)
	id, alloc := f.start(newJob("train").GPUs(1).Retry(0).Build(), "n1", 1)
	hook := &structs.HookReport{Hook: structs.HookProlog, Path: "/etc/nai/prolog", ExitCode: exit(1),
		Message: "exit status 1: GPU 1 is missing", Output: "GPU 1 is missing\n", Duration: structs.Duration(time.Second), Time: t0}
	if err := f.report(alloc, structs.ClientStatusFields{Status: structs.AllocFailed, ExitReason: structs.ExitPrologFailed,
		Message: "prolog failed: exit status 1: GPU 1 is missing", Hook: hook}); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if j.Status != structs.JobPending || j.Reason != "requeued after prolog-failed" || j.Attempt != 1 {
		t.Errorf("job after the prolog failed: %s (%s), attempt %d; want pending, requeued", j.Status, j.Reason, j.Attempt)
	}
	n, _ := f.s.Snapshot().NodeByID(nil, "n1")
	if !n.Drain || n.Eligible || !n.DrainDeadline.IsZero() || n.DrainReason != "prolog failed: exit status 1: GPU 1 is missing" {
		t.Errorf("node: drain %t eligible %t deadline %v reason %q", n.Drain, n.Eligible, n.DrainDeadline, n.DrainReason)
	}
	wantHook := hook.Copy()
	wantHook.AllocID, wantHook.JobID = alloc, id
	if d := cmp.Diff(wantHook, n.HookFailure); d != "" {
		t.Errorf("hook failure on the node (-want +got):\n%s", d)
	}
	if b := f.job(busy); b.Status != structs.JobRunning {
		t.Errorf("the other job on the node is %s, want running (a drain without deadline)", b.Status)
	}

	// The client registers again (an agent restart): the reason stays.
	f.node(testNode("n1", 4))
	if n, _ := f.s.Snapshot().NodeByID(nil, "n1"); n.DrainReason == "" || n.HookFailure == nil || n.Eligible {
		t.Errorf("after re-registration: eligible %t reason %q", n.Eligible, n.DrainReason)
	}
	if err := f.s.DrainNode(f.next(), &structs.NodeDrainRequest{NodeID: "n1", Drain: false, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.s.Snapshot().NodeByID(nil, "n1"); !n.Eligible || n.DrainReason != "" || n.HookFailure == nil {
		t.Errorf("after the drain is cancelled: eligible %t reason %q hook %v; want eligible, no reason, the report kept", n.Eligible, n.DrainReason, n.HookFailure)
	}
}

// A failed epilog drains the node and leaves the job's end as it was.
func TestEpilogFailureDrainsNode(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 1))
	id, alloc := f.start(newJob("train").Build(), "n1")
	_, alloc2 := f.start(newJob("other").Build(), "n1")
	hook := &structs.HookReport{Hook: structs.HookEpilog, TimedOut: true, Message: "timed out after 1s", Duration: structs.Duration(time.Second)}
	if err := f.report(alloc, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), ExitReason: structs.ExitExited, Hook: hook}); err != nil {
		t.Fatal(err)
	}
	if j := f.job(id); j.Status != structs.JobComplete {
		t.Errorf("job %s, want complete", j.Status)
	}
	n, _ := f.s.Snapshot().NodeByID(nil, "n1")
	if n.Eligible || n.DrainReason != "epilog failed: timed out after 1s" {
		t.Errorf("node: eligible %t reason %q", n.Eligible, n.DrainReason)
	}
	// A report with a malformed hook is refused whole.
	err := f.report(alloc2, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), Hook: &structs.HookReport{Hook: "postlog", Message: "x"}})
	if structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("report with hook postlog: %v, want invalid", err)
	}
}
