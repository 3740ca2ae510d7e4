package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// topCommand is `nai top`: the nodes and their GPUs (who holds each, how
// busy it is, its memory) and the head of the queue, redrawn in place as
// the cluster changes; -once prints one frame for scripts.
func topCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "watch the nodes' GPUs (owner, utilisation, memory) and the head of the queue",
		ArgsUsage: "[-once] [-n ROWS]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "once", Usage: "print one frame and exit (for scripts)"},
			&cli.IntFlag{Name: "n", Value: 10, Usage: "pending jobs shown from the head of the queue"},
			&cli.DurationFlag{Name: "refresh", Value: 2 * time.Second, Usage: "redraw at least this often (the GPUs' samples change)"},
			addressFlag(),
		},
		Action: runTop,
	}
}

// topFrame is what one frame shows.
type topFrame struct {
	nodes        []*structs.Node
	running      []*structs.Job
	pending      []*structs.Job
	totalPending int
}

func runTop(c *cli.Context) error {
	if c.NArg() > 0 {
		return &usageError{msg: "nai top takes no arguments", usage: usageLine(c)}
	}
	if c.Int("n") < 0 {
		return &usageError{msg: fmt.Sprintf("-n %d: expected 0 or more rows", c.Int("n")), usage: usageLine(c)}
	}
	refresh := c.Duration("refresh")
	if refresh < 100*time.Millisecond {
		return &usageError{msg: fmt.Sprintf("-refresh %s is too short: expected 100ms or more", refresh), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	var index uint64
	if !c.Bool("once") {
		fmt.Fprint(w, "\x1b[2J") // start on a clear screen
	}
	for {
		f, idx, err := readTop(c.Context, cl, c.Int("n"), index, refresh)
		if err != nil {
			if c.Context.Err() != nil {
				return nil
			}
			return err
		}
		index = idx
		var buf bytes.Buffer
		if err := formatTop(&buf, f, time.Now(), termWidth()); err != nil {
			return err
		}
		if c.Bool("once") {
			_, err := w.Write(buf.Bytes())
			return err
		}
		// Home, draw, clear what the last frame left below.
		fmt.Fprint(w, "\x1b[H")
		_, _ = w.Write(bytes.ReplaceAll(buf.Bytes(), []byte("\n"), []byte("\x1b[K\n")))
		fmt.Fprint(w, "\x1b[J")
	}
}

// readTop reads a frame; after the first, it waits (a blocking query on
// the nodes) until something changes or refresh passes.
func readTop(ctx context.Context, cl *api.Client, n int, index uint64, refresh time.Duration) (*topFrame, uint64, error) {
	nodes, idx, err := cl.WaitNodes(ctx, index, refresh)
	if err != nil {
		return nil, 0, err
	}
	f := &topFrame{nodes: nodes}
	if f.running, _, _, err = cl.QueuePage(ctx, api.QueueOptions{State: string(structs.JobRunning)}); err != nil {
		return nil, 0, err
	}
	if f.pending, f.totalPending, _, err = cl.QueuePage(ctx, api.QueueOptions{State: string(structs.JobPending), Limit: max(n, 1)}); err != nil {
		return nil, 0, err
	}
	f.pending = f.pending[:min(n, len(f.pending))]
	return f, idx, nil
}

// termWidth is the terminal's width from $COLUMNS, 120 without it.
func termWidth() int {
	var w int
	if _, err := fmt.Sscan(os.Getenv("COLUMNS"), &w); err == nil && w >= 40 {
		return w
	}
	return 120
}

// bar draws ratio (0..1) as a bar of width cells.
func bar(ratio float64, width int) string {
	ratio = max(0, min(1, ratio))
	full := int(ratio*float64(width) + 0.5)
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}

func formatTop(w io.Writer, f *topFrame, now time.Time, width int) error {
	jobs := map[string]*structs.Job{}
	for _, j := range f.running {
		jobs[j.ID] = j
	}
	// Free: what a job could get now. The idle GPUs of a node that takes
	// no new work (down, unreachable, draining, ineligible) are unavailable.
	var total, held, bad, off int
	for _, n := range f.nodes {
		usable := n.Schedulable()
		for _, g := range n.GPUs {
			total++
			switch {
			case g.JobID != "":
				held++
			case !g.Healthy:
				bad++
			case !usable:
				off++
			}
		}
	}
	unavailable := ""
	if off > 0 {
		unavailable = fmt.Sprintf(", %d unavailable", off)
	}
	fmt.Fprintf(w, "nai top  %s  %s, %s: %d allocated, %d free%s, %d unhealthy  queue: %d running, %d pending\n\n",
		now.Format("15:04:05"), plural(len(f.nodes), "node"), plural(total, "GPU"), held, total-held-bad-off, unavailable, bad, len(f.running), f.totalPending)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tGPU\tMODEL\tOWNER\tJOB\tUTIL\t\tMEMORY")
	nodes := slices.Clone(f.nodes)
	slices.SortFunc(nodes, func(a, b *structs.Node) int { return strings.Compare(a.Name, b.Name) })
	barWidth := 10
	if width < 100 {
		barWidth = 5
	}
	for _, n := range nodes {
		if len(n.GPUs) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t\t-\n", n.Name, nodeState(n))
		}
		for i, g := range n.GPUs {
			name, state := n.Name, nodeState(n)
			if i > 0 {
				name, state = "", ""
			}
			owner, job, util, pct, mem := "-", "-", bar(0, barWidth), "-", "-"
			switch {
			case g.JobID != "":
				owner, job = "?", g.JobID
				if j := jobs[g.JobID]; j != nil {
					owner, job = j.User, g.JobID+" "+j.Name
				}
				util, pct = bar(float64(g.UtilizationPercent)/100, barWidth), fmt.Sprintf("%d%%", g.UtilizationPercent)
				mem = structs.FormatSize(g.MemoryUsedBytes) + " / " + structs.FormatSize(g.MemoryBytes)
			case !g.Healthy:
				owner, job = "unhealthy", jobtext.OrDash(g.Unhealthy)
				mem = structs.FormatSize(g.MemoryBytes)
			case !n.Schedulable():
				owner, job = "unavailable", whyUnavailable(n)
				mem = structs.FormatSize(g.MemoryBytes)
			default:
				mem = "free / " + structs.FormatSize(g.MemoryBytes)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", name, state, g.Index, g.Model, owner, truncate(job, 28), util, pct, mem)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(f.pending) == 0 {
		fmt.Fprintln(w, "No job is waiting.")
		return nil
	}
	fmt.Fprintf(w, "Head of the queue (%d of %d pending)\n", len(f.pending), f.totalPending)
	return jobtext.QueueTable(w, f.pending, now)
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
