package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

// operatorCommand groups the commands that change the scheduling policy:
// queues, fair-share shares and quotas.
func operatorCommand() *cli.Command {
	withAddr := func(fs ...cli.Flag) []cli.Flag { return append(fs, addressFlag()) }
	return &cli.Command{
		Name:   "operator",
		Usage:  "change the scheduling policy (queues, fair-share shares, quotas), back up (snapshot) and repair the cluster (raft, keygen)",
		Action: parentAction,
		Subcommands: append([]*cli.Command{
			{
				Name:   "queue",
				Usage:  "define the queues (partitions) jobs are submitted to",
				Action: parentAction,
				Subcommands: []*cli.Command{
					{Name: "list", Usage: "list the queues in force", ArgsUsage: "[-json]", Flags: withAddr(jsonFlag()), Action: queueList},
					{Name: "show", Usage: "show one queue", ArgsUsage: "[-json] NAME", Flags: withAddr(jsonFlag()), Action: queueShow},
					{Name: "apply", Usage: "create or replace the queues defined in an HCL file", ArgsUsage: "[-json] FILE", Flags: withAddr(jsonFlag()), Action: queueApply},
					{Name: "delete", Usage: "remove a queue definition (the default queue falls back to no limits)", ArgsUsage: "[-json] NAME", Flags: withAddr(jsonFlag()), Action: queueDelete},
				},
			},
			{
				Name:   "share",
				Usage:  "set the fair-share shares of users and groups",
				Action: parentAction,
				Subcommands: []*cli.Command{
					{Name: "set", Usage: "set the shares of a user or a group", ArgsUsage: "(-user NAME | -group NAME) -shares N [-json]",
						Flags: withAddr(accountFlags(&cli.Float64Flag{Name: "shares", Usage: "the account's `N` shares (relative to everyone's)", Value: -1, DefaultText: "none"}, jsonFlag())...), Action: shareSet},
					{Name: "delete", Usage: "return a user or group to the default shares", ArgsUsage: "(-user NAME | -group NAME) [-json]",
						Flags: withAddr(accountFlags(jsonFlag())...), Action: shareDelete},
				},
			},
			{
				Name:   "quota",
				Usage:  "limit the GPUs in use and pending jobs of users and groups",
				Action: parentAction,
				Subcommands: []*cli.Command{
					{Name: "list", Usage: "list the quotas", ArgsUsage: "[-json]", Flags: withAddr(jsonFlag()), Action: quotaList},
					{Name: "set", Usage: "set the quota of a user or a group (0: no limit)", ArgsUsage: "(-user NAME | -group NAME) [-max-gpus N] [-max-pending N] [-json]",
						Flags: withAddr(accountFlags(
							&cli.IntFlag{Name: "max-gpus", Usage: "most GPUs its running jobs may hold"},
							&cli.IntFlag{Name: "max-pending", Usage: "most pending jobs considered at once"}, jsonFlag())...), Action: quotaSet},
					{Name: "delete", Usage: "remove the quota of a user or group", ArgsUsage: "(-user NAME | -group NAME) [-json]",
						Flags: withAddr(accountFlags(jsonFlag())...), Action: quotaDelete},
				},
			},
		}, append(clusterOperatorSubcommands(), operatorBlobsCommand(), operatorAuditCommand(), operatorSnapshotCommand())...),
	}
}

func accountFlags(more ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "user", Usage: "the user account `NAME`"},
		&cli.StringFlag{Name: "group", Usage: "the group `NAME`"},
	}, more...)
}

// account reads -user or -group (exactly one).
func account(c *cli.Context) (structs.AccountKind, string, error) {
	u, g := c.String("user"), c.String("group")
	switch {
	case u != "" && g != "":
		return "", "", &usageError{msg: "give -user or -group, not both", usage: usageLine(c)}
	case u != "":
		return structs.AccountUser, u, nil
	case g != "":
		return structs.AccountGroup, g, nil
	}
	return "", "", &usageError{msg: "missing -user NAME or -group NAME", usage: usageLine(c)}
}

func queueList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	qs, err := cl.Queues(c.Context)
	if err != nil {
		return fmt.Errorf("list queues: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, qs)
	}
	return formatQueues(c.App.Writer, qs)
}

func formatQueues(w io.Writer, qs []structs.Queue) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTIER\tPRIORITY\tDEFAULT TIME\tMAX TIME\tMAX GPUS/JOB\tGROUPS\tNODES")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", q.Name, q.PriorityTier, q.Priority,
			limitDur(q.DefaultTimeLimit), limitDur(q.MaxTimeLimit), limitInt(q.MaxGPUsPerJob),
			listOr(q.AllowedGroups, "all"), listOr(q.Nodes, "all"))
	}
	return tw.Flush()
}

func limitDur(d structs.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.String()
}

func limitInt(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func listOr(l []string, none string) string {
	if len(l) == 0 {
		return none
	}
	return strings.Join(l, ",")
}

func queueShow(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "queue name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	q, err := cl.QueueInfo(c.Context, c.Args().First())
	if err != nil {
		return fmt.Errorf("show queue: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, q)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Name\t%s\n", q.Name)
	if q.Description != "" {
		fmt.Fprintf(tw, "Description\t%s\n", jobtext.Printable(q.Description))
	}
	fmt.Fprintf(tw, "Priority tier\t%d\n", q.PriorityTier)
	fmt.Fprintf(tw, "Priority\t%d\n", q.Priority)
	fmt.Fprintf(tw, "Default time limit\t%s\n", limitDur(q.DefaultTimeLimit))
	fmt.Fprintf(tw, "Max time limit\t%s\n", limitDur(q.MaxTimeLimit))
	fmt.Fprintf(tw, "Max GPUs per job\t%s\n", limitInt(q.MaxGPUsPerJob))
	fmt.Fprintf(tw, "Allowed groups\t%s\n", listOr(q.AllowedGroups, "all"))
	fmt.Fprintf(tw, "Nodes\t%s\n", listOr(q.Nodes, "all"))
	return tw.Flush()
}

func queueApply(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "queue file", usageLine(c)); err != nil {
		return err
	}
	qs, err := jobspec.ParseQueueFile(c.Args().First())
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	var applied []change
	for _, q := range qs {
		idx, err := cl.ApplyQueue(c.Context, q)
		if err != nil {
			return fmt.Errorf("apply queue %s: %w", q.Name, err)
		}
		applied = append(applied, change{Action: "updated", Kind: "queue", Name: q.Name, Index: idx, Detail: q})
		if !c.Bool("json") {
			fmt.Fprintf(c.App.Writer, "queue %s applied\n", q.Name)
		}
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, orEmpty(applied))
	}
	return nil
}

func queueDelete(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "queue name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	name := c.Args().First()
	idx, err := cl.DeleteQueue(c.Context, name)
	if err != nil {
		return fmt.Errorf("delete queue %s: %w", name, err)
	}
	return reportChange(c, c.App.Writer, change{Action: "removed", Kind: "queue", Name: name, Index: idx}, "queue %s deleted", name)
}

func shareSet(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	kind, name, err := account(c)
	if err != nil {
		return err
	}
	if !c.IsSet("shares") {
		return &usageError{msg: "missing -shares N", usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	sh := &structs.Share{Kind: kind, Name: name, Shares: c.Float64("shares")}
	idx, err := cl.SetShare(c.Context, sh)
	if err != nil {
		return fmt.Errorf("set shares of %s %s: %w", kind, name, err)
	}
	return reportChange(c, c.App.Writer, change{Action: "updated", Kind: "share", Name: name, Index: idx, Detail: sh}, "%s %s has %s shares", kind, name, formatFloat(sh.Shares))
}

func shareDelete(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	kind, name, err := account(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	idx, err := cl.DeleteShare(c.Context, kind, name)
	if err != nil {
		return fmt.Errorf("delete shares of %s %s: %w", kind, name, err)
	}
	return reportChange(c, c.App.Writer, change{Action: "removed", Kind: "share", Name: name, Index: idx, Detail: &structs.Share{Kind: kind, Name: name}}, "%s %s has the default shares again", kind, name)
}

func quotaList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	qs, err := cl.Quotas(c.Context)
	if err != nil {
		return fmt.Errorf("list quotas: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, qs)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAME\tMAX GPUS\tMAX PENDING")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", q.Kind, q.Name, limitInt(q.MaxGPUs), limitInt(q.MaxPending))
	}
	return tw.Flush()
}

func quotaSet(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	kind, name, err := account(c)
	if err != nil {
		return err
	}
	if !c.IsSet("max-gpus") && !c.IsSet("max-pending") {
		return &usageError{msg: "missing -max-gpus N or -max-pending N", usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	q := &structs.AccountQuota{Kind: kind, Name: name, Quota: structs.Quota{MaxGPUs: c.Int("max-gpus"), MaxPending: c.Int("max-pending")}}
	idx, err := cl.SetQuota(c.Context, q)
	if err != nil {
		return fmt.Errorf("set quota of %s %s: %w", kind, name, err)
	}
	return reportChange(c, c.App.Writer, change{Action: "updated", Kind: "quota", Name: name, Index: idx, Detail: q}, "%s %s: max GPUs %s, max pending jobs %s", kind, name, limitInt(q.MaxGPUs), limitInt(q.MaxPending))
}

func quotaDelete(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	kind, name, err := account(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	idx, err := cl.DeleteQuota(c.Context, kind, name)
	if err != nil {
		return fmt.Errorf("delete quota of %s %s: %w", kind, name, err)
	}
	return reportChange(c, c.App.Writer, change{Action: "removed", Kind: "quota", Name: name, Index: idx, Detail: &structs.AccountQuota{Kind: kind, Name: name}}, "%s %s has no quota", kind, name)
}
