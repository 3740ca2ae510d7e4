package state

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// cpuSlack absorbs float rounding when fractional CPUs are summed.
const cpuSlack = 1e-9

// ApplyPlan commits a whole scheduler plan in one transaction, checking
// each part against the newest state and dropping, not refusing, what no
// longer holds:
//
//   - allocations: the job is still pending and on the attempt the
//     allocation names, the node exists and takes work, the GPUs exist,
//     are healthy and free, CPU and memory fit, and exclusivity allows it
//     (no exclusive job on the node; an idle node for an exclusive job).
//     The allocations of a gang job are kept or dropped together.
//   - waiting reasons, on still-pending jobs, only when they changed.
//   - preemptions: the victim is still live and not already stopping, and
//     the job it makes room for still waits. The victim is asked to stop
//     with reason preempted.
//   - cancels: the job is still pending; it ends cancelled with the
//     plan's reason.
//
// It returns the ids of the allocations written.
func (s *Store) ApplyPlan(index uint64, req *structs.PlanApplyRequest) ([]string, error) {
	if req == nil {
		return nil, structs.NewError(structs.CodeInvalid, "apply plan: empty request")
	}
	var applied []string
	err := s.write(func(txn *memdb.Txn) error {
		w := &writer{txn: txn, index: index, now: req.Now}
		p := &planCheck{txn: txn, used: map[string]*nodeUse{}}

		// Group by job in order of first appearance, so a gang is judged whole.
		var order []string
		groups := map[string][]*structs.Allocation{}
		for _, a := range req.Allocs {
			if a == nil {
				continue
			}
			if _, ok := groups[a.JobID]; !ok {
				order = append(order, a.JobID)
			}
			groups[a.JobID] = append(groups[a.JobID], a)
		}
		for _, jobID := range order {
			if svc, err := jobByID(txn, nil, jobID); err != nil {
				return err
			} else if svc != nil && svc.IsService() {
				ids, err := w.placeReplicas(p, svc, groups[jobID])
				if err != nil {
					return err
				}
				applied = append(applied, ids...)
				continue
			}
			ok, job, nodes, err := p.fitGroup(groups[jobID])
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			ids, err := w.placeGroup(job, groups[jobID], nodes)
			if err != nil {
				return err
			}
			applied = append(applied, ids...)
		}
		for _, ws := range req.Waiting {
			if err := w.setWaiting(ws); err != nil {
				return err
			}
		}
		for _, pr := range req.Preempt {
			if err := w.preempt(pr); err != nil {
				return err
			}
		}
		for _, ws := range req.Cancel {
			if err := w.cancelNeverRunnable(ws); err != nil {
				return err
			}
		}
		return w.finish()
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// nodeUse is what the allocations accepted so far in this plan take from a
// node, on top of the live allocations in state.
type nodeUse struct {
	cpu     float64
	mem     int64
	gpus    map[int]bool
	holders int  // live allocations
	excl    bool // one of them is exclusive
	ports   int  // service ports held
}

// take reserves what one allocation of job with gpus holds.
func (u *nodeUse) take(job *structs.Job, gpus []int) {
	u.cpu += job.Resources.CPU
	u.mem += job.Resources.MemoryBytes
	u.holders++
	u.excl = u.excl || job.Resources.Exclusive
	u.ports += job.Resources.Ports
	for _, g := range gpus {
		u.gpus[g] = true
	}
}

type planCheck struct {
	txn  *memdb.Txn
	used map[string]*nodeUse
}

// fitGroup checks every allocation of one job and, when all fit, reserves
// their resources for the rest of the plan.
func (p *planCheck) fitGroup(allocs []*structs.Allocation) (bool, *structs.Job, []*structs.Node, error) {
	job, err := jobByID(p.txn, nil, allocs[0].JobID)
	// A job held since the plan was made does not start.
	if err != nil || job == nil || job.Status != structs.JobPending || job.Hold != nil {
		return false, nil, nil, err
	}
	want := max(job.Resources.Nodes, 1)
	if len(allocs) != want {
		return false, nil, nil, nil // a gang is placed whole or not at all
	}
	// Tentative reservations, merged into p.used only if the whole group fits.
	tent := map[string]*nodeUse{}
	nodes := make([]*structs.Node, len(allocs))
	seenNode := map[string]bool{}
	for i, a := range allocs {
		if a.Attempt != job.Attempt+1 || !allocIDMatches(a) || seenNode[a.NodeID] {
			return false, nil, nil, nil
		}
		seenNode[a.NodeID] = true
		if old, err := allocByID(p.txn, nil, a.ID); err != nil || old != nil {
			return false, nil, nil, err // already placed (a plan applied twice)
		}
		node, err := first[structs.Node](p.txn, nil, tableNodes, "id", a.NodeID)
		if err != nil || node == nil || !node.Schedulable() {
			return false, nil, nil, err
		}
		use, err := p.nodeUse(node.ID)
		if err != nil {
			return false, nil, nil, err
		}
		if !fits(node, use, job, a.GPUs) {
			return false, nil, nil, nil
		}
		t := &nodeUse{cpu: job.Resources.CPU, mem: job.Resources.MemoryBytes, gpus: map[int]bool{}, holders: 1, excl: job.Resources.Exclusive}
		for _, g := range a.GPUs {
			t.gpus[g] = true
		}
		tent[node.ID] = t
		nodes[i] = node
	}
	for id, t := range tent {
		u := p.used[id]
		u.cpu += t.cpu
		u.mem += t.mem
		u.holders += t.holders
		u.excl = u.excl || t.excl
		for g := range t.gpus {
			u.gpus[g] = true
		}
	}
	return true, job, nodes, nil
}

// nodeUse returns what a node's live allocations and this plan's accepted
// ones take, computing it from state the first time.
func (p *planCheck) nodeUse(nodeID string) (*nodeUse, error) {
	if u, ok := p.used[nodeID]; ok {
		return u, nil
	}
	it, err := p.txn.Get(tableAllocs, "node_live", nodeID)
	if err != nil {
		return nil, fmt.Errorf("list the allocations of node %s: %w", nodeID, err)
	}
	u := &nodeUse{gpus: map[int]bool{}}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*structs.Allocation)
		if a.Terminal() {
			continue
		}
		u.cpu += a.Resources.CPU
		u.mem += a.Resources.MemoryBytes
		u.holders++
		u.excl = u.excl || a.Resources.Exclusive
		u.ports += a.Resources.Ports
		for _, g := range a.GPUs {
			u.gpus[g] = true
		}
	}
	p.used[nodeID] = u
	return u, nil
}

// fits checks one allocation of job with the given GPUs against a node.
func fits(node *structs.Node, use *nodeUse, job *structs.Job, gpus []int) bool {
	if len(gpus) != job.Resources.GPU.Count || use.excl || (job.Resources.Exclusive && use.holders > 0) {
		return false
	}
	seen := map[int]bool{}
	for _, g := range gpus {
		if seen[g] || use.gpus[g] {
			return false
		}
		seen[g] = true
		i := slices.IndexFunc(node.GPUs, func(d structs.GPU) bool { return d.Index == g })
		if i < 0 || !node.GPUs[i].Healthy {
			return false
		}
	}
	if use.cpu+job.Resources.CPU > node.CPU+cpuSlack {
		return false
	}
	if job.Resources.Ports > 0 && use.ports+job.Resources.Ports > node.ServicePorts.Count() {
		return false
	}
	return use.mem+job.Resources.MemoryBytes <= node.MemoryBytes
}

// allocIDMatches checks the id scheme "<jobID>.<attempt>" (a gang member may
// add ".<rank>"), which the numeric id index relies on.
func allocIDMatches(a *structs.Allocation) bool {
	prefix := a.JobID + "." + strconv.Itoa(a.Attempt)
	if !validNumericID(a.ID) || len(a.ID) < len(prefix) || a.ID[:len(prefix)] != prefix {
		return false
	}
	return len(a.ID) == len(prefix) || a.ID[len(prefix)] == '.'
}

// placeGroup writes the allocations of one job and marks the job running.
func (w *writer) placeGroup(job *structs.Job, allocs []*structs.Allocation, nodes []*structs.Node) ([]string, error) {
	ids := make([]string, 0, len(allocs))
	for i, in := range allocs {
		a, err := w.writeAlloc(job, in, nodes[i])
		if err != nil {
			return nil, err
		}
		ids = append(ids, a.ID)
	}
	j := job.Copy()
	lead := allocs[0]
	j.Status = structs.JobRunning
	j.NodeID, j.NodeName, j.AllocID = lead.NodeID, nodes[0].Name, lead.ID
	j.GPUs = slices.Clone(lead.GPUs)
	if j.GPUs == nil {
		j.GPUs = []int{}
	}
	j.Attempt = lead.Attempt
	j.StartTime = w.now
	j.Reason = ""
	j.EstimatedStart = time.Time{}
	j.NodeFilters = nil
	if err := w.putJob(j); err != nil {
		return nil, fmt.Errorf("start job %s: %w", job.ID, err)
	}
	return ids, nil
}

// writeAlloc writes one placed allocation of job on node, as the plan
// named it, with what state decides filled in.
func (w *writer) writeAlloc(job *structs.Job, in *structs.Allocation, node *structs.Node) (*structs.Allocation, error) {
	a := in.Copy()
	a.JobName = job.Name
	a.NodeName = node.Name
	a.Resources = job.Resources
	if a.GPUs == nil {
		a.GPUs = []int{}
	}
	a.GPUUUIDs = nil
	for _, g := range a.GPUs {
		for _, d := range node.GPUs {
			if d.Index == g {
				a.GPUUUIDs = append(a.GPUUUIDs, d.UUID)
			}
		}
	}
	a.DesiredStatus = structs.DesiredRun
	a.DesiredReason = ""
	a.ClientStatus = structs.ClientStatusFields{Status: structs.AllocPending}
	a.CreateTime = w.now
	a.CreateIndex = w.index
	if !job.IsService() {
		a.Replica, a.JobVersion = 0, 0
	}
	if err := w.putAlloc(a); err != nil {
		return nil, err
	}
	return a, nil
}

// setWaiting records why a pending job waits, writing only on change so
// that blocking queries stay quiet when a plan says the same thing again.
func (w *writer) setWaiting(ws structs.WaitStatus) error {
	j, err := jobByID(w.txn, nil, ws.JobID)
	// A running service waits too: for the replicas it still lacks.
	if err != nil || j == nil || (j.Status != structs.JobPending && !(j.IsService() && j.Status == structs.JobRunning)) {
		return err
	}
	if j.Hold != nil && j.Status == structs.JobPending {
		return nil // a plan made before the hold keeps the hold's reason
	}
	if j.Reason == ws.Reason && j.EstimatedStart.Equal(ws.EstimatedStart) && slices.Equal(j.NodeFilters, ws.NodeFilters) {
		return nil
	}
	// A shallow copy: stored jobs are read-only, so the new row shares
	// the old one's maps and slices (a sweep's members share them too)
	// and only the fields set here are its own.
	c := *j
	c.Reason = ws.Reason
	c.EstimatedStart = ws.EstimatedStart
	c.NodeFilters = slices.Clone(ws.NodeFilters)
	return w.putJob(&c)
}

// preempt asks a victim allocation to stop so that a higher job can start,
// if the victim still runs and is not already stopping, and the higher job
// still waits.
func (w *writer) preempt(pr structs.Preemption) error {
	a, err := allocByID(w.txn, nil, pr.AllocID)
	if err != nil || a == nil || a.Terminal() || a.DesiredStatus == structs.DesiredStop || a.JobID != pr.JobID {
		return err
	}
	target, err := jobByID(w.txn, nil, pr.ForJobID)
	if err != nil || target == nil || target.Status != structs.JobPending || target.Hold != nil {
		return err
	}
	c := a.Copy()
	c.DesiredStatus = structs.DesiredStop
	c.DesiredReason = structs.ExitPreempted
	return w.putAlloc(c)
}

// cancelNeverRunnable ends a pending job that can never run (a dependency
// that can no longer be met), as a user's cancel would, with the plan's
// reason.
func (w *writer) cancelNeverRunnable(ws structs.WaitStatus) error {
	j, err := jobByID(w.txn, nil, ws.JobID)
	if err != nil || j == nil || j.Status != structs.JobPending {
		return err
	}
	c := j.Copy()
	c.Status = structs.JobCancelled
	c.EndTime = w.now
	c.ExitReason = structs.ExitCancelled
	c.Reason = ws.Reason
	c.EstimatedStart = time.Time{}
	c.NodeFilters = nil
	return w.putJob(c)
}
