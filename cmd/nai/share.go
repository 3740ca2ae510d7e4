package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

// shareCommand is `nai share`, like Slurm's sshare.
func shareCommand() *cli.Command {
	return &cli.Command{
		Name:      "share",
		Usage:     "show fair share: shares, decayed GPU-hour usage and the resulting factor per group and user (like sshare)",
		ArgsUsage: "[-json]",
		Flags:     []cli.Flag{jsonFlag(), addressFlag()},
		Action: func(c *cli.Context) error {
			if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
				return err
			}
			cl, err := newClient(c)
			if err != nil {
				return err
			}
			rows, err := cl.ShareReport(c.Context)
			if err != nil {
				return fmt.Errorf("read fair share: %w", err)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, rows)
			}
			return formatShares(c.App.Writer, rows)
		},
	}
}

func formatShares(w io.Writer, rows []structs.ShareInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAME\tSHARES\tNORM SHARES\tGPU-HOURS\tEFFECTIVE USAGE\tFAIR SHARE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.2f\t%.3f\t%.3f\n", r.Kind, r.Name, formatFloat(r.Shares),
			r.NormShares, r.Usage, r.EffectiveUsage, r.FairShare)
	}
	return tw.Flush()
}

// jobPriorityCommand is `nai job priority ID`, like Slurm's sprio.
func jobPriorityCommand() *cli.Command {
	return &cli.Command{
		Name:      "priority",
		Usage:     "show the priority factors of a pending job (like sprio)",
		ArgsUsage: "[-json] ID|ID_N",
		Flags:     []cli.Flag{jsonFlag(), addressFlag()},
		Action: func(c *cli.Context) error {
			cl, err := newClient(c)
			if err != nil {
				return err
			}
			ref, id, err := refArg(c, cl)
			if err != nil {
				return err
			}
			f, err := cl.JobPriority(c.Context, id)
			if err != nil {
				return fmt.Errorf("job %s priority: %w", ref, err)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, f)
			}
			return formatPriority(c.App.Writer, f)
		},
	}
}

// formatPriority shows each factor, its weight and what it adds.
func formatPriority(w io.Writer, f *structs.PriorityFactors) error {
	fmt.Fprintf(w, "job %s: priority %s, queue tier %d\n", f.JobID, fmtPrio(f.Priority), f.Tier)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FACTOR\tVALUE\tWEIGHT\tADDS")
	for _, r := range []struct {
		name      string
		v, weight float64
	}{
		{"age", f.Age, f.Weights.Age},
		{"fair share", f.FairShare, f.Weights.FairShare},
		{"job size", f.JobSize, f.Weights.JobSize},
		{"queue", f.Queue, f.Weights.Queue},
		{"job priority", f.Job, f.Weights.Job},
		{"runtime", f.Runtime, f.Weights.Runtime},
	} {
		fmt.Fprintf(tw, "%s\t%.4f\t%s\t%s\n", r.name, r.v, strconv.FormatFloat(r.weight, 'f', -1, 64), fmtPrio(r.v*r.weight))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if f.Weights.Runtime != 0 {
		if f.ExpectedRuntime > 0 {
			fmt.Fprintf(w, "runtime: expected to run %s (its time limit); shorter jobs go first\n", time.Duration(f.ExpectedRuntime))
		} else {
			fmt.Fprintln(w, "runtime: no time limit, so it counts as a long job; set one to move up")
		}
	}
	return nil
}

func fmtPrio(v float64) string { return fmt.Sprintf("%.1f", v) }

// formatQueueExplain is `nai queue -explain`: the queue with the priority
// factors of each pending job (running and finished jobs show dashes),
// then the nodes each scheduler test ruled out for jobs no node can take.
func formatQueueExplain(w io.Writer, jobs []*structs.Job, factors []structs.PriorityFactors, now time.Time) error {
	byID := make(map[string]structs.PriorityFactors, len(factors))
	for _, f := range factors {
		byID[f.JobID] = f
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tUSER\tSTATE\tGPUS\tPRIORITY\tTIER\tAGE\tFAIRSHARE\tJOBSIZE\tQUEUE\tJOB\tRUNTIME\tREASON")
	for _, j := range jobs {
		cols := "-\t-\t-\t-\t-\t-\t-\t-"
		if f, ok := byID[j.ID]; ok && j.Status == structs.JobPending {
			cols = fmt.Sprintf("%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f", fmtPrio(f.Priority), f.Tier, f.Age, f.FairShare, f.JobSize, f.Queue, f.Job, f.Runtime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Name, jobtext.OrDash(j.User), j.Status, jobtext.GPURequest(j.Resources), cols, jobtext.QueueReason(j, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return formatNodeFilters(w, jobs)
}

// formatNodeFilters lists, under the queue, how many nodes each scheduler
// test ruled out for the pending jobs no node can take now.
func formatNodeFilters(w io.Writer, jobs []*structs.Job) error {
	header := false
	for _, j := range jobs {
		f := structs.FormatNodeFilters(j.NodeFilters)
		if j.Status != structs.JobPending || f == "" {
			continue
		}
		if !header {
			if _, err := fmt.Fprint(w, "\nNodes ruled out for waiting jobs:\n"); err != nil {
				return err
			}
			header = true
		}
		if _, err := fmt.Fprintf(w, "  %s %s: %s\n", j.ID, j.Name, jobtext.Printable(f)); err != nil {
			return err
		}
	}
	return nil
}
