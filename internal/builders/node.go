package builders

import (
	"fmt"

	"github.com/nai-project/nai/structs"
)

// NodeBuilder builds a *structs.Node.
type NodeBuilder struct {
	id     string
	name   string
	gpus   int
	model  string
	gmem   int64
	cpu    float64
	mem    int64
	addr   string
	links  func(i, n int) []int
	modify []func(*structs.Node)
}

// Node starts a node whose id and name are id (see the package doc for
// its defaults).
func Node(id string) *NodeBuilder {
	return &NodeBuilder{id: id, name: id, gpus: 8, model: "NVIDIA H100 80GB HBM3", gmem: 80 << 30, cpu: 64, mem: 512 << 30}
}

// ID is the node's id as built so far.
func (b *NodeBuilder) ID() string { return b.id }

// Build returns a new node as built so far.
func (b *NodeBuilder) Build() *structs.Node { return b.BuildAs(b.id) }

// BuildAs returns a new node with this builder's shape and the id (and
// name, unless Name set one) id: one builder, many alike nodes.
func (b *NodeBuilder) BuildAs(id string) *structs.Node {
	name := b.name
	if b.name == b.id {
		name = id
	}
	n := &structs.Node{ID: id, Name: name, HTTPAddr: b.addr, Status: structs.NodeReady, Eligible: true, CPU: b.cpu, MemoryBytes: b.mem}
	for i := range b.gpus {
		g := structs.GPU{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", id, i), Model: b.model, MemoryBytes: b.gmem, Healthy: true}
		if b.links != nil {
			g.NVLinkPeers = b.links(i, b.gpus)
		}
		n.GPUs = append(n.GPUs, g)
	}
	for _, f := range b.modify {
		f(n)
	}
	return n
}

func (b *NodeBuilder) Name(n string) *NodeBuilder     { b.name = n; return b }
func (b *NodeBuilder) GPUs(n int) *NodeBuilder        { b.gpus = n; return b }
func (b *NodeBuilder) Model(m string) *NodeBuilder    { b.model = m; return b }
func (b *NodeBuilder) GPUMemory(v int64) *NodeBuilder { b.gmem = v; return b }
func (b *NodeBuilder) CPU(v float64) *NodeBuilder     { b.cpu = v; return b }
func (b *NodeBuilder) Memory(v int64) *NodeBuilder    { b.mem = v; return b }
func (b *NodeBuilder) HTTPAddr(a string) *NodeBuilder { b.addr = a; return b }

// With changes whatever the other methods do not reach, after the rest.
func (b *NodeBuilder) With(f func(*structs.Node)) *NodeBuilder {
	b.modify = append(b.modify, f)
	return b
}

// NVLinkPairs joins GPUs 0-1, 2-3, ... by NVLink.
func (b *NodeBuilder) NVLinkPairs() *NodeBuilder {
	b.links = func(i, n int) []int {
		if p := i ^ 1; p < n {
			return []int{p}
		}
		return nil
	}
	return b
}

// NVSwitch joins every GPU to every other (a DGX).
func (b *NodeBuilder) NVSwitch() *NodeBuilder {
	b.links = func(i, n int) []int {
		var out []int
		for k := range n {
			if k != i {
				out = append(out, k)
			}
		}
		return out
	}
	return b
}
