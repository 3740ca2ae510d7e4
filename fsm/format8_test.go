package fsm

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

// format8Requests are format 8's new requests: the end of a gang's rank 1,
// with its own outputs and logs, reported with RankZeroOutputs.
func format8Requests() (update *structs.AllocUpdateRequest, updates *structs.AllocUpdatesRequest) {
	exit0 := 0
	update = &structs.AllocUpdateRequest{NodeID: "n2", Now: t0, RankZeroOutputs: true, Updates: []*structs.AllocUpdate{{AllocID: "1.1.1", Client: structs.ClientStatusFields{
		Status: structs.AllocComplete, ExitCode: &exit0, ExitReason: structs.ExitExited,
		OutputDigest: strings.Repeat("b1", 32), OutputSize: 2, OutputFiles: 1, StdoutDigest: strings.Repeat("b2", 32),
	}}}}
	updates = &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{update}}
	return update, updates
}

// Format 8's versions for clusters that still hold older servers: the
// reports go without RankZeroOutputs (every server then keeps the last
// rank's, as before), through the older downgrades below; the caller's
// request is left as it was.
func TestEncodeAtFormat8Downgrades(t *testing.T) {
	update, updates := format8Requests()
	args := goldenJob("args", 0)
	args.Task = structs.Task{Script: "#!/bin/bash\necho \"$1\"\n", Args: []string{"cfg.yaml"}}
	withArgs := &structs.JobRegisterRequest{Now: t0, Jobs: []*structs.Job{args}}
	plain := goldenJob("plain", 0)
	plainJob := &structs.JobRegisterRequest{Now: t0, Jobs: []*structs.Job{plain}}
	opDrain := &structs.NodeDrainRequest{NodeID: "n1", Drain: true, Now: t0, ByOperator: true}
	plainDrain := *opDrain
	plainDrain.ByOperator = false
	opElig := &structs.NodeEligibilityRequest{NodeID: "n1", Now: t0, ByOperator: true}
	plainElig := *opElig
	plainElig.ByOperator = false
	plainUpdate := *update
	plainUpdate.RankZeroOutputs = false
	plainUpdates := &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{&plainUpdate}}
	for _, tc := range []struct {
		name    string
		t       MessageType
		req     any
		format  Format
		version byte
		want    any // nil: the request as it was
		refused bool
	}{
		{"rank 0 report, newest", AllocUpdate, update, LogFormat, 4, nil, false},
		{"rank 0 report, format 7", AllocUpdate, update, Format7, 3, &plainUpdate, false},
		{"rank 0 report, format 2 (three downgrades)", AllocUpdate, update, Format2, 1, &plainUpdate, false},
		{"rank 0 reports, newest", AllocUpdates, updates, LogFormat, 3, nil, false},
		{"rank 0 reports, format 7", AllocUpdates, updates, Format7, 2, plainUpdates, false},
		{"rank 0 reports, format 4", AllocUpdates, updates, Format4, 1, plainUpdates, false},
		{"rank 0 reports, format 3", AllocUpdates, updates, Format3, 0, nil, true},
		// A script with arguments: refused until every server reads it
		// (older servers refuse such a job when they apply the entry); any
		// other job goes at the older version unchanged.
		{"script with args, newest", JobRegister, withArgs, LogFormat, 5, nil, false},
		{"script with args, format 7", JobRegister, withArgs, Format7, 0, nil, true},
		{"script with args, format 2", JobRegister, withArgs, Format2, 0, nil, true},
		{"plain job, format 7", JobRegister, plainJob, Format7, 4, nil, false},
		// An operator's node writes: older servers get them without
		// ByOperator (a hook's drain reason stays, as before).
		{"operator's drain, newest", NodeDrain, opDrain, LogFormat, 2, nil, false},
		{"operator's drain, format 7", NodeDrain, opDrain, Format7, 1, &plainDrain, false},
		{"operator's not eligible, format 7", NodeEligibility, opElig, Format7, 1, &plainElig, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := EncodeAt(tc.t, tc.req, tc.format)
			if tc.refused {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("err = %v, want ErrFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if data[0] != byte(tc.t) || data[1] != tc.version {
				t.Fatalf("entry starts %d v%d, want %d v%d", data[0], data[1], tc.t, tc.version)
			}
			got, err := commands[tc.t].decoders[data[1]](data[2:])
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.req
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}
	u2, us2 := format8Requests()
	if d := cmp.Diff([]any{u2, us2}, []any{update, updates}); d != "" {
		t.Errorf("EncodeAt changed the caller's request:\n%s", d)
	}
}

// The rolling upgrade to format 8: the entries a leader writes for a
// cluster that still holds a format-7 server replay on that server and on
// a server of today to the same state (the gang job keeps rank 1's
// outputs, reported last), and the entries of format 8 keep rank 0's.
func TestFormat8RollingUpgrade(t *testing.T) {
	exit0 := 0
	gang := goldenJob("gang", 1)
	gang.Resources.Nodes = 2
	register := &structs.JobRegisterRequest{Now: t0, Jobs: []*structs.Job{gang}}
	plan := &structs.PlanApplyRequest{Now: t0, Allocs: []*structs.Allocation{
		{ID: "1.1.0", JobID: "1", NodeID: "n1", GPUs: []int{0}, Attempt: 1, Rank: 0, DesiredStatus: structs.DesiredRun, CreateTime: t0},
		{ID: "1.1.1", JobID: "1", NodeID: "n2", GPUs: []int{0}, Attempt: 1, Rank: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0},
	}}
	rank0 := &structs.AllocUpdateRequest{NodeID: "n1", Now: t0, RankZeroOutputs: true, Updates: []*structs.AllocUpdate{{AllocID: "1.1.0", Client: structs.ClientStatusFields{
		Status: structs.AllocComplete, ExitCode: &exit0, ExitReason: structs.ExitExited,
		OutputDigest: strings.Repeat("a1", 32), OutputSize: 1, OutputFiles: 1, StdoutDigest: strings.Repeat("a2", 32),
	}}}}
	rank1, _ := format8Requests()
	log := func(f Format) [][]byte {
		t.Helper()
		var out [][]byte
		for _, e := range []struct {
			t   MessageType
			req any
		}{
			{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n1"), Now: t0}},
			{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n2"), Now: t0}},
			{JobRegister, register}, {PlanApply, plan}, {AllocUpdate, rank0},
			{AllocUpdates, &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{rank1}}},
		} {
			data, err := EncodeAt(e.t, e.req, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
		return out
	}
	replay := func(f *FSM, entries [][]byte) *structs.Job { t.Helper(); return replayJob1(t, f, entries) }
	persist := func(f *FSM) []byte { t.Helper(); return persistState(t, f) }

	older := log(Format7)
	today, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	j := replay(today, older)
	if j.Status != structs.JobComplete || j.OutputDigest != rank1.Updates[0].Client.OutputDigest || j.StdoutDigest != rank1.Updates[0].Client.StdoutDigest {
		t.Errorf("format 7 log on today's server: job %s, outputs %q, stdout %q; want complete with rank 1's, reported last", j.Status, j.OutputDigest, j.StdoutDigest)
	}
	want := persist(today)
	var got []byte
	withFormat(Format7, func() {
		f7, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		replay(f7, older)
		got = persist(f7)
	})
	if !bytes.Equal(want, got) {
		t.Errorf("the format-7 server's state differs from today's:\n%s", cmp.Diff(string(want), string(got)))
	}

	newer, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	j = replay(newer, log(LogFormat))
	if j.Status != structs.JobComplete || j.OutputDigest != rank0.Updates[0].Client.OutputDigest || j.StdoutDigest != rank0.Updates[0].Client.StdoutDigest {
		t.Errorf("format 8 log: job %s, outputs %q, stdout %q; want complete with rank 0's", j.Status, j.OutputDigest, j.StdoutDigest)
	}
	a, err := newer.State().Snapshot().AllocByID(nil, "1.1.1")
	if err != nil || a == nil || a.ClientStatus.OutputDigest != rank1.Updates[0].Client.OutputDigest {
		t.Errorf("rank 1's allocation: %+v, %v; want its own outputs", a, err)
	}
}
