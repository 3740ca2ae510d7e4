package fsm

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestDowngrades(t *testing.T) {
	plain := &structs.JobRegisterRequest{Jobs: []*structs.Job{goldenJob("a", 1)}}
	if got, err := jobRegisterV1(plain); err != nil || got != plain {
		t.Errorf("a plain submission: %v, %v", got, err)
	}
	for _, j := range []*structs.Job{
		func() *structs.Job {
			j := goldenJob("p", 0)
			j.Plugin = &structs.PluginRef{Name: "split", Version: "1"}
			return j
		}(),
		func() *structs.Job { j := goldenJob("d", 0); j.Output = &structs.OutputSpec{Dataset: "pets"}; return j }(),
	} {
		if _, err := jobRegisterV1(&structs.JobRegisterRequest{Jobs: []*structs.Job{j}}); !errors.Is(err, errNeedsUpgrade) {
			t.Errorf("job %s: %v, want refused", j.Name, err)
		}
	}
	spec := &structs.SweepSpec{Template: goldenJob("sweep", 1), Members: []structs.SweepMember{
		{Values: map[string]string{"lr": "0.1"}},
		{Values: map[string]string{"lr": "0.2"}, Changed: []string{"task.args"}, Changes: &structs.Job{Task: structs.Task{Args: []string{"--lr=0.2"}}}},
	}}
	down, err := jobRegisterV1(&structs.JobRegisterRequest{Sweep: spec})
	if err != nil || down.Sweep != nil || len(down.Jobs) != 2 {
		t.Fatalf("a sweep spec for version 1: %+v, %v; want its two members written out", down, err)
	}
	if j := down.Jobs[1]; j.ArrayIndex != 1 || j.ArraySize != 2 || j.Task.Args[0] != "--lr=0.2" || j.Task.Env["NAI_SWEEP_LR"] != "0.2" {
		t.Errorf("member 1 written out: %+v", j)
	}
	if _, err := jobRegisterV1(&structs.JobRegisterRequest{Sweep: spec, Jobs: []*structs.Job{goldenJob("a", 0)}}); err == nil {
		t.Error("jobs and a sweep together were written down")
	}
	svc := goldenJob("s", 0)
	svc.Type, svc.Service = structs.JobService, &structs.ServiceSpec{Replicas: 1}
	if _, err := jobRegisterV1(&structs.JobRegisterRequest{Jobs: []*structs.Job{goldenJob("a", 0), svc}}); !errors.Is(err, errServiceNeedsUpgrade) {
		t.Errorf("a service job: %v, want refused", err)
	}
	hook := &structs.HookReport{Hook: structs.HookProlog, Message: "exit status 1"}
	r := &structs.AllocUpdateRequest{NodeID: "n1", Updates: []*structs.AllocUpdate{
		{AllocID: "1.1", Client: structs.ClientStatusFields{Status: structs.AllocFailed, ExitReason: structs.ExitPrologFailed, Hook: hook}},
		{AllocID: "2.1", Client: structs.ClientStatusFields{Status: structs.AllocRunning}},
	}}
	got, err := allocUpdateV1(r)
	if err != nil {
		t.Fatal(err)
	}
	if u := got.Updates[0].Client; u.Hook != nil || u.ExitReason != structs.ExitStartFail {
		t.Errorf("downgraded prolog failure: %+v", u)
	}
	if got.Updates[1] != r.Updates[1] || r.Updates[0].Client.Hook != hook || r.Updates[0].Client.ExitReason != structs.ExitPrologFailed {
		t.Error("the downgrade changed the request it was given")
	}
}

// A sweep's registration entry, as the leader writes it, decodes by the
// fast path to what json.Unmarshal makes of it; other registrations go
// through json.Unmarshal.
func TestDecodeJobRegister(t *testing.T) {
	spec, err := structs.NewSweepSpec([]*structs.Job{goldenJob("a", 1), goldenJob("a", 1)})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range spec.Members {
		m.Values = map[string]string{"i": strconv.Itoa(i)}
		spec.Members[i] = m
	}
	now := time.Date(2026, 12, 3, 9, 0, 0, 42, time.UTC)
	for _, req := range []*structs.JobRegisterRequest{
		{Sweep: spec, Now: now},
		{Jobs: []*structs.Job{goldenJob("b", 0)}, Now: now},
	} {
		b, err := EncodeAt(JobRegister, req, LogFormat)
		if err != nil {
			t.Fatal(err)
		}
		if _, fast := structs.DecodeJobRegisterEntry(b[2:]); fast != (req.Sweep != nil) {
			t.Errorf("fast path taken %v for %+v", fast, req)
		}
		got, err := decodeJobRegister(b[2:])
		if err != nil {
			t.Fatal(err)
		}
		want, err := decodeJSON[structs.JobRegisterRequest](b[2:])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decodeJobRegister %+v, json.Unmarshal %+v", got, want)
		}
	}
}
