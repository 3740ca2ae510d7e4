package fsm

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

// format7Requests are format 7's new requests: an array of one, and reports
// of a metric that stopped being finite.
func format7Requests() (register *structs.JobRegisterRequest, update *structs.AllocUpdateRequest, updates *structs.AllocUpdatesRequest) {
	j := goldenJob("array-of-one", 0)
	j.SweepValues = map[string]string{structs.ArrayTaskIDKey: "5"}
	register = &structs.JobRegisterRequest{Jobs: []*structs.Job{j}, Array: true, Now: t0}
	step := 2.0
	nf := map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 2, Step: &step}}
	update = &structs.AllocUpdateRequest{NodeID: "n1", Now: t0, Updates: []*structs.AllocUpdate{{AllocID: "1.1", Client: structs.ClientStatusFields{
		Status: structs.AllocRunning, Metrics: map[string]float64{"step": 2}, NonFinite: nf, MetricsSkipped: 1, MetricsCounted: true,
	}}}}
	updates = &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{update}}
	return register, update, updates
}

// Format 7's versions for clusters that still hold older servers: the
// array of one goes as the plain job those servers made of it, and the
// reports go without their non-finite metrics (those servers keep the last
// finite value, as before); the caller's request is left as it was.
func TestEncodeAtFormat7Downgrades(t *testing.T) {
	register, update, updates := format7Requests()
	plainRegister := *register
	plainRegister.Array = false
	plainUpdate := *update
	u := *update.Updates[0]
	u.Client.NonFinite, u.Client.MetricsSkipped, u.Client.MetricsCounted = nil, 0, false
	plainUpdate.Updates = []*structs.AllocUpdate{&u}
	for _, tc := range []struct {
		name    string
		t       MessageType
		req     any
		format  Format
		version byte
		want    any // nil: the request as it was
		refused bool
	}{
		{"array of one, format 7", JobRegister, register, Format7, 4, nil, false},
		{"array of one, format 6", JobRegister, register, Format6, 3, &plainRegister, false},
		{"array of one, format 3 (three downgrades)", JobRegister, register, Format3, 2, &plainRegister, false},
		{"non-finite report, format 7", AllocUpdate, update, Format7, 3, nil, false},
		{"non-finite report, format 6", AllocUpdate, update, Format6, 2, &plainUpdate, false},
		{"non-finite report, format 2", AllocUpdate, update, Format2, 1, &plainUpdate, false},
		{"non-finite reports, format 7", AllocUpdates, updates, Format7, 2, nil, false},
		{"non-finite reports, format 6", AllocUpdates, updates, Format6, 1, &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{&plainUpdate}}, false},
		{"non-finite reports, format 3", AllocUpdates, updates, Format3, 0, nil, true},
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
	r2, u2, us2 := format7Requests()
	if d := cmp.Diff([]any{r2, u2, us2}, []any{register, update, updates}); d != "" {
		t.Errorf("EncodeAt changed the caller's request:\n%s", d)
	}
}

// The rolling upgrade to format 7: the entries a leader writes for a
// cluster that still holds a format-6 server replay on that server and on
// a server of today to the same state (a plain job, the last finite loss),
// and the entries of format 7 make the array of one and drop the loss that
// is NaN now.
func TestFormat7RollingUpgrade(t *testing.T) {
	register, update, _ := format7Requests()
	plan := &structs.PlanApplyRequest{Now: t0, Allocs: []*structs.Allocation{
		{ID: "1.1", JobID: "1", NodeID: "n1", Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0},
	}}
	finite := &structs.AllocUpdateRequest{NodeID: "n1", Now: t0, Updates: []*structs.AllocUpdate{{AllocID: "1.1", Client: structs.ClientStatusFields{
		Status: structs.AllocRunning, Metrics: map[string]float64{"step": 1, "loss": 0.5},
	}}}}
	log := func(f Format) [][]byte {
		t.Helper()
		var out [][]byte
		for _, e := range []struct {
			t   MessageType
			req any
		}{
			{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n1"), Now: t0}},
			{JobRegister, register}, {PlanApply, plan}, {AllocUpdate, finite}, {AllocUpdate, update},
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

	older := log(Format6)
	today, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	j := replay(today, older)
	if j.ArrayID != "" || j.Metrics["loss"] != 0.5 || j.NonFiniteMetrics != nil || j.MetricsCounted {
		t.Errorf("format 6 log on today's server: array %q, metrics %v, non-finite %v; want a plain job with the last finite loss", j.ArrayID, j.Metrics, j.NonFiniteMetrics)
	}
	want := persist(today)
	var got []byte
	withFormat(Format6, func() {
		f6, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		replay(f6, older)
		got = persist(f6)
	})
	if !bytes.Equal(want, got) {
		t.Errorf("the format-6 server's state differs from today's:\n%s", cmp.Diff(string(want), string(got)))
	}

	newer, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	j = replay(newer, log(LogFormat))
	if j.ArrayID != "1" || j.ArrayRef() != "1_5" {
		t.Errorf("array of one: array %q, ref %q; want 1, 1_5", j.ArrayID, j.ArrayRef())
	}
	if _, ok := j.Metrics["loss"]; ok || j.NonFiniteMetrics["loss"].Value != "NaN" {
		t.Errorf("metrics %v, non-finite %v; want loss NaN only", j.Metrics, j.NonFiniteMetrics)
	}
	if !j.MetricsCounted || j.MetricsSkippedLines != 1 {
		t.Errorf("counted %v, skipped %d; want the client's count, 1", j.MetricsCounted, j.MetricsSkippedLines)
	}
}
