package fsm

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

// testWriter routes raft's logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestRaftRoundTrip runs the FSM under a real single-node raft with
// in-memory stores and transport: entries applied through raft reach the
// store, a raft snapshot is taken and a new FSM restored from it holds the
// same state.
func TestRaftRoundTrip(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestRaft(t, f)

	apply := func(mt MessageType, req any) any {
		t.Helper()
		data, err := Encode(mt, req)
		if err != nil {
			t.Fatal(err)
		}
		fut := r.Apply(data, 5*time.Second)
		if err := fut.Error(); err != nil {
			t.Fatalf("raft apply %s: %v", mt, err)
		}
		return fut.Response()
	}
	apply(NodeRegister, &structs.NodeRegisterRequest{Node: builders.Node("n1").GPUs(4).Build(), Now: t0})
	resp := apply(JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{builders.Job("a").GPUs(2).Build(), builders.Job("b").GPUs(4).Build()}, Now: t0})
	reg, ok := resp.(*structs.JobRegisterResponse)
	if !ok || len(reg.JobIDs) != 2 {
		t.Fatalf("register response %#v", resp)
	}
	placed := apply(PlanApply, &structs.PlanApplyRequest{Now: t0, Allocs: []*structs.Allocation{
		{ID: reg.JobIDs[0] + ".1", JobID: reg.JobIDs[0], NodeID: "n1", GPUs: []int{2, 3}, Attempt: 1},
	}, Waiting: []structs.WaitStatus{{JobID: reg.JobIDs[1], Code: structs.WaitResources, Reason: "Resources: needs 4 free GPUs"}}})
	if !cmp.Equal(placed, []string{reg.JobIDs[0] + ".1"}) {
		t.Fatalf("plan response %#v", placed)
	}
	if resp := apply(JobCancel, &structs.JobCancelRequest{JobIDs: []string{"404"}}); !errors.Is(asErr(resp), structs.ErrNotFound) {
		t.Errorf("cancel of unknown job answered %#v", resp)
	}

	snapFut := r.Snapshot()
	if err := snapFut.Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	meta, rc, err := snapFut.Open()
	if err != nil {
		t.Fatal(err)
	}
	if meta.Index == 0 {
		t.Errorf("snapshot meta %+v", meta)
	}
	restored, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.Restore(rc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tables(t, f.State()), tables(t, restored.State()), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("restored FSM differs (-raft +restored):\n%s", diff)
	}
	if j, _ := restored.State().Snapshot().JobByID(nil, reg.JobIDs[1]); j == nil || j.Reason != "Resources: needs 4 free GPUs" {
		t.Errorf("restored waiting job %+v", j)
	}
}

// newTestRaft runs f under a real single-node raft with in-memory stores
// and transport, and waits until it leads.
func newTestRaft(t *testing.T, f *FSM) *raft.Raft {
	t.Helper()
	conf := raft.DefaultConfig()
	conf.LocalID = "s1"
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: testWriter{t}})
	logs, snaps := raft.NewInmemStore(), raft.NewInmemSnapshotStore()
	addr, trans := raft.NewInmemTransport("")
	r, err := raft.NewRaft(conf, f, logs, logs, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown().Error(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	boot := raft.Configuration{Servers: []raft.Server{{ID: conf.LocalID, Address: addr}}}
	if err := r.BootstrapCluster(boot).Error(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.LeaderCh():
	case <-time.After(10 * time.Second):
		t.Fatal("no leader after 10s")
	}
	return r
}

func asErr(v any) error {
	err, _ := v.(error)
	return err
}

func tables(t *testing.T, s *state.Store) map[string]any {
	t.Helper()
	sn := s.Snapshot()
	jobs, e1 := sn.Jobs(nil)
	allocs, e2 := sn.Allocs(nil)
	nodes, e3 := sn.Nodes(nil)
	if err := errors.Join(e1, e2, e3); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"jobs": jobs, "allocs": allocs, "nodes": nodes, "index": sn.Index()}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Apply(entry(t, 1, JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{builders.Job("keep").GPUs(0).Build()}, Now: t0}))
	if err := f.Restore(io.NopCloser(strings.NewReader("not a snapshot"))); err == nil {
		t.Fatal("restore of garbage succeeded")
	}
	if j, _ := f.State().Snapshot().JobByID(nil, "1"); j == nil {
		t.Error("failed restore lost the existing state")
	}
}
