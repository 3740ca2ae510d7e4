package server

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

// nai_nodes counts each node under one status, every status shown even at
// 0; nai_gpus counts the idle GPUs of a node that takes no new work as
// unavailable, not free: a dashboard's free capacity is what a job could
// get.
func TestNodeAndGPUMetrics(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	for _, id := range []string{"ready", "down", "unreachable", "draining", "ineligible"} {
		if err := c.RegisterNode(ctx, testNode(id, 2), ""); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	if _, _, err := s.apply(fsm.NodeStatus, &structs.NodeStatusRequest{NodeID: "down", Status: structs.NodeDown, Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.apply(fsm.NodeStatus, &structs.NodeStatusRequest{NodeID: "unreachable", Status: structs.NodeReady, Unreachable: true, Now: now}); err != nil {
		t.Fatal(err)
	}
	// A drain of a node that runs nothing ends at once: it leaves the
	// node ineligible, not ready.
	if _, err := c.DrainNode(ctx, "draining", &structs.NodeDrainSpec{Enable: true, NoDeadline: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetNodeEligibility(ctx, "ineligible", false); err != nil {
		t.Fatal(err)
	}
	// The leader completes the drain after the request returns (a
	// make test run read the node still draining).
	waitUntil(t, "the empty node's drain completes", func() bool {
		n, err := c.Node(ctx, "draining")
		return err == nil && !n.Drain && !n.Eligible
	})
	var buf bytes.Buffer
	if err := s.metrics.reg.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{
		`nai_nodes{status="ready"} 1`, `nai_nodes{status="down"} 1`, `nai_nodes{status="unreachable"} 1`,
		`nai_nodes{status="draining"} 0`, `nai_nodes{status="ineligible"} 2`,
		`nai_gpus{node="node-ready",state="free"} 2`, `nai_gpus{node="node-ready",state="unavailable"} 0`,
		`nai_gpus{node="node-down",state="free"} 0`, `nai_gpus{node="node-down",state="unavailable"} 2`,
		`nai_gpus{node="node-unreachable",state="unavailable"} 2`, `nai_gpus{node="node-draining",state="unavailable"} 2`,
		`nai_gpus{node="node-ineligible",state="unavailable"} 2`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("the exposition has no %s", want)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
}

func TestNodeMetricStatus(t *testing.T) {
	cases := []struct {
		name string
		set  func(n *structs.Node)
		want string
	}{
		{"ready", func(n *structs.Node) {}, "ready"},
		{"down, drained too", func(n *structs.Node) { n.Status, n.Drain = structs.NodeDown, true }, "down"},
		{"unreachable and draining", func(n *structs.Node) { n.UnreachableSince, n.Drain = time.Now(), true }, "unreachable"},
		{"draining", func(n *structs.Node) { n.Drain, n.Eligible = true, false }, "draining"},
		{"a finished drain leaves it ineligible", func(n *structs.Node) { n.Eligible = false }, "ineligible"},
	}
	for _, tc := range cases {
		n := testNode("n", 1)
		tc.set(n)
		if got := nodeMetricStatus(n); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// nai_job_outcomes_total is a counter: it counts the endings this server
// applied, and a job GC, which removes finished jobs from state, takes
// nothing from it. nai_jobs_finished is what state holds.
func TestJobOutcomesCounter(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	resp, err := c.Register(ctx, builders.Job("a").GPUs(0).Build())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ctx, resp.JobIDs[0]); err != nil {
		t.Fatal(err)
	}
	expo := func() string {
		var buf bytes.Buffer
		if err := s.metrics.reg.WriteText(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	text := expo()
	for _, want := range []string{`nai_job_outcomes_total{reason="cancelled"} 1`, `nai_jobs_finished{reason="cancelled"} 1`, "# TYPE nai_job_outcomes_total counter", "# TYPE nai_jobs_finished gauge"} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("after a cancel the exposition has no %s:\n%s", want, text)
		}
	}
	now := time.Now().UTC().Add(time.Hour)
	if _, _, err := s.apply(fsm.JobGC, &structs.JobGCRequest{Before: now, Max: 10, Now: now}); err != nil {
		t.Fatal(err)
	}
	text = expo()
	for _, want := range []string{`nai_job_outcomes_total{reason="cancelled"} 1`, `nai_jobs_finished{reason="cancelled"} 0`} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("after a job GC the exposition has no %s:\n%s", want, text)
		}
	}
}
