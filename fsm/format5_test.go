package fsm

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nai-project/nai/structs"
)

// Format 5's versions for clusters that still hold older servers: what an
// older version can carry goes at that version, through every downgrade
// between (JobRegister 3 -> 2 -> 1); what it cannot is refused with
// ErrFormat; a GC entry goes with the older servers' rule.
func TestEncodeAtFormat5Downgrades(t *testing.T) {
	memberDep := func() *structs.Job {
		j := goldenJob("after", 0)
		j.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: "1", Member: true}}
		return j
	}
	heldJob := func() *structs.Job {
		j := goldenJob("held", 0)
		j.Hold = &structs.JobHold{}
		return j
	}
	arrayDep := func() *structs.Job {
		j := goldenJob("after", 0)
		j.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: "1"}}
		return j
	}
	for _, tc := range []struct {
		name    string
		t       MessageType
		req     any
		format  Format
		version byte
		want    any // nil: the request as it was
		refused bool
	}{
		{"unreachable, newest", NodeStatus, &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeReady, Unreachable: true, Now: t0}, LogFormat, 2, nil, false},
		{"unreachable, format 4", NodeStatus, &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeReady, Unreachable: true, Now: t0}, Format4, 0, nil, true},
		{"down, format 4", NodeStatus, &structs.NodeStatusRequest{NodeID: "n1", Status: structs.NodeDown, Now: t0}, Format4, 1, nil, false},
		{"member dependency, format 6", JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{memberDep()}, Now: t0}, Format6, 3, nil, false},
		{"member dependency, format 4", JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{memberDep()}, Now: t0}, Format4, 0, nil, true},
		{"member dependency in a sweep's template, format 4", JobRegister, func() any {
			spec, err := structs.NewSweepSpec([]*structs.Job{memberDep(), memberDep()})
			if err != nil {
				t.Fatal(err)
			}
			return &structs.JobRegisterRequest{Sweep: spec, Now: t0}
		}(), Format4, 0, nil, true},
		{"submitted held, format 6", JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{heldJob()}, Now: t0}, Format6, 3, nil, false},
		{"submitted held, format 4", JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{goldenJob("a", 0), heldJob()}, Now: t0}, Format4, 0, nil, true},
		{"held sweep template, format 4", JobRegister, func() any {
			spec, err := structs.NewSweepSpec([]*structs.Job{heldJob(), heldJob()})
			if err != nil {
				t.Fatal(err)
			}
			return &structs.JobRegisterRequest{Sweep: spec, Now: t0}
		}(), Format4, 0, nil, true},
		{"hold, newest", JobHold, &structs.JobHoldRequest{JobIDs: []string{"1"}, Now: t0}, LogFormat, 1, nil, false},
		{"hold, format 4", JobHold, &structs.JobHoldRequest{JobIDs: []string{"1"}, Now: t0}, Format4, 0, nil, true},
		{"update, newest", JobUpdate, &structs.JobUpdateRequest{JobIDs: []string{"1"}}, LogFormat, 1, nil, false},
		{"update, format 5", JobUpdate, &structs.JobUpdateRequest{JobIDs: []string{"1"}}, Format5, 0, nil, true},
		{"array dependency, format 4", JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{arrayDep()}, Now: t0}, Format4, 2, nil, false},
		{"array dependency, format 2 (two downgrades)", JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{arrayDep()}, Now: t0}, Format2, 1, nil, false},
		{"member dependency, format 2", JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{memberDep()}, Now: t0}, Format2, 0, nil, true},
		{"gc, newest", JobGC, &structs.JobGCRequest{Before: t0, Max: 5, Now: t0, KeepArrayMembers: true}, LogFormat, 2, nil, false},
		{"gc, format 4: the older rule", JobGC, &structs.JobGCRequest{Before: t0, Max: 5, Now: t0, KeepArrayMembers: true}, Format4, 1,
			&structs.JobGCRequest{Before: t0, Max: 5, Now: t0}, false},
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
			if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(structs.SweepSpec{})); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}
}
