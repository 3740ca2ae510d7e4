package scheduler

import (
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestBeginTimeGate(t *testing.T) {
	cases := []struct {
		name    string
		begin   time.Time
		want    gateRun
		wantEst time.Time
	}{
		{"no begin time", time.Time{}, admitted, time.Time{}},
		{"a begin time in the past", t0.Add(-time.Hour), admitted, time.Time{}},
		{"a begin time of now", t0, admitted, time.Time{}},
		{"a begin time in the future, in any zone", t0.Add(time.Hour).In(time.FixedZone("CET", 3600)),
			gateRun{hold, structs.WaitBeginTime, "BeginTime: starts no earlier than 2026-11-25T13:00:00Z"}, t0.Add(time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			j := h.submit(newJob().BeginAt(tc.begin))[0]
			if got := h.runGate(DefaultConfig(), "begin time")[j.ID]; got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// The begin time is the job's estimated start.
			if tc.want.v == hold {
				if ws := waitOf(t, h.plan(DefaultConfig()), j.ID); !ws.EstimatedStart.Equal(tc.wantEst) {
					t.Errorf("estimated start %v, want %v", ws.EstimatedStart, tc.wantEst)
				}
			}
		})
	}
}

// Jobs of different begin times in one pass each get their own reason and
// estimated start, whatever order they come in (the pass reuses the last
// reason made while the begin time stays the same).
func TestBeginTimeGateMixedTimes(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n"))
	one, two := t0.Add(time.Hour), t0.Add(2*time.Hour)
	begins := []time.Time{one, one, two, one, two, two, {}, one}
	var jobs []*structs.Job
	for _, b := range begins {
		jobs = append(jobs, h.submit(newJob().BeginAt(b))[0])
	}
	p := h.plan(DefaultConfig())
	for i, j := range jobs {
		if begins[i].IsZero() {
			continue
		}
		ws := waitOf(t, p, j.ID)
		want := structs.WaitBeginAt(begins[i])
		if ws.Reason != want.Reason || !ws.EstimatedStart.Equal(begins[i]) {
			t.Errorf("job %d (begin %v): %q, estimated %v; want %q", i, begins[i], ws.Reason, ws.EstimatedStart, want.Reason)
		}
	}
}
