package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A client whose data dir is full refuses a job as a failed prolog does,
// which drains its node; once space is back it ends that drain itself
// (disk-recovered). It may not end any other drain.
func TestNodeDiskRecovered(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 2), ""); err != nil {
		t.Fatal(err)
	}
	// Nothing to end: not drained at all.
	if _, err := c.NodeDiskRecovered(ctx, "n1"); structs.CodeOf(err) != structs.CodeConflict {
		t.Fatalf("disk-recovered on an eligible node: %v, want 409", err)
	}

	job, err := c.Register(ctx, gpuJob("j", 1))
	if err != nil {
		t.Fatal(err)
	}
	var allocID string
	waitUntil(t, "the job is placed", func() bool {
		j, _, err := c.Job(ctx, job.JobIDs[0])
		allocID = j.AllocID
		return err == nil && j.Status == structs.JobRunning
	})
	diskFull := func(allocID string) {
		t.Helper()
		msg := structs.DiskFullPrefix + "data_dir /var/lib/nai/client has 0 bytes free (0B), below min_free_disk 1GiB"
		err := c.UpdateAllocs(ctx, "n1", []*structs.AllocUpdate{{AllocID: allocID, Client: structs.ClientStatusFields{
			Status: structs.AllocFailed, ExitReason: structs.ExitPrologFailed, Message: "prolog failed: " + msg, EndTime: time.Now(),
			Hook: &structs.HookReport{Hook: structs.HookProlog, Message: msg, AllocID: allocID},
		}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	diskFull(allocID)
	waitUntil(t, "the node drains with the disk's reason", func() bool {
		n, err := c.Node(ctx, "node-n1")
		return err == nil && !n.Eligible && n.HookFailure.DiskCheck()
	})
	n, err := c.NodeDiskRecovered(ctx, "n1")
	if err != nil || !n.Eligible || n.Drain || n.DrainReason != "" {
		t.Fatalf("disk-recovered: %+v, %v; want the node eligible again", n, err)
	}
	waitUntil(t, "the requeued job runs again", func() bool {
		j, _, err := c.Job(ctx, job.JobIDs[0])
		if err == nil && j.AllocID != allocID {
			allocID = j.AllocID
		}
		return err == nil && j.Status == structs.JobRunning && j.AllocID == allocID
	})

	// The disk drains it again; an operator who wants the node kept out
	// makes it eligible and drains it: a drain of theirs, which the client
	// may not end.
	diskFull(allocID)
	waitUntil(t, "the node drains again", func() bool {
		n, err := c.Node(ctx, "n1")
		return err == nil && !n.Eligible && n.DrainReason != ""
	})
	waitUntil(t, "the drain completes (nothing runs there)", func() bool {
		n, err := c.Node(ctx, "n1")
		return err == nil && !n.Drain
	})
	if _, err := c.SetNodeEligibility(ctx, "n1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Enable: true, NoDeadline: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NodeDiskRecovered(ctx, "n1"); structs.CodeOf(err) != structs.CodeConflict {
		t.Fatalf("disk-recovered over an operator's drain: %v, want 409", err)
	}
	if n, _ := c.Node(ctx, "n1"); n.Eligible {
		t.Error("the operator's drain was ended")
	}

	// An operator drains, or disables, a node the disk has already
	// drained, without making it eligible first (found by a smoke test:
	// the drain completes at once on an idle node, and the client's
	// recovery ended it): from format 8 the operator's write takes the
	// drain over.
	for _, take := range []struct {
		name  string
		apply func() error
	}{
		{"drain", func() error {
			_, err := c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Enable: true, NoDeadline: true})
			return err
		}},
		{"eligibility -disable", func() error { _, err := c.SetNodeEligibility(ctx, "n1", false); return err }},
	} {
		t.Run(take.name, func(t *testing.T) {
			// Back in service, idle: the earlier jobs cancelled and their
			// allocations gone, whatever drain was left.
			// The first job, requeued by the disk, would be placed again
			// beside the next one and keep the drain from completing.
			j, _, err := c.Job(ctx, job.JobIDs[0])
			switch {
			case err != nil:
				t.Fatal(err)
			case j.Status == structs.JobRunning:
				err := c.UpdateAllocs(ctx, "n1", []*structs.AllocUpdate{{AllocID: j.AllocID, Client: structs.ClientStatusFields{
					Status: structs.AllocComplete, ExitCode: new(int), ExitReason: structs.ExitExited, EndTime: time.Now(),
				}}})
				if err != nil {
					t.Fatal(err)
				}
			case !j.Status.Terminal():
				if err := c.Cancel(ctx, j.ID); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, "the node is idle and its drain over", func() bool {
				n, err := c.Node(ctx, "n1")
				if err != nil {
					return false
				}
				if n.Drain {
					_, _ = c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Enable: false})
					return false
				}
				for _, g := range n.GPUs {
					if g.AllocID != "" {
						return false
					}
				}
				return true
			})
			if _, err := c.SetNodeEligibility(ctx, "n1", true); err != nil {
				t.Fatal(err)
			}
			job, err := c.Register(ctx, gpuJob("k-"+strings.ReplaceAll(take.name, " ", "-"), 1))
			if err != nil {
				t.Fatal(err)
			}
			var alloc string
			waitUntil(t, "the job is placed", func() bool {
				j, _, err := c.Job(ctx, job.JobIDs[0])
				alloc = j.AllocID
				return err == nil && j.Status == structs.JobRunning
			})
			diskFull(alloc)
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				n, err := c.Node(ctx, "n1")
				if err == nil && !n.Eligible && !n.Drain && n.HookFailure.DiskCheck() && n.DrainReason != "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the disk did not drain the node, or the drain did not complete: %+v, %v", n, err)
				}
			}
			if err := take.apply(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.NodeDiskRecovered(ctx, "n1"); structs.CodeOf(err) != structs.CodeConflict {
				t.Fatalf("disk-recovered after an operator's %s: %v, want 409", take.name, err)
			}
			if n, _ := c.Node(ctx, "n1"); n.Eligible {
				t.Errorf("the operator's %s was ended by the client", take.name)
			}
			if err := c.Cancel(ctx, job.JobIDs[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
}
