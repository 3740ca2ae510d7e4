package scheduler

import (
	"fmt"

	"github.com/nai-project/nai/structs"
)

// verdict is what a gate, or the whole pass, decides for one job.
type verdict uint8

const (
	admit  verdict = iota // the gate lets the job go on
	hold                  // the job waits; the WaitStatus says why
	cancel                // the job can never run: cancel it
	starts                // the job starts in this pass
)

// gateCheck decides one job at one gate. It may count the job (quotas), so
// it runs once per job per pass, in the gates' order.
type gateCheck func(p *pass, it *item) (structs.WaitStatus, verdict)

// gate is one test every pending job passes before the scheduler looks for
// nodes. Each has its own file and table test.
type gate struct {
	name string
	// setup prepares the gate for one pass and reports whether it can
	// hold any job in it; a gate that cannot costs nothing per job. nil
	// means always on.
	setup func(p *pass) bool
	check gateCheck
}

// gates run in this order; the first that holds a job gives its reason,
// so the order decides which reason a user sees when several apply.
// Gates that count jobs (quotas) come after those that hold jobs for
// reasons of their own, so a job held for its begin time uses no quota.
var gates = [...]gate{
	{name: "hold", check: (*pass).holdGate},                                          // gate_hold.go
	{name: "queue", check: (*pass).queueGate},                                        // gate_queue.go
	{name: "request", check: (*pass).requestGate},                                    // gate_queue.go
	{name: "queue limits", check: (*pass).queueLimitGate},                            // gate_queue.go
	{name: "begin time", check: (*pass).beginTimeGate},                               // gate_begin.go
	{name: "dependencies", check: (*pass).dependencyGate},                            // gate_dependency.go
	{name: "singleton", setup: (*pass).setupSingleton, check: (*pass).singletonGate}, // gate_singleton.go
	{name: "quotas", setup: (*pass).setupQuotas, check: (*pass).quotaGate},           // gate_quota.go
	{name: "array limit", setup: (*pass).setupArrayLimit, check: (*pass).arrayGate},  // gate_array.go
	{name: "ready nodes", check: (*pass).readyNodesGate},                             // gate_nodes.go
}

// setupGates prepares every gate for the pass and returns the checks of
// those that can hold a job in it.
func (p *pass) setupGates() []gateCheck {
	checks := make([]gateCheck, 0, len(gates))
	for i := range gates {
		g := &gates[i]
		if g.setup == nil || g.setup(p) {
			checks = append(checks, g.check)
		}
	}
	return checks
}

func (v verdict) String() string {
	switch v {
	case admit:
		return "admit"
	case hold:
		return "hold"
	case cancel:
		return "cancel"
	case starts:
		return "starts"
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}
