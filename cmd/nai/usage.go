package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// usageCommand is `nai usage`: GPU-hours, CPU-hours and jobs by final
// state, like Slurm's sreport and sacct.
func usageCommand() *cli.Command {
	return &cli.Command{
		Name:      "usage",
		Usage:     "GPU-hours, CPU-hours and jobs by final state, per day, user or group (like sreport)",
		ArgsUsage: "[-user U] [-group G] [-since 30d] [-until DATE] [-by day|user|group] [-json]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "user", Usage: "only this user"},
			&cli.StringFlag{Name: "group", Usage: "only this group"},
			&cli.StringFlag{Name: "since", Value: "30d", Usage: "from an age (30d, 24h), a date (2026-11-01) or an RFC 3339 time"},
			&cli.StringFlag{Name: "until", Usage: "up to an age, a date or a time (default: now)"},
			&cli.StringFlag{Name: "by", Value: "day", Usage: "day, user or group"},
			jsonFlag(), addressFlag(),
		},
		Action: usageAction,
	}
}

func usageAction(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	if err := structs.UsageBy(c.String("by")).Validate(); err != nil {
		return &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	rep, err := cl.Usage(c.Context, api.UsageFilter{Since: c.String("since"), Until: c.String("until"),
		User: c.String("user"), Group: c.String("group"), By: c.String("by")})
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, rep)
	}
	return formatUsage(c.App.Writer, rep)
}

func formatUsage(w io.Writer, rep *structs.UsageReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := map[structs.UsageBy]string{structs.UsageByDay: "DAY", structs.UsageByUser: "USER", structs.UsageByGroup: "GROUP"}[rep.By]
	fmt.Fprintf(tw, "%s\tGPU-HOURS\tCPU-HOURS\tCPU USED\tCOMPLETE\tFAILED\tCANCELLED\tLOST\t\n", head)
	line := func(l structs.UsageLine) {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t\n", jobtext.OrDash(l.Key), l.GPUHours, l.CPUHours, l.CPUUsed,
			l.Jobs[structs.JobComplete], l.Jobs[structs.JobFailed], l.Jobs[structs.JobCancelled], l.Jobs[structs.JobLost])
	}
	for _, l := range rep.Lines {
		line(l)
	}
	line(rep.Total)
	return tw.Flush()
}
