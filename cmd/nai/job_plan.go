package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

// Exit codes of `nai job plan`, as `nomad job plan` has its own: scripts
// can ask "would this start now?" without reading the output.
const (
	planStartsNow = 0 // the job would start now; a sweep: some member would
	planWaits     = 1 // the job would wait (or be cancelled); a sweep: none would start
	planError     = 2 // the plan could not be made (bad file, no agent, ...)
)

func jobPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "dry run: where a job file would start now, or why it would wait and until when (like sbatch --test-only)",
		ArgsUsage: "[-json] [-gpus N] [-cpu N] [-mem SIZE] [-time DURATION] [-name NAME] [-queue QUEUE] [-dependency afterok:ID[:ID...]] ([-var k=v]... [-var-file F]... FILE | -- COMMAND [ARGS...])",
		Description: "Runs the cluster's scheduler on its current state with the job added, and submits nothing.\n" +
			"The job is a job file or a command after --, as with nai job run: nai job plan -gpus 8 -- python3 train.py\n" +
			"With a file, -gpus, -cpu, -mem, -time, -name, -queue and -dependency override what the file says, as with nai job run.\n" +
			"Exit status: 0 when the job would start now (a sweep: when any member would), 1 when it would wait\n" +
			"(or be cancelled; a sweep: when no member would start), 2 on errors.",
		Flags:  append([]cli.Flag{jsonFlag(), varFlag(), varFileFlag()}, append(oneLinerFlags(), addressFlag())...),
		Action: jobPlan,
		OnUsageError: func(c *cli.Context, err error, sub bool) error {
			return planFailed(c.Context, onUsageError(c, err, sub))
		},
	}
}

func jobPlan(c *cli.Context) error {
	starts, err := runJobPlan(c)
	if err != nil {
		return planFailed(c.Context, err)
	}
	if !starts {
		return exitCode(planWaits)
	}
	return nil
}

// runJobPlan asks for the plan and prints it; starts is whether every job
// would start now.
func runJobPlan(c *cli.Context) (bool, error) {
	res, file, err := jobOrCommand(c)
	if err != nil {
		return false, err
	}
	cl, err := newClient(c)
	if err != nil {
		return false, err
	}
	// The code folder is not uploaded: a dry run writes nothing, and the
	// scheduler does not look at code.
	ownJobs(cl, res.Jobs)
	resp, err := cl.PlanJobs(c.Context, res.Jobs...)
	if err != nil {
		return false, fmt.Errorf("plan %s: %w", file, err)
	}
	if c.Bool("json") {
		err = printJSON(c.App.Writer, resp)
	} else {
		err = formatPlan(c.App.Writer, resp, res.Sweep, time.Now())
	}
	// A job starts or waits; a sweep is under way when any member would
	// start now (the others waiting for them, or for room).
	starts := len(resp.Jobs) > 0
	if res.Sweep {
		starts = slices.ContainsFunc(resp.Jobs, func(r structs.JobPlanResult) bool { return r.StartsNow() })
	} else {
		for i := range resp.Jobs {
			starts = starts && resp.Jobs[i].StartsNow()
		}
	}
	return starts, err
}

// planFailed gives every error of the plan command exit status 2, so it
// cannot be mistaken for "would wait" (1). Diagnostics of a bad job file
// were printed already.
func planFailed(ctx context.Context, err error) error {
	var printed exitCode
	var ue *usageError
	switch {
	case errors.As(err, &printed):
		return exitCode(planError)
	case ctx != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		return err // interrupted: report says so, with its own status
	case errors.As(err, &ue):
		return cli.Exit(fmt.Sprintf("%s (usage: %s)", ue.msg, ue.usage), planError)
	}
	msg := err.Error()
	if isConnError(err) {
		msg += "\n" + unreachableHint(err)
	}
	return cli.Exit(msg, planError)
}

// formatPlan writes one line per job: where it would start, or why it
// would wait and when it is expected to start; under a waiting job, how
// many nodes each scheduler test ruled out.
func formatPlan(w io.Writer, resp *structs.JobPlanResponse, sweep bool, now time.Time) error {
	var b strings.Builder
	indent := ""
	if sweep && len(resp.Jobs) > 0 {
		starting := 0
		for i := range resp.Jobs {
			if resp.Jobs[i].StartsNow() {
				starting++
			}
		}
		fmt.Fprintf(&b, "Sweep %q of %s: %d would start now, %d would wait\n",
			resp.Jobs[0].Name, plural(len(resp.Jobs), "job"), starting, len(resp.Jobs)-starting)
		indent = "  "
	}
	for i := range resp.Jobs {
		r := &resp.Jobs[i]
		label := fmt.Sprintf("Job %q", r.Name)
		if sweep {
			label += fmt.Sprintf(" [%d]", (&structs.Job{ArrayIndex: r.ArrayIndex, SweepValues: r.SweepValues}).ArrayTask())
			if len(r.SweepValues) > 0 {
				var kv []string
				for _, k := range slices.Sorted(maps.Keys(r.SweepValues)) {
					kv = append(kv, k+"="+r.SweepValues[k])
				}
				label += " (" + strings.Join(kv, ", ") + ")"
			}
		}
		fmt.Fprintf(&b, "%s%s %s\n", indent, label, planOutcome(r, now))
		if r.Wait != nil && !r.Cancelled {
			if f := structs.FormatNodeFilters(r.Wait.NodeFilters); f != "" {
				fmt.Fprintf(&b, "%s  %s\n", indent, f) // "6 nodes: not enough free GPUs; 2 nodes: draining"
			}
		}
		for _, p := range r.Preempt {
			fmt.Fprintf(&b, "%s  it would preempt job %s (allocation %s)\n", indent, p.JobID, p.AllocID)
		}
		if !sweep && r.Position > 0 {
			fmt.Fprintf(&b, "Queue position %d of %s\n", r.Position, plural(resp.Pending, "pending job"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// planOutcome is the rest of a job's line: "would start now on node ..."
// or "would wait: REASON; estimated start ...".
func planOutcome(r *structs.JobPlanResult, now time.Time) string {
	switch {
	case r.Cancelled && r.Wait != nil:
		return "would be cancelled at once: " + r.Wait.Reason
	case r.Wait != nil:
		s := "would wait: " + r.Wait.Reason
		if est := r.Wait.EstimatedStart; !est.IsZero() {
			return s + "; estimated start " + stamp(est, now)
		}
		return s + "; no estimated start"
	case len(r.Placements) == 1:
		p := r.Placements[0]
		return "would start now on node " + placementNode(p) + " with " + gpuWords(p.GPUs)
	case len(r.Placements) > 1:
		parts := make([]string, len(r.Placements))
		for i, p := range r.Placements {
			parts[i] = fmt.Sprintf("%s (%s)", placementNode(p), gpuWords(p.GPUs))
		}
		return fmt.Sprintf("would start now on %d nodes: %s", len(r.Placements), strings.Join(parts, ", "))
	}
	return "has no answer from the scheduler"
}

func placementNode(p structs.Placement) string {
	if p.NodeName != "" {
		return p.NodeName
	}
	return jobtext.ShortID(p.NodeID)
}

// gpuWords is "GPUs 0,1", "GPU 3" or "no GPUs".
func gpuWords(gpus []int) string {
	switch len(gpus) {
	case 0:
		return "no GPUs"
	case 1:
		return "GPU " + gpuList(gpus)
	}
	return "GPUs " + gpuList(gpus)
}
