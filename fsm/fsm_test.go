package fsm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/internal/builders"
	"github.com/nai-project/nai/structs"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func entry(t *testing.T, index uint64, mt MessageType, req any) *raft.Log {
	t.Helper()
	data, err := Encode(mt, req)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: data}
}

func TestEncode(t *testing.T) {
	data, err := Encode(NodeStatus, &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeDown})
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != byte(NodeStatus) || data[1] != commands[NodeStatus].version || !strings.HasPrefix(string(data[2:]), `{"node_id":"n1"`) {
		t.Errorf("entry %q", data)
	}
	if _, err := Encode(JobRegister, func() {}); err == nil {
		t.Error("encoding a func succeeded")
	}
}

func TestApply(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		log   *raft.Log
		check func(t *testing.T, resp any)
	}{
		{name: "node register", log: entry(t, 1, NodeRegister, &structs.NodeRegisterRequest{Node: builders.Node("n1").GPUs(4).Build(), Now: t0}),
			check: wantNil},
		{name: "job register", log: entry(t, 2, JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{builders.Job("a").GPUs(2).Build(), builders.Job("b").GPUs(1).Build()}, Now: t0}),
			check: func(t *testing.T, resp any) {
				r, ok := resp.(*structs.JobRegisterResponse)
				if !ok || !cmp.Equal(r.JobIDs, []string{"1", "2"}) || r.Index != 2 {
					t.Errorf("response %#v", resp)
				}
			}},
		{name: "invalid job register", log: entry(t, 3, JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{{Name: "no task"}}}),
			check: wantCode(structs.CodeInvalid)},
		{name: "plan apply", log: entry(t, 4, PlanApply, &structs.PlanApplyRequest{Now: t0, Allocs: []*structs.Allocation{
			{ID: "1.1", JobID: "1", NodeID: "n1", GPUs: []int{0, 1}, Attempt: 1},
			{ID: "2.1", JobID: "2", NodeID: "n1", GPUs: []int{1}, Attempt: 1}, // GPU 1 already taken above
		}}), check: func(t *testing.T, resp any) {
			if got, ok := resp.([]string); !ok || !cmp.Equal(got, []string{"1.1"}) {
				t.Errorf("applied %#v, want [1.1]", resp)
			}
		}},
		{name: "alloc update", log: entry(t, 5, AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n1", Now: t0, Updates: []*structs.AllocUpdate{
			{AllocID: "1.1", Client: structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: new(int)}},
		}}), check: wantNil},
		{name: "job cancel", log: entry(t, 6, JobCancel, &structs.JobCancelRequest{JobIDs: []string{"2"}, Now: t0}), check: wantNil},
		{name: "job cancel unknown", log: entry(t, 7, JobCancel, &structs.JobCancelRequest{JobIDs: []string{"42"}}), check: wantCode(structs.CodeNotFound)},
		{name: "node status", log: entry(t, 8, NodeStatus, &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeDown, Now: t0}), check: wantNil},
		{name: "unknown type with ignore bit is skipped", log: &raft.Log{Index: 9, Type: raft.LogCommand, Data: []byte{byte(IgnoreUnknownFlag | 77), 1, '{', '}'}},
			check: wantNil},
		{name: "unknown version with ignore bit is skipped", log: &raft.Log{Index: 10, Type: raft.LogCommand, Data: []byte{byte(JobCancel | IgnoreUnknownFlag), 9, '{', '}'}},
			check: wantNil},
		{name: "bad json", log: &raft.Log{Index: 11, Type: raft.LogCommand, Data: []byte{byte(JobCancel), 1, '{'}},
			check: wantErr("decode JobCancel version 1")},
		{name: "too short", log: &raft.Log{Index: 12, Type: raft.LogCommand, Data: []byte{byte(JobCancel)}},
			check: wantErr("malformed")},
		{name: "not a command", log: &raft.Log{Index: 13, Type: raft.LogNoop}, check: wantNil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { s.check(t, f.Apply(s.log)) })
	}

	sn := f.State().Snapshot()
	j1, _ := sn.JobByID(nil, "1")
	j2, _ := sn.JobByID(nil, "2")
	n1, _ := sn.NodeByID(nil, "n1")
	if j1.Status != structs.JobComplete || j2.Status != structs.JobCancelled || n1.Status != structs.NodeDown {
		t.Errorf("final state: job1 %s, job2 %s, node %s", j1.Status, j2.Status, n1.Status)
	}
	if got := f.State().LatestIndex(); got != 8 {
		t.Errorf("latest index %d, want 8", got)
	}
}

// TestApplyKnownTypeWithIgnoreFlag is the regression test of a bug: Apply
// looked the command up before removing IgnoreUnknownFlag, so an entry sent
// with the flag was dropped by every server.
func TestApplyKnownTypeWithIgnoreFlag(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := f.Apply(entry(t, 1, NodeRegister|IgnoreUnknownFlag, &structs.NodeRegisterRequest{Node: builders.Node("n1").GPUs(4).Build(), Now: t0}))
	wantNil(t, resp)
	n, err := f.State().Snapshot().NodeByID(nil, "n1")
	if err != nil || n == nil {
		t.Fatalf("node n1 after applying NodeRegister|IgnoreUnknownFlag: %v, %v; want it stored", n, err)
	}
	if got := (NodeRegister | IgnoreUnknownFlag).String(); got != "NodeRegister|ignore-unknown" {
		t.Errorf("String() = %q", got)
	}
}

func TestApplyUnknownVersionStops(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "JobCancel version 9") {
			t.Errorf("recovered %v, want a panic about JobCancel version 9", r)
		}
	}()
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: []byte{byte(JobCancel), 9, '{', '}'}})
}

func TestEncodeUnknownCommand(t *testing.T) {
	if _, err := Encode(MessageType(77), struct{}{}); err == nil || !strings.Contains(err.Error(), "no such command") {
		t.Errorf("Encode(77) err = %v, want no such command", err)
	}
}

func TestApplyUnknownTypeStops(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "unknown message type 77") {
			t.Errorf("recovered %v, want a panic about type 77", r)
		}
	}()
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: []byte{77, 1, '{', '}'}})
}

func wantNil(t *testing.T, resp any) {
	t.Helper()
	if resp != nil {
		t.Errorf("response %#v, want nil", resp)
	}
}

func wantCode(code structs.ErrorCode) func(*testing.T, any) {
	return func(t *testing.T, resp any) {
		t.Helper()
		err, ok := resp.(error)
		if !ok || structs.CodeOf(err) != code {
			t.Errorf("response %#v, want an error with code %s", resp, code)
		}
	}
}

func wantErr(substr string) func(*testing.T, any) {
	return func(t *testing.T, resp any) {
		t.Helper()
		err, ok := resp.(error)
		if !ok || !strings.Contains(err.Error(), substr) {
			t.Errorf("response %#v, want an error containing %q", resp, substr)
		}
	}
}

// failingSink is a snapshot sink whose writes fail, to check that Persist
// cancels it.
type failingSink struct {
	cancelled, closed bool
}

func (s *failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }
func (s *failingSink) Close() error              { s.closed = true; return nil }
func (s *failingSink) ID() string                { return "failing" }
func (s *failingSink) Cancel() error             { s.cancelled = true; return nil }

func TestPersistCancelsSinkOnError(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 { // more than the write buffer, so a write reaches the sink
		f.Apply(entry(t, uint64(i+1), JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{builders.Job("a").GPUs(0).Build()}, Now: t0}))
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &failingSink{}
	if err := snap.Persist(sink); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("persist err = %v, want disk full", err)
	}
	if !sink.cancelled || sink.closed {
		t.Errorf("sink cancelled %v closed %v, want cancelled only", sink.cancelled, sink.closed)
	}
}
