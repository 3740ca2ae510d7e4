package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
)

// jobUpdateCommand is `nai job update -time 30m ID...` (scontrol update):
// change what pending jobs ask for before they start.
func jobUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change what pending jobs ask for: time limit, GPUs, CPU, memory, nodes, queue, name, priority (like scontrol update)",
		ArgsUsage: "[-time D] [-gpus N|-gpus-per-node N] [-cpu N] [-mem SIZE] [-nodes N] [-queue Q] [-name NAME] [-priority N] ID|ID_N|ID_[2-5,7]...",
		Description: "Only pending jobs change: one that runs or has ended refuses the whole request, and nothing\n" +
			"changes (an array id names its pending members). Each job as updated must be one you could\n" +
			"submit: the same checks as nai job run. -gpus counts the job's GPUs in all, as nai job run's\n" +
			"does; -cpu and -mem are per node. A held job stays held.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "time", Usage: "time limit: `D` as 30m, 2h, 1-00:00:00 or 90 (minutes, as sbatch)"},
			&cli.IntFlag{Name: "gpus", Usage: "`N` GPUs in all, split evenly over the job's nodes"},
			&cli.IntFlag{Name: "gpus-per-node", Usage: "`N` GPUs on each of the job's nodes (Slurm's --gres=gpu:N)"},
			&cli.Float64Flag{Name: "cpu", Usage: "`N` cores a node (fractions allowed)"},
			&cli.StringFlag{Name: "mem", Usage: "memory a node: `SIZE` as 8GiB or 512MiB (a bare number is MiB and 8G is 8GiB, as sbatch)"},
			&cli.IntFlag{Name: "nodes", Usage: "`N` nodes, each with the job's per-node resources"},
			&cli.StringFlag{Name: "queue", Usage: "move to queue `Q`"},
			&cli.StringFlag{Name: "name", Usage: "rename to `NAME`"},
			&cli.IntFlag{Name: "priority", Usage: "job priority `N`, 0 to 100"},
			jsonFlag(), addressFlag(),
		},
		Action: jobUpdate,
	}
}

func jobUpdate(c *cli.Context) error {
	args, err := jobRefArgs(c) // hold.go
	if err != nil {
		return err
	}
	u, err := updateFromFlags(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	targets, refs, err := holdTargets(c.Context, cl, args)
	if err != nil {
		return err
	}
	if c.IsSet("gpus-per-node") {
		// The update carries GPUs in all: times the nodes the job has
		// (or will have, with -nodes), which the first target tells.
		nodes := 1
		if u.Nodes != nil {
			nodes = *u.Nodes
		} else if len(targets) > 0 {
			j, _, err := cl.Job(c.Context, targets[0].ID)
			if err != nil {
				return fmt.Errorf("update %s: %w", strings.Join(args, " "), err)
			}
			nodes = max(j.Resources.Nodes, 1)
		}
		total := c.Int("gpus-per-node") * nodes
		u.GPUs = &total
	}
	resp, err := cl.UpdateJobs(c.Context, targets, *u)
	if err != nil {
		return fmt.Errorf("update %s: %w", strings.Join(args, " "), err)
	}
	// As nai job run does: on stderr, with -json too.
	for _, w := range resp.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "Warning: %s\n", w)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	names := jobNames(resp.JobIDs, resp.Refs, refs) // hold.go
	switch n := len(resp.JobIDs); {
	case n == 1 && names[0] != resp.JobIDs[0]:
		fmt.Fprintf(c.App.Writer, "Job %s (job %s) updated: %s.\n", names[0], resp.JobIDs[0], u.Fields())
	case n == 1:
		fmt.Fprintf(c.App.Writer, "Job %s updated: %s.\n", names[0], u.Fields())
	default:
		fmt.Fprintf(c.App.Writer, "%s updated (%s): %s.\n", capitalize(plural(n, "job")), u.Fields(), idList(names))
	}
	return nil
}

// updateFromFlags is the update the flags ask for, each value checked as
// nai job run checks its own; no flag is an error.
func updateFromFlags(c *cli.Context) (*structs.JobUpdate, error) {
	usage := usageLine(c)
	bad := func(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...), usage: usage} }
	u := &structs.JobUpdate{}
	if c.IsSet("time") {
		d, err := jobspec.ParseTimeLimit(c.String("time"))
		if err != nil {
			return nil, bad("-time: %v", err)
		}
		limit := structs.Duration(d)
		u.TimeLimit = &limit
	}
	if c.IsSet("gpus") && c.IsSet("gpus-per-node") {
		return nil, bad("-gpus and -gpus-per-node are alternatives: give one")
	}
	if c.IsSet("gpus-per-node") {
		if n := c.Int("gpus-per-node"); n < 0 || n > structs.MaxGPUsPerNode {
			return nil, bad("-gpus-per-node %d: expected 0 to %d", n, structs.MaxGPUsPerNode)
		}
		// Filled in once the job's nodes are known (jobUpdate).
		zero := 0
		u.GPUs = &zero
	}
	if c.IsSet("gpus") {
		n := c.Int("gpus")
		if n < 0 {
			return nil, bad("-gpus %d: expected 0 or more", n)
		}
		u.GPUs = &n
	}
	if c.IsSet("cpu") {
		n := c.Float64("cpu")
		if !(n > 0) { // NaN too
			return nil, bad("-cpu %s: expected a number of cores more than 0, such as 4 or 0.5", formatFloat(n))
		}
		u.CPU = &n
	}
	if c.IsSet("mem") {
		n, err := parseMemFlag(c.String("mem"))
		if err != nil {
			return nil, bad("-mem %v", err)
		}
		u.MemoryBytes = &n
	}
	if c.IsSet("nodes") {
		n := c.Int("nodes")
		if n < 1 || n > structs.MaxNodesPerJob {
			return nil, bad("-nodes %d: expected 1 to %d", n, structs.MaxNodesPerJob)
		}
		u.Nodes = &n
	}
	if c.IsSet("queue") {
		q := c.String("queue")
		if !structs.ValidName(q) {
			return nil, bad("-queue %q: a queue name is letters, digits, '.', '_' and '-', starting with a letter or digit", q)
		}
		u.Queue = &q
	}
	if c.IsSet("name") {
		name := c.String("name")
		if !structs.ValidName(name) {
			return nil, bad("-name %q: a job name is letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters", name, structs.MaxNameLen)
		}
		u.Name = &name
	}
	if c.IsSet("priority") {
		p := c.Int("priority")
		if p < 0 || p > structs.MaxPriority {
			return nil, bad("-priority %d: expected 0 to %d", p, structs.MaxPriority)
		}
		u.Priority = &p
	}
	if u.Empty() {
		return nil, bad("nothing to change: give at least one of -time, -gpus, -gpus-per-node, -cpu, -mem, -nodes, -queue, -name, -priority")
	}
	return u, nil
}
