package main

import (
	"fmt"
	"io"
	"time"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

// nodeDrainCommands are `nai node drain` and `nai node eligibility`, the
// operator's way to empty a node for maintenance (structs/node_drain.go).
func nodeDrainCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name: "drain",
			Usage: "stop placing work on a node; its running jobs are stopped at the deadline and requeued " +
				"(-disable cancels the drain and makes the node eligible again)",
			ArgsUsage: "[-deadline 1h | -no-deadline] [-disable] [-json] ID",
			Flags: []cli.Flag{
				&cli.DurationFlag{Name: "deadline", Value: structs.DefaultDrainDeadline, Usage: "how long running jobs may keep running (0: stop them now)"},
				&cli.BoolFlag{Name: "no-deadline", Usage: "let running jobs run to their end"},
				&cli.BoolFlag{Name: "disable", Usage: "cancel the drain; the node takes new work again"},
				jsonFlag(), addressFlag(),
			},
			Action: nodeDrain,
		},
		{
			Name:      "eligibility",
			Usage:     "allow (-enable) or forbid (-disable) new work on a node; running jobs are not touched",
			ArgsUsage: "(-enable | -disable) [-json] ID",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "enable", Usage: "new work may be placed on the node"},
				&cli.BoolFlag{Name: "disable", Usage: "no new work is placed on the node"},
				jsonFlag(), addressFlag(),
			},
			Action: nodeEligibility,
		},
	}
}

func nodeDrain(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "node ID", usageLine(c)); err != nil {
		return err
	}
	spec := &structs.NodeDrainSpec{Enable: !c.Bool("disable")}
	switch {
	case c.Bool("disable") && (c.IsSet("deadline") || c.Bool("no-deadline")):
		return &usageError{msg: "-disable cancels a drain and takes no deadline", usage: usageLine(c)}
	case c.Bool("no-deadline") && c.IsSet("deadline"):
		return &usageError{msg: "give -deadline or -no-deadline, not both", usage: usageLine(c)}
	case c.Duration("deadline") < 0:
		return &usageError{msg: fmt.Sprintf("-deadline %s is negative: expected 0 (stop running jobs now) or more", c.Duration("deadline")), usage: usageLine(c)}
	case c.Bool("no-deadline"):
		spec.NoDeadline = true
	case spec.Enable:
		d := structs.Duration(c.Duration("deadline"))
		spec.Deadline = &d
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	n, err := cl.DrainNode(c.Context, c.Args().First(), spec)
	if err != nil {
		return fmt.Errorf("drain node %s: %w", c.Args().First(), err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, n)
	}
	return formatDrainResult(c.App.Writer, n, spec.Enable, time.Now())
}

func nodeEligibility(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "node ID", usageLine(c)); err != nil {
		return err
	}
	switch {
	case c.Bool("enable") && c.Bool("disable"):
		return &usageError{msg: "give -enable or -disable, not both", usage: usageLine(c)}
	case !c.Bool("enable") && !c.Bool("disable"):
		return &usageError{msg: "give -enable or -disable", usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	n, err := cl.SetNodeEligibility(c.Context, c.Args().First(), c.Bool("enable"))
	if err != nil {
		return fmt.Errorf("node eligibility %s: %w", c.Args().First(), err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, n)
	}
	return formatEligibility(c.App.Writer, n)
}

// formatDrainResult says what the drain request did to the node.
func formatDrainResult(w io.Writer, n *structs.Node, enabled bool, now time.Time) error {
	name := fmt.Sprintf("node %s (%s)", n.Name, jobtext.ShortID(n.ID))
	var err error
	switch {
	case !enabled:
		_, err = fmt.Fprintf(w, "%s: drain cancelled; it takes new work again\n", name)
	case !n.Drain:
		_, err = fmt.Fprintf(w, "%s: drained (nothing was running); it stays ineligible until `nai node eligibility -enable`\n", name)
	case n.DrainDeadline.IsZero():
		_, err = fmt.Fprintf(w, "%s is draining: no new work; running jobs run to their end\n", name)
	default:
		_, err = fmt.Fprintf(w, "%s is draining: no new work; running jobs are stopped and requeued at %s\n", name, stamp(n.DrainDeadline, now))
	}
	return err
}

func formatEligibility(w io.Writer, n *structs.Node) error {
	name := fmt.Sprintf("node %s (%s)", n.Name, jobtext.ShortID(n.ID))
	if n.Eligible {
		_, err := fmt.Fprintf(w, "%s is eligible: new work may be placed on it\n", name)
		return err
	}
	_, err := fmt.Fprintf(w, "%s is ineligible: no new work is placed on it; running jobs carry on\n", name)
	return err
}
