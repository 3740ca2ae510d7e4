package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:   "node",
		Usage:  "list the GPU hosts, show their GPUs, drain them",
		Action: parentAction,
		Subcommands: append([]*cli.Command{
			{
				Name:      "list",
				Usage:     "list the nodes",
				ArgsUsage: "[-json]",
				Flags:     []cli.Flag{jsonFlag(), addressFlag()},
				Action:    nodeList,
			},
			{
				Name:      "status",
				Usage:     "show one node (by id or name) and which job holds each GPU",
				ArgsUsage: "[-json] ID | -self",
				Flags:     []cli.Flag{jsonFlag(), addressFlag(), selfFlag()},
				Action:    nodeStatus,
			},
		}, nodeDrainCommands()...),
	}
}

func nodeList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	nodes, err := cl.Nodes(c.Context)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, nodes)
	}
	return formatNodeList(c.App.Writer, nodes)
}

func nodeStatus(c *cli.Context) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	id, err := nodeStatusArg(c, cl) // node_self.go
	if err != nil {
		return err
	}
	n, err := cl.Node(c.Context, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, n)
	}
	return formatNodeStatus(c.App.Writer, n, time.Now())
}

// freeGPUs counts the GPUs a job could get now: healthy, held by no job,
// on a node that takes work (ready, eligible, not draining, reachable).
func freeGPUs(n *structs.Node) int {
	if !n.Schedulable() {
		return 0
	}
	return idleGPUs(n)
}

// unavailableGPUs counts the healthy GPUs no job holds on a node that
// takes no new work: idle, but no job can get them.
func unavailableGPUs(n *structs.Node) int {
	if n.Schedulable() {
		return 0
	}
	return idleGPUs(n)
}

// idleGPUs counts healthy GPUs that no job holds.
func idleGPUs(n *structs.Node) int {
	idle := 0
	for _, g := range n.GPUs {
		if g.Healthy && g.JobID == "" && g.AllocID == "" {
			idle++
		}
	}
	return idle
}

// whyUnavailable says why a node takes no new work: the first of down,
// unreachable, draining and ineligible; "" when it takes work.
func whyUnavailable(n *structs.Node) string {
	switch {
	case n.Status != structs.NodeReady:
		return "node " + string(n.Status)
	case !n.UnreachableSince.IsZero():
		return "node unreachable"
	case n.Drain:
		return "node draining"
	case !n.Eligible:
		return "node ineligible"
	}
	return ""
}

func nodeState(n *structs.Node) string {
	s := string(n.Status)
	if !n.UnreachableSince.IsZero() {
		s += ",unreachable"
	}
	if n.Drain {
		s += ",draining"
	}
	return s
}

func formatNodeList(w io.Writer, nodes []*structs.Node) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tELIGIBLE\tGPUS\tCPU\tMEMORY")
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%d/%d\t%s\t%s\n",
			jobtext.ShortID(n.ID), n.Name, nodeState(n), n.Eligible, freeGPUs(n), len(n.GPUs),
			formatFloat(n.CPU), structs.FormatSize(n.MemoryBytes))
	}
	return tw.Flush()
}

func formatNodeStatus(w io.Writer, n *structs.Node, now time.Time) error {
	kv := newKV(w)
	kv.add("ID", n.ID)
	kv.add("Name", n.Name)
	kv.addIf("Datacenter", n.Datacenter)
	kv.addIf("Version", n.Attributes[nodeVersionAttr])
	kv.add("Status", nodeState(n))
	kv.add("Eligible", fmt.Sprint(n.Eligible))
	kv.addIf("Drain reason", n.DrainReason)
	if n.Drain {
		deadline := "none (running jobs run to their end)"
		if !n.DrainDeadline.IsZero() {
			deadline = stamp(n.DrainDeadline, now)
		}
		kv.add("Drain deadline", deadline)
	}
	kv.add("HTTP address", jobtext.OrDash(n.HTTPAddr))
	kv.add("CPU", formatFloat(n.CPU)+" cores")
	kv.add("Memory", structs.FormatSize(n.MemoryBytes))
	gpus := fmt.Sprintf("%d free of %d", freeGPUs(n), len(n.GPUs))
	if u := unavailableGPUs(n); u > 0 {
		gpus += fmt.Sprintf(", %d idle but unavailable (%s)", u, whyUnavailable(n))
	}
	kv.add("GPUs", gpus)
	kv.addIf("Driver", n.Driver)
	kv.addIf("CUDA", n.CUDAVersion)
	if !n.RegisterTime.IsZero() {
		kv.add("Registered", stamp(n.RegisterTime, now))
	}
	if !n.StatusTime.IsZero() {
		kv.add("Status since", stamp(n.StatusTime, now))
	}
	if !n.UnreachableSince.IsZero() {
		kv.add("Unreachable since", stamp(n.UnreachableSince, now)+" (serf declared it failed: no new work; down after the grace)")
	}
	for _, k := range slices.Sorted(maps.Keys(n.Attributes)) {
		if k != nodeVersionAttr {
			kv.add("attr."+k, n.Attributes[k])
		}
	}
	if err := kv.flush(); err != nil {
		return err
	}
	if err := formatHookFailure(w, n.HookFailure, now); err != nil { // node_hooks.go
		return err
	}
	if len(n.GPUs) == 0 {
		_, err := fmt.Fprintln(w, "\nNo GPUs.")
		return err
	}
	fmt.Fprintln(w, "\nGPUs")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tUUID\tMODEL\tMEMORY\tUSED\tUTIL\tHEALTHY\tNVLINK\tJOB")
	for _, g := range n.GPUs {
		healthy := "yes"
		if !g.Healthy {
			healthy = "no"
			if g.Unhealthy != "" {
				healthy += " (" + g.Unhealthy + ")"
			}
		}
		model := g.Model
		if g.MIG {
			model += " (MIG)"
		}
		used, util := gpuUse(g)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			g.Index, g.UUID, model, structs.FormatSize(g.MemoryBytes), used, util, healthy, gpuList(g.NVLinkPeers), jobtext.OrDash(g.JobID))
	}
	return tw.Flush()
}

// nodeVersionAttr is the attribute in which a client reports its nai
// version.
const nodeVersionAttr = "nai_version"
