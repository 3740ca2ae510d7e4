package structs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Every reason a user sees, built from its code and typed details.
func TestWaitReasons(t *testing.T) {
	h100 := GPURequest{Count: 8, Model: "H100"}
	filters := []NodeFilterCount{{FilterDraining, 2}, {FilterDown, 1}}
	begin := time.Date(2026, 11, 25, 13, 0, 0, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		name string
		ws   WaitStatus
		code WaitCode
		want string
	}{
		{"unknown queue", WaitUnknownQueue("nope"), WaitNoNodeFits, `NoNodeFits: queue "nope" does not exist`},
		{"invalid request", WaitInvalidRequest(errors.New("gpu count must be >= 0")), WaitNoNodeFits, "NoNodeFits: invalid request: gpu count must be >= 0"},
		{"queue without a ready node", WaitQueueNoNode("gpu", filters), WaitNoNodeFits, `NoNodeFits: queue "gpu" has no ready node (2 draining, 1 down)`},
		{"queue with no node at all", WaitQueueNoNode("gpu", nil), WaitNoNodeFits, `NoNodeFits: queue "gpu" has no ready node`},
		{"too few GPUs", WaitTooFewGPUs(GPURequest{Count: 8}, 4, 4), WaitNoNodeFits, "NoNodeFits: needs 8 GPUs, largest node has 4"},
		{"too few GPUs of a model", WaitTooFewGPUs(h100, 4, 8), WaitNoNodeFits, "NoNodeFits: needs 8 x H100, largest node has 4 such GPUs (8 GPUs in all)"},
		{"too few GPUs with memory", WaitTooFewGPUs(GPURequest{Count: 2, MemoryBytes: 40 << 30}, 1, 8), WaitNoNodeFits, "NoNodeFits: needs 2 GPUs with 40GiB, largest node has 1 such GPU (8 GPUs in all)"},
		{"too few CPUs", WaitTooFewCPUs(4, 2), WaitNoNodeFits, "NoNodeFits: needs 4 CPUs, largest node has 2"},
		{"too little memory", WaitTooLittleMemory(16<<30, 8<<30), WaitNoNodeFits, "NoNodeFits: needs 16GiB of memory, largest node has 8GiB"},
		{"no node has all", WaitNoNodeHasAll(GPURequest{Count: 1}, 0.5, 1<<30), WaitNoNodeFits, "NoNodeFits: no node has 1 GPU, 0.5 CPUs and 1GiB together"},
		{"too few nodes", WaitTooFewNodes(3, GPURequest{Count: 8}, 2), WaitNoNodeFits, "NoNodeFits: needs 3 nodes with 8 GPUs each, 2 ready nodes have that"},
		{"queue time limit", WaitQueueTimeLimit("default", Duration(2*time.Hour), Duration(time.Hour)), WaitQueueLimit, "QueueLimit: time limit 2h0m0s exceeds queue default's maximum of 1h0m0s"},
		{"queue GPUs per job", WaitQueueGPULimit("default", 4, 2), WaitQueueLimit, "QueueLimit: needs 4 GPUs, queue default allows 2 per job"},
		{"queue groups", WaitQueueGroup("default", "web"), WaitQueueLimit, `QueueLimit: group "web" may not use queue default`},
		{"begin time", WaitBeginAt(begin), WaitBeginTime, "BeginTime: starts no earlier than 2026-11-25T12:00:00Z"},
		{"depends on", WaitDependsOn("7", AfterAny), WaitDependency, "Dependency: waiting for job 7 to end (afterany)"},
		{"singleton", WaitSingleton("7", "train", "alice"), WaitDependency, `Dependency: singleton: waiting for job 7 (same name "train" and user alice) to end`},
		{"never satisfied", WaitDependencyNeverSatisfied(), WaitDependency, "DependencyNeverSatisfied"},
		{"pending quota", WaitQuotaPending(AccountUser, "alice", 1), WaitQuota, "QuotaExceeded: user alice may have 1 pending job considered at once"},
		{"pending quota of two", WaitQuotaPending(AccountUser, "alice", 2), WaitQuota, "QuotaExceeded: user alice may have 2 pending jobs considered at once"},
		{"GPU quota", WaitQuotaGPUs(AccountGroup, "ml", 2, 2, 1), WaitQuota, "QuotaExceeded: group ml uses 2 of 2 GPUs, this job needs 1"},
		{"array limit", WaitArrayLimit("s", 2, 2), WaitParallel, "ArrayLimit: sweep s already runs 2 jobs (max_parallel 2)"},
		{"user hold", WaitHeld(&JobHold{By: "alice"}), WaitHeldUser, "JobHeldUser: held by alice until nai job release"},
		{"admin hold", WaitHeld(&JobHold{By: "ops", Admin: true}), WaitHeldAdmin, "JobHeldAdmin: held by ops until an operator's nai job release"},
		{"no ready node", WaitNoReadyNode([]NodeFilterCount{{FilterIneligible, 1}, {FilterDraining, 2}}), WaitNoNodes, "NoNodes: the cluster has no ready node (2 draining, 1 ineligible)"},
		{"behind", WaitBehind("2"), WaitPriority, "Priority: waiting behind higher-priority job 2"},
		{"gang", WaitGangResources(3, GPURequest{Count: 8}, 2), WaitResources, "Resources: needs 3 nodes with 8 GPUs free, 2 have them now"},
		{"free GPUs", WaitFreeGPUs(GPURequest{Count: 2}, 0), WaitResources, "Resources: needs 2 GPUs, 0 free on the best node"},
		{"free CPUs", WaitFreeCPUs(4, 1.5), WaitResources, "Resources: needs 4 CPUs, 1.5 free on the node with most free GPUs"},
		{"free memory", WaitFreeMemory(16<<30, 4<<30), WaitResources, "Resources: needs 16GiB of memory, 4GiB free on the node with most free GPUs"},
		{"nothing free together", WaitNoNodeHasAllFree(GPURequest{Count: 1}, 2, 1<<30), WaitResources, "Resources: no node has 1 GPU, 2 CPUs and 1GiB free together"},
		{"no idle node", WaitNoIdleNode(3), WaitResources, "Resources: needs a node to itself (exclusive), none of the 3 nodes that fit it is idle"},
		{"the one node is not idle", WaitNoIdleNode(1), WaitResources, "Resources: needs a node to itself (exclusive), and the one node that fits it is not idle"},
		{"exclusive held", WaitExclusiveHeld(), WaitResources, "Resources: every node that fits it runs an exclusive job"},
		{"preemption stopping", WaitPreemptionStopping("n1"), WaitResources, "Resources: waiting for preempted jobs on n1 to stop"},
		{"preempting", WaitPreempting(2, "n1"), WaitResources, "Resources: preempting 2 jobs on n1"},
		// One of a thing is singular.
		{"one CPU", WaitTooFewCPUs(1, 0.5), WaitNoNodeFits, "NoNodeFits: needs 1 CPU, largest node has 0.5"},
		{"one free CPU", WaitFreeCPUs(1, 0), WaitResources, "Resources: needs 1 CPU, 0 free on the node with most free GPUs"},
		{"half a CPU", WaitFreeCPUs(0.5, 0), WaitResources, "Resources: needs 0.5 CPUs, 0 free on the node with most free GPUs"},
		// Free cores are float sums and differences: 2 - 1.6 is 0.3999999999999999.
		{"free CPUs of float arithmetic", WaitFreeCPUs(1, 2-1.6), WaitResources, "Resources: needs 1 CPU, 0.4 free on the node with most free GPUs"},
		{"a drifted need", WaitFreeCPUs(0.1+0.2, 1e-17), WaitResources, "Resources: needs 0.3 CPUs, 0 free on the node with most free GPUs"},
		{"one CPU together", WaitNoNodeHasAll(GPURequest{Count: 2}, 1, 1<<30), WaitNoNodeFits, "NoNodeFits: no node has 2 GPUs, 1 CPU and 1GiB together"},
		{"one CPU free together", WaitNoNodeHasAllFree(GPURequest{Count: 2}, 1, 1<<30), WaitResources, "Resources: no node has 2 GPUs, 1 CPU and 1GiB free together"},
		{"one ready node", WaitTooFewNodes(2, GPURequest{Count: 1}, 1), WaitNoNodeFits, "NoNodeFits: needs 2 nodes with 1 GPU each, 1 ready node has that"},
		{"no ready node fits", WaitTooFewNodes(2, GPURequest{Count: 8}, 0), WaitNoNodeFits, "NoNodeFits: needs 2 nodes with 8 GPUs each, 0 ready nodes have that"},
		{"one such GPU of four", WaitTooFewGPUs(h100, 1, 1), WaitNoNodeFits, "NoNodeFits: needs 8 x H100, largest node has 1 such GPU (1 GPU in all)"},
		{"queue one GPU", WaitQueueGPULimit("default", 1, 0), WaitQueueLimit, "QueueLimit: needs 1 GPU, queue default allows 0 per job"},
		{"GPU quota of one", WaitQuotaGPUs(AccountUser, "bob", 1, 1, 1), WaitQuota, "QuotaExceeded: user bob uses 1 of 1 GPU, this job needs 1"},
		{"array limit of one", WaitArrayLimit("s", 1, 1), WaitParallel, "ArrayLimit: sweep s already runs 1 job (max_parallel 1)"},
		{"gang, one fits now", WaitGangResources(2, GPURequest{Count: 8}, 1), WaitResources, "Resources: needs 2 nodes with 8 GPUs free, 1 has them now"},
		{"preempting one", WaitPreempting(1, "n1"), WaitResources, "Resources: preempting 1 job on n1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ws.Code != tc.code || tc.ws.Reason != tc.want {
				t.Errorf("got %s %q, want %s %q", tc.ws.Code, tc.ws.Reason, tc.code, tc.want)
			}
			// The words begin with the code, always.
			if !strings.HasPrefix(tc.ws.Reason, string(tc.ws.Code)) {
				t.Errorf("reason %q does not begin with its code %s", tc.ws.Reason, tc.ws.Code)
			}
		})
	}
	if ws := WaitBeginAt(begin); !ws.EstimatedStart.Equal(begin) {
		t.Errorf("begin time wait estimates %v, want %v", ws.EstimatedStart, begin)
	}
	if ws := WaitNoReadyNode(filters); len(ws.NodeFilters) != 2 {
		t.Errorf("no ready node wait lost its filters: %+v", ws)
	}
}

func TestFormatNodeFilters(t *testing.T) {
	cases := []struct {
		name string
		in   []NodeFilterCount
		want string
	}{
		{"none", nil, ""},
		{"one node", []NodeFilterCount{{FilterDraining, 1}}, "1 node: draining"},
		{"several, in the order given", []NodeFilterCount{{FilterFreeGPUs, 6}, {FilterDraining, 2}}, "6 nodes: not enough free GPUs; 2 nodes: draining"},
		{"zero counts are left out", []NodeFilterCount{{FilterQueue, 0}, {FilterExclusive, 3}}, "3 nodes: running an exclusive job"},
		{"an unknown filter shows its name", []NodeFilterCount{{NodeFilter("future"), 2}}, "2 nodes: future"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatNodeFilters(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
