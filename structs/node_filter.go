package structs

import (
	"fmt"
	"strings"
)

// NodeFilter names a test a node failed when the scheduler looked for
// room for a job. A node that fails several counts under the first the
// scheduler applies: the queue, then the node's own state, then what the
// job asks of an idle node, then what is free now.
type NodeFilter string

const (
	FilterQueue       NodeFilter = "queue"       // not in the job's queue
	FilterDown        NodeFilter = "down"        // not ready (lost, or never seen)
	FilterUnreachable NodeFilter = "unreachable" // ready, but serf declared it failed: down after the grace
	FilterDraining    NodeFilter = "draining"    // drained by an operator
	FilterIneligible  NodeFilter = "ineligible"  // marked ineligible by an operator
	FilterGPUs        NodeFilter = "gpus"        // fewer healthy GPUs than asked
	FilterGPUModel    NodeFilter = "gpu_model"   // too few GPUs of the model asked
	FilterGPUMemory   NodeFilter = "gpu_memory"  // too few GPUs with the memory asked
	FilterCPU         NodeFilter = "cpu"         // fewer cores than asked
	FilterMemory      NodeFilter = "memory"      // less memory than asked
	FilterPorts       NodeFilter = "ports"       // offers no service ports (a service replica needs one)
	FilterExclusive   NodeFilter = "exclusive"   // runs an exclusive job
	FilterBusy        NodeFilter = "busy"        // the job is exclusive and the node runs others
	FilterFreeGPUs    NodeFilter = "free_gpus"   // not enough free GPUs now
	FilterFreeCPU     NodeFilter = "free_cpu"    // not enough free cores now
	FilterFreeMemory  NodeFilter = "free_memory" // not enough free memory now
	FilterFreePorts   NodeFilter = "free_ports"  // every service port is taken now
)

var nodeFilterWords = map[NodeFilter]string{
	FilterQueue:       "not in the job's queue",
	FilterDown:        "down",
	FilterUnreachable: "unreachable",
	FilterDraining:    "draining",
	FilterIneligible:  "ineligible",
	FilterGPUs:        "too few GPUs",
	FilterGPUModel:    "too few GPUs of the model asked",
	FilterGPUMemory:   "too few GPUs with the memory asked",
	FilterCPU:         "too few CPUs",
	FilterMemory:      "too little memory",
	FilterPorts:       "no service ports (client service_ports)",
	FilterExclusive:   "running an exclusive job",
	FilterBusy:        "not idle (the job is exclusive)",
	FilterFreeGPUs:    "not enough free GPUs",
	FilterFreeCPU:     "not enough free CPUs",
	FilterFreeMemory:  "not enough free memory",
	FilterFreePorts:   "every service port taken",
}

// Words says what the filter means to a user ("not enough free GPUs").
func (f NodeFilter) Words() string {
	if w, ok := nodeFilterWords[f]; ok {
		return w
	}
	return string(f)
}

// NodeFilterCount is how many nodes one filter ruled out for a job.
type NodeFilterCount struct {
	Filter NodeFilter `json:"filter"`
	Nodes  int        `json:"nodes"`
}

// FormatNodeFilters writes filter counts as people read them:
// "6 nodes: not enough free GPUs; 2 nodes: draining"; "" when there are
// none.
func FormatNodeFilters(fs []NodeFilterCount) string {
	parts := make([]string, 0, len(fs))
	for _, c := range fs {
		if c.Nodes > 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", plural(c.Nodes, "node"), c.Filter.Words()))
		}
	}
	return strings.Join(parts, "; ")
}
