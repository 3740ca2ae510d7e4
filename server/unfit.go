package server

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

// Unfit warnings: a job that no registered node could ever run is accepted
// (an operator may add such a node later, as Nomad accepts such a job) and
// waits NoNodeFits; Slurm refuses it at submit ("Requested node
// configuration is not available"). So that no one waits for ever without
// knowing, a submission and an update say, in the answer's warnings, what
// the job asks that no node has and what the largest one has. They are
// made here, from the request's state snapshot, and never in the state
// machine: they are words for the caller, not state.
//
// Every registered node counts, whatever its state: nodes are never
// removed from the state, and a node that is down, unreachable or
// draining may come back; so may a GPU marked unhealthy
// (scheduler.ReachOf). A cluster with no node at all gives no warning:
// nothing has joined yet, so nothing can be said of what will.

// unfitShape is what decides whether any node could hold a job: its
// resources, its queue and its type (a service replica needs a port), as
// Canonicalize leaves them; not its disk, which no node reports, nor
// whether it is exclusive, which only matters while other jobs run.
type unfitShape struct {
	typ   structs.JobType
	res   structs.Resources
	queue string
}

func shapeOfJob(typ structs.JobType, res structs.Resources, queue string) unfitShape {
	c := structs.Job{Type: typ, Resources: res, Queue: queue}
	c.Canonicalize()
	c.Resources.DiskBytes, c.Resources.Exclusive = 0, false
	return unfitShape{c.Type, c.Resources, c.Queue}
}

// unfitGroup is the jobs of one shape, in submission order.
type unfitGroup struct {
	shape unfitShape
	ids   []string
}

// groupShapes groups job ids by shape, in the order each shape first
// appears: one warning per distinct problem, not one per member of a
// sweep.
func groupShapes(n int, shapeAt func(i int) unfitShape, ids []string) []unfitGroup {
	var groups []unfitGroup
	index := map[unfitShape]int{}
	for i := 0; i < n && i < len(ids); i++ {
		sh := shapeAt(i)
		k, ok := index[sh]
		if !ok {
			k = len(groups)
			index[sh] = k
			groups = append(groups, unfitGroup{shape: sh})
		}
		groups[k].ids = append(groups[k].ids, ids[i])
	}
	return groups
}

// submitUnfitWarnings warns of the jobs of a submission (jobs, or the
// sweep spec they came from) that no node could ever run; ids are the ids
// the registration gave them, arrayID the sweep's.
func submitUnfitWarnings(snap *state.Snapshot, jobs []*structs.Job, spec *structs.SweepSpec, ids []string, arrayID string) []string {
	if spec != nil && spec.Template != nil {
		t := spec.Template
		base := shapeOfJob(t.Type, t.Resources, t.Queue)
		shapeAt := func(i int) unfitShape {
			m := &spec.Members[i]
			if len(m.Changed) == 0 || m.Changes == nil {
				return base
			}
			typ, res, queue := t.Type, t.Resources, t.Queue
			changed := false
			for _, name := range m.Changed {
				switch name {
				case "type":
					typ, changed = m.Changes.Type, true
				case "resources":
					res, changed = m.Changes.Resources, true
				case "queue":
					queue, changed = m.Changes.Queue, true
				}
			}
			if !changed {
				return base
			}
			return shapeOfJob(typ, res, queue)
		}
		return unfitWarnings(snap, groupShapes(len(spec.Members), shapeAt, ids), len(ids), arrayID)
	}
	shapeAt := func(i int) unfitShape { return shapeOfJob(jobs[i].Type, jobs[i].Resources, jobs[i].Queue) }
	return unfitWarnings(snap, groupShapes(len(jobs), shapeAt, ids), len(ids), arrayID)
}

// unfitWarnings says, for each group, every way in which no node of its
// queue could ever hold one node's share of its jobs. total is how many
// jobs the request named; arrayID the array they make, if they do.
func unfitWarnings(snap *state.Snapshot, groups []unfitGroup, total int, arrayID string) []string {
	if len(groups) == 0 {
		return nil
	}
	nodes, err := snap.Nodes(nil)
	if err != nil || len(nodes) == 0 {
		// A warning is advice: a snapshot that cannot be read gives none
		// rather than failing a request that succeeded.
		return nil
	}
	var out []string
	for _, g := range groups {
		q, err := snap.QueueByName(nil, g.shape.queue)
		if err != nil {
			return out
		}
		who, many := unfitSubject(g.ids, total, arrayID)
		out = append(out, unfitWords(who, many, g.shape, q, nodes)...)
	}
	return out
}

// unfitSubject names the jobs of a group as the subject of a sentence;
// many says the verb is plural.
func unfitSubject(ids []string, total int, arrayID string) (who string, many bool) {
	switch {
	case len(ids) == 1:
		return "job " + ids[0], false
	case arrayID != "" && len(ids) == total:
		return "every job of array " + arrayID + " (" + strconv.Itoa(total) + " jobs)", false
	case len(ids) <= 3:
		return "jobs " + strings.Join(ids[:len(ids)-1], ", ") + " and " + ids[len(ids)-1], true
	}
	return fmt.Sprintf("jobs %s, %s and %d more", ids[0], ids[1], len(ids)-2), true
}

// unfitWords are the warnings for jobs of shape sh in queue q (nil: the
// default queue, every node), who naming them (many: a plural subject).
func unfitWords(who string, many bool, sh unfitShape, q *structs.Queue, nodes []*structs.Node) []string {
	asks, is, waitsFor, its := who+" asks", who+" is", ": it waits until ", "its"
	if many {
		asks, is, waitsFor, its = who+" ask", who+" are", ": they wait until ", "their"
	}
	j := &structs.Job{Type: sh.typ, Resources: sh.res, Queue: sh.queue}
	r := scheduler.ReachOf(j, q, nodes)
	const lists = " (nai node status lists the nodes)"
	waits := func(what string) string { return waitsFor + what + " joins" + lists }
	if r.Nodes == 0 {
		// Only a queue that names its nodes can have none of them.
		return []string{fmt.Sprintf("%s in queue %s, whose nodes (%s) are none of the registered nodes%s",
			is, q.Name, strings.Join(q.Nodes, ", "), waits("one of them"))}
	}
	var out []string
	gpu := sh.res.GPU
	switch {
	case gpu.Count > r.GPUs:
		// The words of the warning the state machine gave before.
		out = append(out, fmt.Sprintf("%s for %d GPUs per node, but the largest node has %d%s",
			asks, gpu.Count, r.GPUs, waits("a node with "+strconv.Itoa(gpu.Count)+" GPUs")))
	case gpu.Model != "" && r.ModelGPUs == 0:
		out = append(out, fmt.Sprintf("%s for %s GPUs, but no node has one (the nodes have %s)%s",
			asks, gpu.Model, gpuModels(r.Models), waits("a node with "+gpu.Model+" GPUs")))
	case gpu.Model != "" && r.ModelGPUs < gpu.Count:
		out = append(out, fmt.Sprintf("%s for %s per node, but the most any node has is %d%s",
			asks, gpuAsk(gpu), r.ModelGPUs, waits("a node with "+strconv.Itoa(gpu.Count)+" of them")))
	case r.MatchingGPUs < gpu.Count:
		most := fmt.Sprintf("the most any node has is %d", r.MatchingGPUs)
		if r.MatchingGPUs == 0 {
			most = "no node has one"
		}
		out = append(out, fmt.Sprintf("%s for %s of memory each per node, but %s (the largest such GPU has %s)%s",
			asks, gpuAsk(gpu), most, structs.FormatSize(r.GPUMemoryBytes), waits("a node with "+strconv.Itoa(gpu.Count)+" such GPUs")))
	}
	if scheduler.CPUShort(r.CPU, sh.res.CPU) {
		out = append(out, fmt.Sprintf("%s for %s per node, but the largest node has %s%s",
			asks, cores(sh.res.CPU), strconv.FormatFloat(r.CPU, 'f', -1, 64), waits("a node with that many")))
	}
	if r.MemoryBytes < sh.res.MemoryBytes {
		out = append(out, fmt.Sprintf("%s for %s of memory per node, but the largest node has %s%s",
			asks, structs.FormatSize(sh.res.MemoryBytes), structs.FormatSize(r.MemoryBytes), waits("a node that large")))
	}
	if r.Ports < sh.res.Ports {
		out = append(out, fmt.Sprintf("%s a service, whose replicas each need a service port, but no node offers any (client { service_ports })%s",
			is, waits("a node that offers them")))
	}
	switch nodesAsked := max(sh.res.Nodes, 1); {
	case len(out) > 0:
	case r.Fit == 0:
		out = append(out, fmt.Sprintf("%s for %s, %s and %s of memory on one node: some node has each, but none has them all%s",
			asks, gpuAsk(gpu), cores(sh.res.CPU), structs.FormatSize(sh.res.MemoryBytes), waits("a node with all of them")))
	case r.Fit < nodesAsked:
		more := strconv.Itoa(nodesAsked-r.Fit) + " more such nodes join"
		if nodesAsked-r.Fit == 1 {
			more = "1 more such node joins"
		}
		could := fmt.Sprintf("only %d could", r.Fit)
		if r.Fit == 1 {
			could = "only 1 node could"
		}
		out = append(out, fmt.Sprintf("%s for %d nodes, but %s hold one of %s ranks (%s, %s and %s of memory each)%s",
			asks, nodesAsked, could, its, gpuAsk(gpu), cores(sh.res.CPU), structs.FormatSize(sh.res.MemoryBytes),
			waitsFor+more+lists))
	}
	return out
}

// cores is "1 CPU core", "0.5 CPU cores", "64 CPU cores".
func cores(v float64) string {
	if v == 1 {
		return "1 CPU core"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " CPU cores"
}

// gpuAsk is a GPU request in words: "no GPU", "4 GPUs", "2 H100 GPUs
// with at least 80GiB".
func gpuAsk(g structs.GPURequest) string {
	if g.Count == 0 {
		return "no GPU"
	}
	s := strconv.Itoa(g.Count) + " "
	if g.Model != "" {
		s += g.Model + " "
	}
	s += "GPU"
	if g.Count != 1 {
		s += "s"
	}
	if g.MemoryBytes > 0 {
		s += " with at least " + structs.FormatSize(g.MemoryBytes)
	}
	return s
}

// gpuModels lists the GPU models of the queue's nodes, for a job that
// asks for one none of them has: "NVIDIA H100 80GB HBM3" (2 nodes)", or
// "no GPUs".
func gpuModels(models map[string]int) string {
	if len(models) == 0 {
		return "no GPUs"
	}
	names := slices.Sorted(maps.Keys(models))
	parts := make([]string, len(names))
	for i, m := range names {
		parts[i] = strconv.Quote(m) + " (" + strconv.Itoa(models[m]) + " node"
		if models[m] != 1 {
			parts[i] += "s"
		}
		parts[i] += ")"
	}
	return strings.Join(parts, ", ")
}
