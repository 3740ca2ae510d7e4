package scheduler

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// service makes a service job builder with n replicas of one GPU each.
func service(n int) *jobBuilder {
	return newJob().With(func(j *structs.Job) {
		j.Type = structs.JobService
		j.Version = 1
		j.Resources.Ports = 1
		j.Service = &structs.ServiceSpec{Replicas: n}
		j.Service.Canonicalize()
	})
}

func withPorts(first, last int) func(*structs.Node) {
	return func(n *structs.Node) { n.ServicePorts = structs.PortRange{First: first, Last: last} }
}

// replicas lists a plan's placements of one job as "node/replica".
func replicas(p *structs.Plan, id string) []string {
	var out []string
	for _, pl := range p.Placements {
		if pl.JobID == id {
			out = append(out, pl.NodeID+"/"+string(rune('0'+pl.Rank)))
		}
	}
	return out
}

func TestServicePlacesEveryReplica(t *testing.T) {
	h := newHarness(t).addNodes(2, newNode("n").GPUs(2).With(withPorts(20000, 29999)))
	svc := h.submit(service(3))[0]
	p := h.plan(strict())
	if got, want := replicas(p, svc.ID), []string{"n1/0", "n1/1", "n2/2"}; !cmp.Equal(got, want) {
		t.Fatalf("placements %v, want %v", got, want)
	}
	h.apply(p)
	// Fully placed: the next pass says nothing about it.
	p = h.plan(strict())
	if len(p.Placements) != 0 || len(p.Waiting) != 0 {
		t.Errorf("a service with all its replicas is in the plan: %+v", p)
	}
}

func TestServiceReplacesLostReplica(t *testing.T) {
	h := newHarness(t).addNodes(2, newNode("n").GPUs(2).With(withPorts(20000, 29999)))
	svc := h.submit(service(2))[0]
	h.apply(h.plan(strict()))
	// Replica 0's node is lost with it.
	for _, a := range h.st.allocs {
		if a.JobID == svc.ID && a.Replica == 0 {
			a.ClientStatus.Status = structs.AllocLost
		}
	}
	p := h.plan(strict())
	if got := replicas(p, svc.ID); len(got) != 1 || !strings.HasSuffix(got[0], "/0") {
		t.Errorf("placements %v, want replica 0 again", got)
	}
}

func TestServiceRolloutPlacesNewVersionBesideOld(t *testing.T) {
	h := newHarness(t).addNodes(1, newNode("n").GPUs(4).With(withPorts(20000, 29999)))
	svc := h.submit(service(2))[0]
	h.apply(h.plan(strict()))
	svc.Version = 2 // a rollout: the old replicas run version 1
	p := h.plan(strict())
	if got, want := replicas(p, svc.ID), []string{"n1/0", "n1/1"}; !cmp.Equal(got, want) {
		t.Fatalf("placements %v, want two replicas of the new version beside the old", got)
	}
	// A replica of the old version asked to stop holds its GPU, but no slot.
	h.apply(p)
	if p := h.plan(strict()); len(p.Placements) != 0 {
		t.Errorf("placed more: %+v", p.Placements)
	}
}

func TestServicePortsExhausted(t *testing.T) {
	h := newHarness(t).addNodes(1, newNode("n").GPUs(4).With(withPorts(20000, 20000)))
	svc := h.submit(service(2))[0]
	p := h.plan(strict())
	if got := replicas(p, svc.ID); len(got) != 1 {
		t.Fatalf("placements %v, want one replica on the one port", got)
	}
	ws := waitOf(t, p, svc.ID)
	if ws.Code != structs.WaitResources || !strings.Contains(ws.Reason, "free service port") {
		t.Errorf("wait %+v, want Resources naming the service ports", ws)
	}
	if want := []structs.NodeFilterCount{{Filter: structs.FilterFreePorts, Nodes: 1}}; !cmp.Equal(ws.NodeFilters, want) {
		t.Errorf("filters %v, want %v", ws.NodeFilters, want)
	}
}

func TestServiceNeedsNodeWithPorts(t *testing.T) {
	h := newHarness(t).addNodes(1, newNode("n").GPUs(4))
	svc := h.submit(service(1))[0]
	batch := h.submit(newJob())[0]
	p := h.plan(strict())
	ws := waitOf(t, p, svc.ID)
	if ws.Code != structs.WaitNoNodeFits || !strings.Contains(ws.Reason, "service_ports") {
		t.Errorf("wait %+v, want NoNodeFits naming service_ports", ws)
	}
	if _, ok := placed(p)[batch.ID]; !ok {
		t.Errorf("a batch job needs no port but did not start: %+v", p)
	}
}

func TestServiceNotPreemptedUnlessPreemptible(t *testing.T) {
	for _, tc := range []struct {
		name        string
		preemptible bool
	}{{"not preemptible", false}, {"preemptible", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t).addNodes(1, newNode("n").GPUs(1).With(withPorts(20000, 29999)))
			b := service(1).Queue("low")
			if tc.preemptible {
				b = b.Preemptible()
			}
			svc := h.submit(b)[0]
			h.apply(h.plan(tiered()))
			h.submit(newJob().Queue("high"))
			p := h.plan(tiered())
			preempted := len(p.Preempt) == 1 && p.Preempt[0].JobID == svc.ID
			if preempted != tc.preemptible {
				t.Errorf("preempt %+v, want the service preempted: %v", p.Preempt, tc.preemptible)
			}
		})
	}
}

// tiered has a low and a high queue tier, with preemption.
func tiered() Config {
	c := strict()
	c.Preemption = true
	c.Queues = []structs.Queue{{Name: "low", PriorityTier: 0}, {Name: "high", PriorityTier: 1}, {Name: DefaultQueue}}
	return c
}

func TestServiceHasNoTimeLimit(t *testing.T) {
	c := strict()
	c.DefaultTimeLimit = 1
	s := New(c)
	if got := s.limitOf(service(1).Build(), nil); got != forever {
		t.Errorf("limit %d, want forever", got)
	}
}
