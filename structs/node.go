package structs

import (
	"maps"
	"slices"
	"time"
)

// NodeStatus is a node's liveness as the servers see it.
type NodeStatus string

const (
	NodeReady NodeStatus = "ready"
	NodeDown  NodeStatus = "down"
)

// Node is one GPU host running a nai client.
type Node struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Datacenter  string            `json:"datacenter,omitempty"`
	HTTPAddr    string            `json:"http_addr"` // where its agent serves /v1/client/...
	Status      NodeStatus        `json:"status"`
	Eligible    bool              `json:"eligible"` // false: no new work (drained or disabled)
	Drain       bool              `json:"drain,omitempty"`
	CPU         float64           `json:"cpu"`          // cores available to jobs
	MemoryBytes int64             `json:"memory_bytes"` // memory available to jobs
	GPUs        []GPU             `json:"gpus"`
	Driver      string            `json:"driver_version,omitempty"`
	CUDAVersion string            `json:"cuda_version,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	// ServicePorts is the range the client picks service replicas' ports
	// from (client { service_ports }); each replica holds one.
	ServicePorts PortRange `json:"service_ports,omitzero"`

	RegisterTime time.Time `json:"register_time,omitzero"`
	StatusTime   time.Time `json:"status_time,omitzero"`
	CreateIndex  uint64    `json:"create_index"`
	ModifyIndex  uint64    `json:"modify_index"`

	// DrainDeadline is when a draining node's running allocations are
	// stopped (node_drain.go); zero: they may run to their end.
	DrainDeadline time.Time `json:"drain_deadline,omitzero"`
	// DrainReason says why the node was drained when a failed node hook
	// drained it; it stays until the node is made eligible again.
	DrainReason string `json:"drain_reason,omitempty"`
	// UnreachableSince is when serf declared a ready node failed: through
	// the grace before it is marked down it keeps its allocations but
	// takes no new work, which would only start once it is back, or be
	// lost with it. Zero: reachable.
	UnreachableSince time.Time `json:"unreachable_since,omitzero"`
	// HookFailure is the node's latest failed prolog or epilog.
	HookFailure *HookReport `json:"hook_failure,omitempty"`
}

// GPU is one device as the fingerprint saw it.
type GPU struct {
	Index       int    `json:"index"`
	UUID        string `json:"uuid"`
	Model       string `json:"model"`
	MemoryBytes int64  `json:"memory_bytes"`
	PCIBusID    string `json:"pci_bus_id,omitempty"`
	NVLinkPeers []int  `json:"nvlink_peers,omitempty"` // indices of GPUs joined to this one by NVLink
	MIG         bool   `json:"mig,omitempty"`
	Healthy     bool   `json:"healthy"`
	Unhealthy   string `json:"unhealthy_reason,omitempty"`

	// Filled in answers (nai node status), not stored.
	AllocID string `json:"alloc_id,omitempty"`
	JobID   string `json:"job_id,omitempty"`
	// The holding allocation's latest GPU sample (ClientStatus.GPUUsage).
	UtilizationPercent int   `json:"utilization_percent,omitempty"`
	MemoryUsedBytes    int64 `json:"memory_used_bytes,omitempty"`
}

// Schedulable reports whether new work may be placed on the node.
func (n *Node) Schedulable() bool {
	return n.Status == NodeReady && n.Eligible && !n.Drain && n.UnreachableSince.IsZero()
}

// Copy returns a deep copy.
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	c := *n
	c.GPUs = make([]GPU, len(n.GPUs))
	for i, g := range n.GPUs {
		g.NVLinkPeers = slices.Clone(g.NVLinkPeers)
		c.GPUs[i] = g
	}
	c.Attributes = maps.Clone(n.Attributes)
	c.HookFailure = n.HookFailure.Copy()
	return &c
}
