package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func dur(d time.Duration) *structs.Duration { v := structs.Duration(d); return &v }

// A drain through the API on one server: a running job keeps running and a
// new job waits saying the node drains; at the deadline the leader asks the
// running allocation to stop; once the client reports it, the drain
// completes, the node stays ineligible, and -enable lets the jobs run.
func TestNodeDrainThroughAPI(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 2), ""); err != nil {
		t.Fatal(err)
	}
	first, err := c.Register(ctx, gpuJob("first", 1))
	if err != nil {
		t.Fatal(err)
	}
	var allocID string
	waitUntil(t, "the first job runs", func() bool {
		j, _, err := c.Job(ctx, first.JobIDs[0])
		allocID = j.AllocID
		return err == nil && j.Status == structs.JobRunning
	})

	n, err := c.DrainNode(ctx, "node-n1", &structs.NodeDrainSpec{Enable: true, Deadline: dur(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Drain || n.Eligible || time.Until(n.DrainDeadline) < 59*time.Minute {
		t.Fatalf("drained node: drain %t eligible %t deadline %v", n.Drain, n.Eligible, n.DrainDeadline)
	}
	second, err := c.Register(ctx, gpuJob("second", 1))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new job waits because the node drains", func() bool {
		j, _, err := c.Job(ctx, second.JobIDs[0])
		return err == nil && j.Status == structs.JobPending && strings.Contains(j.Reason, "draining")
	})
	if j, _, _ := c.Job(ctx, first.JobIDs[0]); j.Status != structs.JobRunning {
		t.Fatalf("the running job is %s before the deadline", j.Status)
	}

	// A new deadline of zero: the running allocation is asked to stop now.
	if _, err := c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Enable: true, Deadline: dur(0)}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the leader stops the running allocation", func() bool {
		allocs, _, err := c.NodeAllocations(ctx, "n1", 0, 0)
		return err == nil && len(allocs) == 1 && allocs[0].DesiredStatus == structs.DesiredStop && allocs[0].DesiredReason == structs.ExitNodeDrained
	})
	err = c.UpdateAllocs(ctx, "n1", []*structs.AllocUpdate{{AllocID: allocID, Client: structs.ClientStatusFields{
		Status: structs.AllocFailed, ExitReason: structs.ExitNodeDrained, EndTime: time.Now()}}})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the drain completes with the node left ineligible", func() bool {
		n, err := c.Node(ctx, "n1")
		return err == nil && !n.Drain && !n.Eligible
	})
	if j, _, _ := c.Job(ctx, first.JobIDs[0]); j.Status != structs.JobPending || j.Reason == "" {
		t.Errorf("the stopped job is %s %q, want pending (requeued)", j.Status, j.Reason)
	}

	n, err = c.SetNodeEligibility(ctx, "n1", true)
	if err != nil || !n.Eligible {
		t.Fatalf("eligibility -enable: %+v, %v", n, err)
	}
	waitUntil(t, "both jobs run again", func() bool {
		for _, id := range []string{first.JobIDs[0], second.JobIDs[0]} {
			if j, _, err := c.Job(ctx, id); err != nil || j.Status != structs.JobRunning {
				return false
			}
		}
		return true
	})
}

func TestNodeDrainAPIRefusals(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 2), ""); err != nil {
		t.Fatal(err)
	}
	// A running job keeps the drain under way (an empty node's completes at once).
	r, err := c.Register(ctx, gpuJob("busy", 1))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the job runs", func() bool {
		j, _, err := c.Job(ctx, r.JobIDs[0])
		return err == nil && j.Status == structs.JobRunning
	})
	if _, err := c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Enable: true, NoDeadline: true}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"unknown node", func() error {
			_, err := c.DrainNode(ctx, "nope", &structs.NodeDrainSpec{Enable: true})
			return err
		}, structs.ErrNotFound},
		{"negative deadline", func() error {
			_, err := c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Enable: true, Deadline: dur(-time.Second)})
			return err
		}, structs.ErrInvalid},
		{"deadline and no deadline", func() error {
			_, err := c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Enable: true, Deadline: dur(time.Second), NoDeadline: true})
			return err
		}, structs.ErrInvalid},
		{"deadline on cancel", func() error {
			_, err := c.DrainNode(ctx, "n1", &structs.NodeDrainSpec{Deadline: dur(time.Second)})
			return err
		}, structs.ErrInvalid},
		{"eligible while draining", func() error {
			_, err := c.SetNodeEligibility(ctx, "n1", true)
			return err
		}, structs.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	n, err := c.Node(ctx, "n1")
	if err != nil || !n.Drain || !n.DrainDeadline.IsZero() {
		t.Errorf("refused requests changed the drain: %+v, %v", n, err)
	}
}

// A new leader whose barrier fails keeps trying until it succeeds, and
// gives up only when leadership ends.
func TestLeaderBarrierRetries(t *testing.T) {
	old := barrierBackoff
	barrierBackoff = [2]time.Duration{time.Millisecond, 4 * time.Millisecond}
	t.Cleanup(func() { barrierBackoff = old })
	s, _ := testServer(t, t.TempDir())

	calls := 0
	failTwice := func() error {
		calls++
		if calls <= 2 {
			return errors.New("timed out enqueuing operation")
		}
		return nil
	}
	if !s.leaderBarrier(make(chan struct{}), failTwice) || calls != 3 {
		t.Errorf("barrier failing twice: %d calls; want success on the third", calls)
	}

	stop := make(chan struct{})
	done := make(chan bool)
	calls = 0
	go func() {
		done <- s.leaderBarrier(stop, func() error { calls++; return errors.New("always failing") })
	}()
	time.Sleep(20 * time.Millisecond) // let it fail a few times
	close(stop)
	select {
	case ok := <-done:
		if ok {
			t.Error("barrier reported success after leadership ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("barrier kept retrying after leadership ended")
	}
	if calls < 2 {
		t.Errorf("%d barrier attempts before leadership ended, want retries", calls)
	}
}
