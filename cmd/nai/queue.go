package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

func queueCommand() *cli.Command {
	return &cli.Command{
		Name:      "queue",
		Usage:     "list jobs in the order the scheduler considers them (like squeue)",
		ArgsUsage: "[-json] [-all] [-explain]",
		Flags: []cli.Flag{
			jsonFlag(),
			&cli.BoolFlag{Name: "all", Usage: "include finished jobs"},
			&cli.BoolFlag{Name: "explain", Usage: "add the priority factors of pending jobs (like sprio)"},
			addressFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
				return err
			}
			cl, err := newClient(c)
			if err != nil {
				return err
			}
			jobs, err := cl.Queue(c.Context, c.Bool("all"))
			if err != nil {
				return fmt.Errorf("list queue: %w", err)
			}
			if c.Bool("explain") {
				factors, err := cl.QueuePriority(c.Context)
				if err != nil {
					return fmt.Errorf("read priority factors: %w", err)
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, map[string]any{"jobs": jobs, "factors": factors})
				}
				return formatQueueExplain(c.App.Writer, jobs, factors, time.Now())
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, jobs)
			}
			return formatQueue(c.App.Writer, jobs, time.Now())
		},
	}
}

// queueRow is one line of the queue: a job, or pending members of one
// sweep folded together like Slurm's 123_[4-9].
type queueRow struct {
	job     *structs.Job
	members []int // array indices folded into this row; nil for a single job
}

// foldQueue folds consecutive pending members of the same array that wait
// for the same reason into one row; running and finished members keep
// their own rows.
func foldQueue(jobs []*structs.Job) []queueRow {
	var rows []queueRow
	for _, j := range jobs {
		if j.ArrayID != "" && j.Status == structs.JobPending && len(rows) > 0 {
			last := &rows[len(rows)-1]
			p := last.job
			if p.ArrayID == j.ArrayID && p.Status == structs.JobPending && p.Reason == j.Reason {
				if last.members == nil {
					last.members = []int{p.ArrayIndex}
				}
				last.members = append(last.members, j.ArrayIndex)
				continue
			}
		}
		rows = append(rows, queueRow{job: j})
	}
	return rows
}

// formatQueue writes the squeue-like table. TIME is how long a running job
// has run, how long a pending one has waited, or a finished one's runtime.
func formatQueue(w io.Writer, jobs []*structs.Job, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tUSER\tSTATE\tGPUS\tNODE\tTIME\tREASON")
	for _, r := range foldQueue(jobs) {
		j := r.job
		id := j.ID
		if r.members != nil {
			id = fmt.Sprintf("%s_[%s]", j.ArrayID, ranges(r.members))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			id, j.Name, orDash(j.User), j.Status, gpuRequest(j.Resources), nodeLabel(j),
			queueTime(j, now), queueReason(j, now))
	}
	return tw.Flush()
}

func queueTime(j *structs.Job, now time.Time) string {
	switch {
	case j.Status == structs.JobPending && !j.SubmitTime.IsZero():
		return clock(now.Sub(j.SubmitTime))
	case j.Status == structs.JobRunning && j.StartTime.IsZero():
		return clock(0) // placed, not started yet
	}
	if d, ok := runtime(j, now); ok {
		return clock(d)
	}
	return "-"
}

func queueReason(j *structs.Job, now time.Time) string {
	switch {
	case j.Status == structs.JobPending:
		r := j.Reason
		if !j.EstimatedStart.IsZero() {
			est := "est. start " + shortTime(j.EstimatedStart, now)
			if r == "" {
				return est
			}
			r += " (" + est + ")"
		}
		return orDash(r)
	case j.Status.Terminal():
		return orDash(exitSummary(j))
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
