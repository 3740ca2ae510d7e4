package server

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

// unfitCluster is a test server with node-n1 (4 x H100 80GB, 16 cores,
// 64 GiB) and node-n2 (8 x A100 40GB, 64 cores, 512 GiB), and queue "xq"
// over nodes that never registered.
func unfitCluster(t *testing.T) *api.Client {
	t.Helper()
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	for _, n := range []*structs.Node{
		testNode("n1", 4),
		builders.Node("n2").Name("node-n2").GPUs(8).Model("NVIDIA A100-SXM4-40GB").GPUMemory(40 << 30).CPU(64).Memory(512 << 30).HTTPAddr("http://127.0.0.1:1").Build(),
	} {
		if err := c.RegisterNode(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ApplyQueue(ctx, &structs.Queue{Name: "xq", Nodes: []string{"gpu-x1", "gpu-x2"}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// A submission that no registered node could ever run is accepted and
// warned of, saying what it asks and what the largest node has; one that
// fits some node is not.
func TestSubmitWarnsOfJobsNoNodeFits(t *testing.T) {
	c := unfitCluster(t)
	ctx := context.Background()
	const tail = ": it waits until "
	job := func(name string) *builders.JobBuilder { return builders.Job(name).Command("/bin/true") }
	for _, tc := range []struct {
		name string
		job  *structs.Job
		want []string // parts of the one warning; none: no warning
	}{
		{"fits node-n1", job("ok").GPUs(4).Model("h100").CPU(16).Memory(64 << 30).Build(), nil},
		{"fits node-n2", job("big").GPUs(8).CPU(64).Memory(500 << 30).Build(), nil},
		{"a gang that fits", job("gang2").GPUs(4).Nodes(2).Build(), nil},
		{"too many GPUs", gpuJob("huge", 16), []string{"asks for 16 GPUs per node, but the largest node has 8", tail + "a node with 16 GPUs joins (nai node status lists the nodes)"}},
		{"a GPU model no node has", job("b200").Model("b200").Build(),
			[]string{`asks for b200 GPUs, but no node has one (the nodes have "NVIDIA A100-SXM4-40GB" (1 node), "NVIDIA H100 80GB HBM3" (1 node))`, tail + "a node with b200 GPUs joins"}},
		{"more GPUs of the model than a node has", job("h6").GPUs(6).Model("h100").Build(),
			[]string{"asks for 6 h100 GPUs per node, but the most any node has is 4", tail + "a node with 6 of them joins"}},
		{"more GPU memory than any GPU of the model", job("gm").Model("a100").GPUMemory(60 << 30).Build(),
			[]string{"asks for 1 a100 GPU with at least 60GiB of memory each per node, but no node has one (the largest such GPU has 40GiB)"}},
		{"more memory than any node", job("mem").GPUs(0).Memory(600 << 30).Build(),
			[]string{"asks for 600GiB of memory per node, but the largest node has 512GiB", tail + "a node that large joins"}},
		{"more cores than any node", job("cpu").GPUs(0).CPU(96).Build(),
			[]string{"asks for 96 CPU cores per node, but the largest node has 64"}},
		{"no node has all of it", job("all").GPUs(4).Model("h100").Memory(500 << 30).Build(),
			[]string{"asks for 4 h100 GPUs, 1 CPU core and 500GiB of memory on one node: some node has each, but none has them all"}},
		{"more nodes than could hold a rank", job("gang").GPUs(8).Nodes(2).Build(),
			[]string{"asks for 2 nodes, but only 1 node could hold one of its ranks (8 GPUs, 1 CPU core and 1GiB of memory each)", tail + "1 more such node joins"}},
		{"a queue none of whose nodes registered", job("xq").Queue("xq").Build(),
			[]string{"is in queue xq, whose nodes (gpu-x1, gpu-x2) are none of the registered nodes", tail + "one of them joins"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Register(ctx, tc.job)
			if err != nil {
				t.Fatalf("register: %v (a job no node fits is accepted)", err)
			}
			if len(tc.want) == 0 {
				if len(r.Warnings) > 0 {
					t.Errorf("warnings %q, want none", r.Warnings)
				}
				return
			}
			if len(r.Warnings) != 1 {
				t.Fatalf("warnings %q, want one", r.Warnings)
			}
			w := r.Warnings[0]
			if !strings.HasPrefix(w, "job "+r.JobIDs[0]+" ") {
				t.Errorf("warning %q does not name job %s first", w, r.JobIDs[0])
			}
			for _, part := range tc.want {
				if !strings.Contains(w, part) {
					t.Errorf("warning %q\nlacks %q", w, part)
				}
			}
		})
	}
}

// A node that is draining (or down) may come back: a job only it could
// hold gets no warning. A cluster with no node gives none either.
func TestSubmitUnfitCountsEveryRegisteredNode(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	r, err := c.Register(ctx, gpuJob("early", 64))
	if err != nil || len(r.Warnings) > 0 {
		t.Fatalf("no node yet: %v warnings %q, want none", err, r.Warnings)
	}
	for _, n := range []*structs.Node{testNode("n1", 4), testNode("n2", 8)} {
		if err := c.RegisterNode(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SetNodeEligibility(ctx, "n2", false); err != nil {
		t.Fatal(err)
	}
	r, err = c.Register(ctx, gpuJob("eight", 8))
	if err != nil || len(r.Warnings) > 0 {
		t.Errorf("8 GPUs with an ineligible 8-GPU node: %v warnings %q, want none", err, r.Warnings)
	}
	r, err = c.Register(ctx, gpuJob("nine", 9))
	if err != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "but the largest node has 8") {
		t.Errorf("9 GPUs: %v warnings %q, want one naming the ineligible node's 8", err, r.Warnings)
	}
}

// A sweep whose members all ask what no node has gets one warning for the
// array, not one per member; members that differ get one per shape.
func TestSweepUnfitWarnsOnce(t *testing.T) {
	c := unfitCluster(t)
	ctx := context.Background()
	members := func(name string, n int, gpus func(i int) int) []*structs.Job {
		var jobs []*structs.Job
		for i := range n {
			j := gpuJob(name, gpus(i))
			j.SetSweepMember(i, n, 0, map[string]string{"lr": strconv.Itoa(i)})
			jobs = append(jobs, j)
		}
		return jobs
	}
	sixteen := func(int) int { return 16 }
	spec, err := structs.NewSweepSpec(members("sw", 50, sixteen))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.RegisterSweep(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	want := "every job of array " + r.ArrayID + " (50 jobs) asks for 16 GPUs per node, but the largest node has 8"
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], want) {
		t.Errorf("sweep spec: warnings %q, want one starting %q", r.Warnings, want)
	}

	// The same sweep written out as jobs.
	r, err = c.Register(ctx, members("list", 50, sixteen)...)
	if err != nil {
		t.Fatal(err)
	}
	want = "every job of array " + r.ArrayID + " (50 jobs) asks for 16 GPUs"
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], want) {
		t.Errorf("sweep as jobs: warnings %q, want one starting %q", r.Warnings, want)
	}

	// Members that change their resources: one warning per shape that
	// fits no node, naming its members.
	spec, err = structs.NewSweepSpec(members("mixed", 6, func(i int) int { return []int{1, 16, 32}[i%3] }))
	if err != nil {
		t.Fatal(err)
	}
	r, err = c.RegisterSweep(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	ids := r.JobIDs
	if len(r.Warnings) != 2 ||
		!strings.HasPrefix(r.Warnings[0], "jobs "+ids[1]+" and "+ids[4]+" ask for 16 GPUs per node") ||
		!strings.HasPrefix(r.Warnings[1], "jobs "+ids[2]+" and "+ids[5]+" ask for 32 GPUs per node") ||
		!strings.Contains(r.Warnings[0], ": they wait until a node with 16 GPUs joins") {
		t.Errorf("mixed sweep: warnings %q, want one for the 16-GPU members and one for the 32-GPU ones", r.Warnings)
	}
}

// An update (scontrol update) that leaves a job no node could run is made
// and warned of, as a submission is; one that fits gives no warning, and
// an invalid one is still refused, changing nothing.
func TestUpdateWarnsOfJobsNoNodeFits(t *testing.T) {
	c := unfitCluster(t)
	ctx := context.Background()
	// Held, so that it stays pending whatever the update asks.
	j := gpuJob("upd", 1)
	j.Hold = &structs.JobHold{}
	r, err := c.Register(ctx, j)
	if err != nil || len(r.Warnings) > 0 {
		t.Fatalf("register: %v warnings %q", err, r.Warnings)
	}
	id := r.JobIDs[0]
	target := []structs.CancelTarget{{ID: id}}
	intp := func(v int) *int { return &v }
	mem := int64(700 << 30)

	u, err := c.UpdateJobs(ctx, target, structs.JobUpdate{GPUs: intp(16)})
	if err != nil {
		t.Fatal(err)
	}
	want := "job " + id + " asks for 16 GPUs per node, but the largest node has 8: it waits until a node with 16 GPUs joins"
	if len(u.Warnings) != 1 || !strings.HasPrefix(u.Warnings[0], want) {
		t.Errorf("-gpus 16: warnings %q, want one starting %q", u.Warnings, want)
	}
	got, _, err := c.Job(ctx, id)
	if err != nil || got.Resources.GPU.Count != 16 {
		t.Fatalf("job as updated: %v %v, want 16 GPUs", got, err)
	}

	u, err = c.UpdateJobs(ctx, target, structs.JobUpdate{GPUs: intp(2), MemoryBytes: &mem})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Warnings) != 1 || !strings.Contains(u.Warnings[0], "asks for 700GiB of memory per node, but the largest node has 512GiB") {
		t.Errorf("-mem 700G: warnings %q, want one about memory alone", u.Warnings)
	}

	fits := int64(8 << 30)
	u, err = c.UpdateJobs(ctx, target, structs.JobUpdate{GPUs: intp(2), MemoryBytes: &fits})
	if err != nil || len(u.Warnings) > 0 {
		t.Errorf("an update that fits: %v warnings %q, want none", err, u.Warnings)
	}

	before, _, _ := c.Job(ctx, id)
	if _, err := c.UpdateJobs(ctx, target, structs.JobUpdate{GPUs: intp(-1)}); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("-gpus -1: %v, want invalid", err)
	}
	after, _, _ := c.Job(ctx, id)
	if after.ModifyIndex != before.ModifyIndex || after.Resources != before.Resources {
		t.Errorf("a refused update changed the job: %+v, was %+v", after.Resources, before.Resources)
	}
}

// Bad input is refused as before, with no warnings to go with it.
func TestUnfitSubmitStillRefusesBadInput(t *testing.T) {
	c := unfitCluster(t)
	ctx := context.Background()
	bad := gpuJob("neg", -1)
	if _, err := c.Register(ctx, bad); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("gpus -1: %v, want invalid", err)
	}
	if _, err := c.Register(ctx, builders.Job("nq").Queue("nope").Command("/bin/true").Build()); structs.CodeOf(err) != structs.CodeInvalid {
		t.Errorf("unknown queue: %v, want invalid", err)
	}
	jobs, err := c.Jobs(ctx, true)
	if err != nil || len(jobs) != 0 {
		t.Errorf("jobs after refusals: %d %v, want none", len(jobs), err)
	}
}

// nai serve warns as a submission does: of more GPUs than any node has
// (the warning the state machine gave before) and of service replicas on
// a cluster whose nodes offer no service port.
func TestServeWarnsOfServicesNoNodeFits(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 4), ""); err != nil { // no service_ports
		t.Fatal(err)
	}
	pushModel(t, c, "digits", []string{"python3", "serve.py"})
	resp, err := c.Serve(ctx, &structs.ServeRequest{Model: "digits", GPUs: 16})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobID
	want := []string{
		"job " + id + " asks for 16 GPUs per node, but the largest node has 4",
		"job " + id + " is a service, whose replicas each need a service port, but no node offers any (client { service_ports })",
	}
	if len(resp.Warnings) != len(want) {
		t.Fatalf("warnings %q, want %d", resp.Warnings, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(resp.Warnings[i], w) {
			t.Errorf("warning %q, want one starting %q", resp.Warnings[i], w)
		}
	}
}
