package scheduler

import (
	"testing"

	"github.com/nai-project/nai/structs"
)

func heldBy(by string, admin bool) func(*structs.Job) {
	return func(j *structs.Job) { j.Hold = &structs.JobHold{By: by, Admin: admin, Time: t0} }
}

func TestHoldGate(t *testing.T) {
	cases := []struct {
		name string
		hold *structs.JobHold
		want gateRun
	}{
		{"not held", nil, admitted},
		{"held by its owner", &structs.JobHold{By: "alice"},
			gateRun{hold, structs.WaitHeldUser, "JobHeldUser: held by alice until nai job release"}},
		{"held by an operator", &structs.JobHold{By: "ops", Admin: true},
			gateRun{hold, structs.WaitHeldAdmin, "JobHeldAdmin: held by ops until an operator's nai job release"}},
		{"held by nobody known", &structs.JobHold{Admin: true},
			gateRun{hold, structs.WaitHeldAdmin, "JobHeldAdmin: held until an operator's nai job release"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			j := h.submit(newJob().With(func(j *structs.Job) { j.Hold = tc.hold }))[0]
			if got := h.runGate(DefaultConfig(), "hold")[j.ID]; got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A held job is never placed, even alone on an idle cluster and ahead of
// everyone; the job behind it starts, and the held one's reason is the
// hold's, the same in every pass.
func TestHeldJobNotPlaced(t *testing.T) {
	h := newHarness(t)
	h.addNodes(1, newNode("n"))
	top := h.submit(newJob().Priority(1000).GPUs(1).With(heldBy("alice", false)))[0]
	next := h.submit(newJob().GPUs(1))[0]
	var reasons []string
	for range 3 {
		p := h.plan(DefaultConfig())
		for _, pl := range p.Placements {
			if pl.JobID == top.ID {
				t.Fatalf("held job %s placed: %+v", top.ID, pl)
			}
		}
		if len(p.Placements) == 0 || p.Placements[0].JobID != next.ID {
			t.Fatalf("job %s behind the held one not placed: %+v", next.ID, p.Placements)
		}
		ws := waitOf(t, p, top.ID)
		if ws.Code != structs.WaitHeldUser {
			t.Fatalf("held job waits for %s (%q)", ws.Code, ws.Reason)
		}
		reasons = append(reasons, ws.Reason)
	}
	for _, r := range reasons[1:] {
		if r != reasons[0] {
			t.Errorf("reasons differ between passes: %q", reasons)
		}
	}
	// Released, it starts.
	top.Hold = nil
	p := h.plan(DefaultConfig())
	found := false
	for _, pl := range p.Placements {
		found = found || pl.JobID == top.ID
	}
	if !found {
		t.Errorf("released job %s not placed: %+v", top.ID, p)
	}
}
