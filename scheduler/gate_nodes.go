package scheduler

import "github.com/nai-project/nai/structs"

// readyNodesGate holds every job while no node of the cluster takes work,
// saying what the nodes do instead (draining, down, ...).
func (p *pass) readyNodesGate(it *item) (structs.WaitStatus, verdict) {
	if p.c.ready > 0 {
		return structs.WaitStatus{}, admit
	}
	if p.noNodes == nil {
		ws := structs.WaitNoReadyNode(p.c.unready.list())
		p.noNodes = &ws
	}
	return *p.noNodes, hold
}
