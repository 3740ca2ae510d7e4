package structs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// WaitCode classifies why a pending job does not start now.
type WaitCode string

const (
	WaitResources  WaitCode = "Resources"     // fits a node, but not a free one now
	WaitPriority   WaitCode = "Priority"      // a higher-priority job holds the resources it would use
	WaitNoNodeFits WaitCode = "NoNodeFits"    // no node could ever run it as asked
	WaitQueueLimit WaitCode = "QueueLimit"    // it breaks a limit of its queue
	WaitDependency WaitCode = "Dependency"    // a job it depends on has not ended as required
	WaitBeginTime  WaitCode = "BeginTime"     // its begin time is in the future
	WaitQuota      WaitCode = "QuotaExceeded" // its user or group is at a limit
	WaitParallel   WaitCode = "ArrayLimit"    // its sweep is at max_parallel
	WaitNoNodes    WaitCode = "NoNodes"       // the cluster has no ready node
	WaitHeldUser   WaitCode = "JobHeldUser"   // held by its owner (nai job hold)
	WaitHeldAdmin  WaitCode = "JobHeldAdmin"  // held by an operator: only an operator releases it
)

// WaitStatus is why one pending job waits, in words a user understands.
//
// Reason is always built by one of the Wait* constructors below from the
// code and typed details, so the code and the words never disagree: it is
// the code, a colon, and what only this case adds, e.g.
// "NoNodeFits: needs 8 x H100, largest node has 4 such GPUs (4 GPUs in all)".
type WaitStatus struct {
	JobID          string    `json:"job_id"`
	Code           WaitCode  `json:"code"`
	Reason         string    `json:"reason"`
	EstimatedStart time.Time `json:"estimated_start,omitzero"`
	// NodeFilters counts, for a job no node can take (NoNodeFits,
	// Resources, NoNodes), the nodes ruled out by each test, most first.
	NodeFilters []NodeFilterCount `json:"node_filters,omitempty"`
}

// newWait builds the reason from the code; the only place that does.
func newWait(code WaitCode, format string, args ...any) WaitStatus {
	return WaitStatus{Code: code, Reason: string(code) + ": " + fmt.Sprintf(format, args...)}
}

// WaitUnknownQueue: the job names a queue that does not exist.
func WaitUnknownQueue(queue string) WaitStatus {
	return newWait(WaitNoNodeFits, "queue %q does not exist", queue)
}

// WaitInvalidRequest: the job's resources are invalid (the server
// validates at submit; the scheduler never trusts it to have).
func WaitInvalidRequest(err error) WaitStatus {
	return newWait(WaitNoNodeFits, "invalid request: %v", err)
}

// WaitQueueNoNode: no schedulable node belongs to the job's queue; the
// filters say what the queue's nodes are doing instead.
func WaitQueueNoNode(queue string, filters []NodeFilterCount) WaitStatus {
	ws := newWait(WaitNoNodeFits, "queue %q has no ready node%s", queue, unreadyNote(filters))
	ws.NodeFilters = filters
	return ws
}

// WaitTooFewGPUs: no node of the queue has count GPUs that match the
// request; largestMatch is the most matching GPUs on one node, largest the
// most healthy GPUs on one node.
func WaitTooFewGPUs(req GPURequest, largestMatch, largest int) WaitStatus {
	if req.Model != "" || req.MemoryBytes > 0 {
		return newWait(WaitNoNodeFits, "needs %s, largest node has %s (%s in all)", gpuWords(req), plural(largestMatch, "such GPU"), plural(largest, "GPU"))
	}
	return newWait(WaitNoNodeFits, "needs %s, largest node has %d", gpuWords(req), largest)
}

// WaitTooFewCPUs: no node of the queue has need cores.
func WaitTooFewCPUs(need, largest float64) WaitStatus {
	return newWait(WaitNoNodeFits, "needs %s, largest node has %s", cpuWords(need), formatCPU(largest))
}

// WaitTooLittleMemory: no node of the queue has need bytes of memory.
func WaitTooLittleMemory(need, largest int64) WaitStatus {
	return newWait(WaitNoNodeFits, "needs %s of memory, largest node has %s", FormatSize(need), FormatSize(largest))
}

// WaitNoNodeHasAll: some node has enough GPUs, some enough cores, some
// enough memory, but none has all of them.
func WaitNoNodeHasAll(req GPURequest, cpu float64, mem int64) WaitStatus {
	return newWait(WaitNoNodeFits, "no node has %s, %s and %s together", gpuWords(req), cpuWords(cpu), FormatSize(mem))
}

// WaitTooFewNodes: a gang needs nodes nodes that fit, only have do.
func WaitTooFewNodes(nodes int, req GPURequest, have int) WaitStatus {
	return newWait(WaitNoNodeFits, "needs %s with %s each, %s that", plural(nodes, "node"), gpuWords(req), haveWords(have, "ready node"))
}

// WaitQueueTimeLimit: the job's time limit is over its queue's maximum.
func WaitQueueTimeLimit(queue string, limit, max Duration) WaitStatus {
	return newWait(WaitQueueLimit, "time limit %s exceeds queue %s's maximum of %s", limit, queue, max)
}

// WaitQueueGPULimit: the job asks for more GPUs than its queue allows one
// job.
func WaitQueueGPULimit(queue string, need, max int) WaitStatus {
	return newWait(WaitQueueLimit, "needs %s, queue %s allows %d per job", plural(need, "GPU"), queue, max)
}

// WaitQueueGroup: the job's group may not use its queue.
func WaitQueueGroup(queue, group string) WaitStatus {
	return newWait(WaitQueueLimit, "group %q may not use queue %s", group, queue)
}

// WaitHeld: the job is held (h not nil) until someone releases it.
func WaitHeld(h *JobHold) WaitStatus {
	code, how := WaitHeldUser, "nai job release"
	if h.Admin {
		code, how = WaitHeldAdmin, "an operator's nai job release"
	}
	if h.By == "" {
		return newWait(code, "held until %s", how)
	}
	return newWait(code, "held by %s until %s", h.By, how)
}

// WaitBeginAt: the job may not start before t; t is also its estimated
// start.
func WaitBeginAt(t time.Time) WaitStatus {
	ws := newWait(WaitBeginTime, "starts no earlier than %s", t.UTC().Format(time.RFC3339))
	ws.EstimatedStart = t
	return ws
}

// WaitDependsOn: the job waits for job id to end (typ says how it must).
func WaitDependsOn(id string, typ DependencyType) WaitStatus {
	return newWait(WaitDependency, "waiting for job %s to end (%s)", id, typ)
}

// WaitDependsOnArray: the job waits for left of the n members of job
// array id to end (typ says how they must).
func WaitDependsOnArray(id string, left, n int, typ DependencyType) WaitStatus {
	return newWait(WaitDependency, "waiting for job array %s to end (%s): %d of its %d jobs left", id, typ, left, n)
}

// WaitSingleton: a singleton job waits for job id, of the same name and
// user, which runs or was submitted before it.
func WaitSingleton(id, name, user string) WaitStatus {
	return newWait(WaitDependency, "singleton: waiting for job %s (same name %q and user %s) to end", id, name, user)
}

// neverSatisfied is the reason, and the job's Reason once cancelled, of a
// job whose dependency can never be met: the code run together with what
// happened, as users of Slurm know it.
const neverSatisfied = string(WaitDependency) + "NeverSatisfied"

// WaitDependencyNeverSatisfied: a dependency can no longer be met (the job
// it names failed, completed, or does not exist); the job is cancelled.
func WaitDependencyNeverSatisfied() WaitStatus {
	return WaitStatus{Code: WaitDependency, Reason: neverSatisfied}
}

// WaitQuotaPending: the account already has max pending jobs considered
// in this pass.
func WaitQuotaPending(kind AccountKind, name string, max int) WaitStatus {
	return newWait(WaitQuota, "%s %s may have %s considered at once", kind, name, plural(max, "pending job"))
}

// WaitQuotaGPUs: the account uses used of max GPUs and the job needs need
// more.
func WaitQuotaGPUs(kind AccountKind, name string, used, max, need int) WaitStatus {
	return newWait(WaitQuota, "%s %s uses %d of %s, this job needs %d", kind, name, used, plural(max, "GPU"), need)
}

// WaitArrayLimit: the job's sweep already runs max_parallel members.
func WaitArrayLimit(arrayID string, running, max int) WaitStatus {
	return newWait(WaitParallel, "sweep %s already runs %s (max_parallel %d)", arrayID, plural(running, "job"), max)
}

// WaitNoReadyNode: no node of the cluster takes work; the filters say what
// the nodes are doing instead.
func WaitNoReadyNode(filters []NodeFilterCount) WaitStatus {
	ws := newWait(WaitNoNodes, "the cluster has no ready node%s", unreadyNote(filters))
	ws.NodeFilters = filters
	return ws
}

// WaitBehind: a higher-priority job that cannot start holds the resources
// this one would use.
func WaitBehind(id string) WaitStatus {
	return newWait(WaitPriority, "waiting behind higher-priority job %s", id)
}

// WaitGangResources: a gang needs nodes nodes with room now; fitting have
// it.
func WaitGangResources(nodes int, req GPURequest, fitting int) WaitStatus {
	return newWait(WaitResources, "needs %s with %s free, %s them now", plural(nodes, "node"), gpuWords(req), haveWords(fitting, ""))
}

// WaitFreeGPUs: the node with most matching free GPUs has free of them.
func WaitFreeGPUs(req GPURequest, free int) WaitStatus {
	return newWait(WaitResources, "needs %s, %d free on the best node", gpuWords(req), free)
}

// WaitFreeCPUs: the node with most free GPUs has free cores.
func WaitFreeCPUs(need, free float64) WaitStatus {
	return newWait(WaitResources, "needs %s, %s free on the node with most free GPUs", cpuWords(need), formatCPU(free))
}

// WaitFreeMemory: the node with most free GPUs has free bytes of memory.
func WaitFreeMemory(need, free int64) WaitStatus {
	return newWait(WaitResources, "needs %s of memory, %s free on the node with most free GPUs", FormatSize(need), FormatSize(free))
}

// WaitNoNodeHasAllFree: nodes have enough free GPUs, cores or memory, but
// none all of them at once.
func WaitNoNodeHasAllFree(req GPURequest, cpu float64, mem int64) WaitStatus {
	return newWait(WaitResources, "no node has %s, %s and %s free together", gpuWords(req), cpuWords(cpu), FormatSize(mem))
}

// WaitNoServicePorts: no node of the queue offers service ports, and a
// service replica needs one.
func WaitNoServicePorts() WaitStatus {
	return newWait(WaitNoNodeFits, "a service replica needs a service port, and no node offers any (client { service_ports })")
}

// WaitFreePorts: the nodes that have room for a service replica have
// every one of their service ports taken.
func WaitFreePorts(nodes int) WaitStatus {
	return newWait(WaitResources, "needs a free service port: every port of client service_ports is taken on %s that fit it", plural(nodes, "node"))
}

// WaitNoIdleNode: an exclusive job needs a node to itself and none of the
// nodes that could hold it is idle.
func WaitNoIdleNode(nodes int) WaitStatus {
	if nodes == 1 {
		return newWait(WaitResources, "needs a node to itself (exclusive), and the one node that fits it is not idle")
	}
	return newWait(WaitResources, "needs a node to itself (exclusive), none of the %d nodes that fit it is idle", nodes)
}

// WaitExclusiveHeld: every node that could hold the job runs an exclusive
// job.
func WaitExclusiveHeld() WaitStatus {
	return newWait(WaitResources, "every node that fits it runs an exclusive job")
}

// WaitPreemptionStopping: jobs preempted for this one on node are still
// stopping.
func WaitPreemptionStopping(node string) WaitStatus {
	return newWait(WaitResources, "waiting for preempted jobs on %s to stop", node)
}

// WaitPreempting: n running jobs on node are preempted for this one. The
// GPU-time lost is left out: it grows every second, and a reason that
// changed every pass would be written to raft every pass.
func WaitPreempting(n int, node string) WaitStatus {
	return newWait(WaitResources, "preempting %s on %s", plural(n, "job"), node)
}

// gpuWords says what a request asks for per node: "8 x H100", "1 GPU",
// "2 GPUs with 40GiB".
func gpuWords(r GPURequest) string {
	s := strconv.Itoa(r.Count)
	switch {
	case r.Model != "" && r.MemoryBytes > 0:
		s += " x " + r.Model + " with " + FormatSize(r.MemoryBytes)
	case r.Model != "":
		s += " x " + r.Model
	case r.MemoryBytes > 0:
		s += " GPUs with " + FormatSize(r.MemoryBytes)
	case r.Count == 1:
		s += " GPU"
	default:
		s += " GPUs"
	}
	return s
}

// formatCPU writes cores as a short decimal, to a thousandth at most:
// "2", "0.5", "0.4" (free cores are sums and differences of floats, and
// 0.3999999999999999 said nothing more).
func formatCPU(v float64) string {
	r := math.Round(v*1000) / 1000
	if r == 0 {
		r = 0 // not "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// cpuWords is "1 CPU", "2 CPUs", "0.5 CPUs".
func cpuWords(v float64) string {
	if v == 1 {
		return "1 CPU"
	}
	return formatCPU(v) + " CPUs"
}

// haveWords is "1 ready node has", "2 ready nodes have", "0 ready nodes
// have"; with what empty, "1 has", "2 have".
func haveWords(n int, what string) string {
	switch {
	case what == "" && n == 1:
		return "1 has"
	case what == "":
		return strconv.Itoa(n) + " have"
	case n == 1:
		return "1 " + what + " has"
	}
	return plural(n, what) + " have"
}

// plural is "1 node", "3 nodes".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// unreadyNote says why nodes that would otherwise count take no work, as
// " (1 draining, 2 down)", so a job waiting on an empty cluster tells the
// user that an operator drained it rather than that it has no nodes; ""
// when the filters name no such node.
func unreadyNote(filters []NodeFilterCount) string {
	var parts []string
	for _, f := range []NodeFilter{FilterDraining, FilterIneligible, FilterUnreachable, FilterDown} {
		for _, c := range filters {
			if c.Filter == f && c.Nodes > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c.Nodes, f))
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
