package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const gib = int64(1) << 30

// newJob starts a job from the shared builders, without GPUs unless the
// test asks: newJob("train").GPUs(2).Retry(1, "failed").Build().
func newJob(name string) *builders.JobBuilder { return builders.Job(name).GPUs(0) }

// testNode is a ready node named host-<id> with n healthy GPUs, 16 cores
// and 64 GiB.
func testNode(id string, gpus int) *structs.Node {
	return builders.Node(id).Name("host-" + id).GPUs(gpus).CPU(16).Memory(64 * gib).HTTPAddr("127.0.0.1:4646").Build()
}

// fixture wraps a store with a raft index that goes up by one per write.
type fixture struct {
	t     testing.TB
	s     *Store
	index uint64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s, err := NewStore()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s}
}

func (f *fixture) next() uint64 { f.index++; return f.index }

func (f *fixture) node(n *structs.Node) {
	f.t.Helper()
	if err := f.s.UpsertNode(f.next(), &structs.NodeRegisterRequest{Node: n, Now: t0}); err != nil {
		f.t.Fatalf("upsert node: %v", err)
	}
}

func (f *fixture) register(jobs ...*structs.Job) []string {
	f.t.Helper()
	resp, err := f.s.RegisterJobs(f.next(), &structs.JobRegisterRequest{Jobs: jobs, Now: t0})
	if err != nil {
		f.t.Fatalf("register: %v", err)
	}
	return resp.JobIDs
}

// alloc is the allocation a leader would propose for a job's next attempt.
func (f *fixture) alloc(jobID, nodeID string, gpus ...int) *structs.Allocation {
	f.t.Helper()
	j := f.job(jobID)
	attempt := j.Attempt + 1
	return &structs.Allocation{ID: fmt.Sprintf("%s.%d", jobID, attempt), JobID: jobID, NodeID: nodeID, GPUs: gpus, Attempt: attempt}
}

func (f *fixture) plan(allocs ...*structs.Allocation) []string {
	f.t.Helper()
	applied, err := f.s.ApplyPlan(f.next(), &structs.PlanApplyRequest{Allocs: allocs, Now: t0.Add(time.Minute)})
	if err != nil {
		f.t.Fatalf("apply plan: %v", err)
	}
	return applied
}

// start registers a job and places it on a node, returning job and alloc ids.
func (f *fixture) start(j *structs.Job, nodeID string, gpus ...int) (string, string) {
	f.t.Helper()
	id := f.register(j)[0]
	a := f.alloc(id, nodeID, gpus...)
	if got := f.plan(a); len(got) != 1 {
		f.t.Fatalf("placing job %s: applied %v", id, got)
	}
	return id, a.ID
}

func (f *fixture) report(allocID string, cs structs.ClientStatusFields) error {
	return f.s.UpdateAllocs(f.next(), &structs.AllocUpdateRequest{
		Updates: []*structs.AllocUpdate{{AllocID: allocID, Client: cs}},
		Now:     t0.Add(time.Hour),
	})
}

func (f *fixture) job(id string) *structs.Job {
	f.t.Helper()
	j, err := f.s.Snapshot().JobByID(nil, id)
	if err != nil || j == nil {
		f.t.Fatalf("job %s: %v, %v", id, j, err)
	}
	return j
}

func (f *fixture) allocByID(id string) *structs.Allocation {
	f.t.Helper()
	a, err := f.s.Snapshot().AllocByID(nil, id)
	if err != nil || a == nil {
		f.t.Fatalf("alloc %s: %v, %v", id, a, err)
	}
	return a
}

// setNode overwrites a node as stored, for states no request makes yet
// (drained, ineligible, unhealthy GPU).
func (f *fixture) setNode(id string, change func(n *structs.Node)) {
	f.t.Helper()
	err := f.s.write(func(txn *memdb.Txn) error {
		raw, err := txn.First(tableNodes, "id", id)
		if err != nil {
			return err
		}
		n := raw.(*structs.Node).Copy()
		change(n)
		return txn.Insert(tableNodes, n)
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func exit(code int) *int { return &code }
