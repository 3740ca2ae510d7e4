package fsm

import (
	"bytes"
	"errors"
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// Every command is readable in the format that brought its current
// version, and that format is one this binary knows.
func TestFormatsCoverTable(t *testing.T) {
	for mt, c := range commands {
		for v := range c.decoders {
			if f := c.formatOf(v); f < Format1 || f > LogFormat {
				t.Errorf("%s version %d: format %d, want 1 to %d", c.name, v, f, LogFormat)
			}
		}
		if _, ok := c.decoders[c.version]; !ok {
			t.Errorf("%s writes version %d, which it cannot read", c.name, c.version)
		}
		if !Reads(LogFormat, mt) {
			t.Errorf("a server of the newest format cannot read %s", c.name)
		}
		for v, f := range c.since {
			if v > 1 && c.formatOf(v-1) > f {
				t.Errorf("%s: version %d (format %d) is older than version %d (format %d)", c.name, v, f, v-1, c.formatOf(v-1))
			}
		}
	}
}

func planWithEverything() *structs.PlanApplyRequest {
	return &structs.PlanApplyRequest{
		Now:    t0,
		Allocs: []*structs.Allocation{{ID: "1.1", JobID: "1", NodeID: "n1", GPUs: []int{0}, Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0}},
		Waiting: []structs.WaitStatus{{JobID: "2", Code: structs.WaitResources, Reason: "Resources: needs 4 free GPUs",
			NodeFilters: []structs.NodeFilterCount{{Filter: "gpus", Nodes: 2}}}},
		Preempt: []structs.Preemption{{AllocID: "9.1", JobID: "9", ForJobID: "2"}},
		Cancel:  []structs.WaitStatus{{JobID: "3", Reason: "Dependency: job 1 failed"}},
	}
}

// A plan for a cluster that still holds format-1 servers is written as
// version 1: its placements and reasons, without what version 1 cannot
// carry. The caller's request is left as it was.
func TestEncodeAtFormat1(t *testing.T) {
	req := planWithEverything()
	orig := planWithEverything()
	for _, tc := range []struct {
		name    string
		format  Format
		version byte
		want    *structs.PlanApplyRequest
	}{
		{"newest", LogFormat, 2, planWithEverything()},
		{"format 2", Format2, 2, planWithEverything()},
		{"format 1", Format1, 1, func() *structs.PlanApplyRequest {
			p := planWithEverything()
			p.Preempt, p.Cancel = nil, nil
			p.Waiting[0].NodeFilters = nil
			return p
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := EncodeAt(PlanApply, req, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if data[0] != byte(PlanApply) || data[1] != tc.version {
				t.Fatalf("entry starts %d v%d, want %d v%d", data[0], data[1], PlanApply, tc.version)
			}
			got, err := commands[PlanApply].decoders[data[1]](data[2:])
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}
	if d := cmp.Diff(orig, req); d != "" {
		t.Errorf("EncodeAt changed the caller's request:\n%s", d)
	}
}

// A command with a version that older formats cannot carry, and no way
// down, is refused with ErrFormat rather than written for servers that
// would stop on it.
func TestEncodeAtRefuses(t *testing.T) {
	const fake = MessageType(127)
	commands[fake] = upgraded[structs.JobCancelRequest](cmd("Fake", func(*state.Store, uint64, *structs.JobCancelRequest) any { return nil }), 2, Format2, nil)
	defer delete(commands, fake)
	if _, err := EncodeAt(fake, &structs.JobCancelRequest{}, Format1); !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want ErrFormat", err)
	}
	if Reads(Format1, fake) || !Reads(Format2, fake) {
		t.Error("Reads: want format 2 only")
	}
	if data, err := EncodeAt(fake, &structs.JobCancelRequest{}, Format2); err != nil || data[1] != 2 {
		t.Fatalf("format 2: %v, %v", data, err)
	}
}

// withFormat runs fn with the command table of a server that reads only
// format f: the binary before the versions f lacks.
func withFormat(f Format, fn func()) {
	all := commands
	old := map[MessageType]*command{}
	for mt, c := range all {
		if c.formatOf(1) > f {
			continue
		}
		o := *c
		o.decoders = maps.Clone(c.decoders)
		for v := range o.decoders {
			if c.formatOf(v) > f {
				delete(o.decoders, v)
				if o.version >= v {
					o.version = v - 1
				}
			}
		}
		old[mt] = &o
	}
	commands = old
	defer func() { commands = all }()
	fn()
}

// The rolling upgrade in one process: the golden history written by a
// leader for a cluster of format 1 replays on a server of format 1 and on
// a server of today to the same state; an entry of format 2 stops the
// format-1 server, which is why the leader never sends it one.
func TestFormat1ServerReplaysFormat1Log(t *testing.T) {
	var entries [][]byte
	for _, e := range history() {
		if commands[e.t].formatOf(1) > Format1 {
			continue // a command a format-1 cluster never gets
		}
		data, err := EncodeAt(e.t, e.req, Format1)
		if errors.Is(err, ErrFormat) {
			break // the service block closes the history; a format-1 leader refuses it
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, data)
	}
	replay := func(f *FSM) []byte {
		t.Helper()
		for i, data := range entries {
			if resp, ok := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}).(error); ok {
				t.Fatalf("entry %d: %v", i+1, resp)
			}
		}
		var b bytes.Buffer
		if err := f.State().Persist(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	newer, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := replay(newer)
	v2, err := EncodeAt(PlanApply, planWithEverything(), LogFormat)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var stopped any
	withFormat(Format1, func() {
		older, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		got = replay(older)
		func() {
			defer func() { stopped = recover() }()
			older.Apply(&raft.Log{Index: uint64(len(entries) + 1), Type: raft.LogCommand, Data: v2})
		}()
	})
	if !bytes.Equal(want, got) {
		t.Errorf("the format-1 server's state differs from today's:\n%s", cmp.Diff(string(want), string(got)))
	}
	if stopped == nil {
		t.Error("a format-1 server applied a PlanApply v2 entry; want it to stop")
	}
}
