package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

func jobCommand() *cli.Command {
	withAddr := func(fs ...cli.Flag) []cli.Flag { return append(fs, addressFlag()) }
	return &cli.Command{
		Name:   "job",
		Usage:  "submit, follow and inspect training jobs",
		Action: parentAction,
		Subcommands: []*cli.Command{
			jobPriorityCommand(),
			{
				Name:      "run",
				Usage:     "submit a job file or an sbatch script and follow it (like srun), or print its id (-detach, like sbatch --parsable)",
				ArgsUsage: "[-detach] [-json] [-var k=v]... [-var-file F]... FILE",
				Flags: withAddr(
					&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "print only the job id (the array id for a sweep) and return"},
					&cli.BoolFlag{Name: "json", Usage: "print the server's answer (job ids, warnings) as JSON and return"},
					varFlag(), varFileFlag(),
				),
				Action: jobRun,
			},
			{
				Name:      "validate",
				Usage:     "check a job file without submitting it",
				ArgsUsage: "[-var k=v]... [-var-file F]... FILE",
				Flags:     []cli.Flag{varFlag(), varFileFlag()},
				Action:    jobValidate,
			},
			jobPlanCommand(),
			jobConvertCommand(),
			{
				Name:      "status",
				Usage:     "show a job: state, reason, node, GPUs, times, exit, metrics (an array id shows the sweep folded; ARRAY_INDEX one member)",
				ArgsUsage: "[-json] [-member] ID",
				Flags:     withAddr(jsonFlag(), &cli.BoolFlag{Name: "member", Usage: "for an array id, show its first member rather than the whole sweep"}),
				Action:    jobStatus,
			},
			{
				Name:      "inspect",
				Usage:     "print the job as the server holds it (JSON), or as a job file (-hcl) that nai job run accepts",
				ArgsUsage: "[-hcl|-json] ID",
				Flags:     withAddr(jsonFlag(), &cli.BoolFlag{Name: "hcl", Usage: "print the job as an HCL job file"}),
				Action:    jobInspect,
			},
			{
				Name:      "logs",
				Usage:     "print a job's stdout (or stderr)",
				ArgsUsage: "[-f] [-stderr] ID",
				Flags: withAddr(
					&cli.BoolFlag{Name: "f", Aliases: []string{"follow"}, Usage: "keep printing until the job ends"},
					&cli.BoolFlag{Name: "stderr", Usage: "print standard error instead of standard output"},
				),
				Action: jobLogs,
			},
			{
				Name:      "cancel",
				Usage:     "stop a job (pending jobs leave the queue; running ones are killed)",
				ArgsUsage: "ID",
				Flags:     withAddr(),
				Action:    jobCancel,
			},
			{
				Name:      "outputs",
				Usage:     "download what a job left in NAI_OUTPUT_DIR and unpack it",
				ArgsUsage: "ID -o DIR",
				Flags: withAddr(
					&cli.StringFlag{Name: "o", Aliases: []string{"output"}, Usage: "new or empty directory to unpack into (default job-ID-outputs)"},
				),
				Action: jobOutputs,
			},
			{
				Name:      "metrics",
				Usage:     "print the last value of each metric a job reported (-all: every line it wrote; -plot KEY: draw its curve)",
				ArgsUsage: "[-json] [-all] [-plot KEY] ID",
				Flags:     withAddr(append([]cli.Flag{jsonFlag(), &cli.BoolFlag{Name: "all", Usage: "print the full history, every line of NAI_METRICS_FILE"}}, plotFlags()...)...),
				Action:    jobMetrics,
			},
		},
	}
}

// oneID returns the single positional argument, a job id.
func oneID(c *cli.Context) (string, error) {
	args := c.Args().Slice()
	if err := needArgs(1, args, "job ID", usageLine(c)); err != nil {
		return "", err
	}
	if strings.TrimSpace(args[0]) == "" {
		return "", &usageError{msg: "empty job ID", usage: usageLine(c)}
	}
	return args[0], nil
}

func jobStatus(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if arr, idx, ok := strings.Cut(id, "_"); ok {
		// Slurm's ARRAY_INDEX names one member of a sweep.
		members, err := cl.ArrayJobs(c.Context, arr)
		if err != nil {
			return err
		}
		found := false
		for _, m := range members {
			if strconv.Itoa(m.ArrayIndex) == idx {
				id, found = m.ID, true
			}
		}
		if !found {
			return fmt.Errorf("job array %s has no member %s", arr, idx)
		}
	}
	j, _, err := cl.Job(c.Context, id)
	if err != nil {
		return err
	}
	if j.ArrayID == j.ID && !c.Bool("member") {
		// The array id shows the whole sweep, folded.
		members, err := cl.ArrayJobs(c.Context, j.ArrayID)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return printJSON(c.App.Writer, members)
		}
		return formatArrayStatus(c.App.Writer, members, time.Now())
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, j)
	}
	allocs, err := cl.JobAllocations(c.Context, id)
	if err != nil && !api.IsNotFound(err) {
		return fmt.Errorf("list attempts of job %s: %w", id, err)
	}
	return formatJobStatus(c.App.Writer, j, allocs, time.Now())
}

func jobInspect(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if c.Bool("hcl") && c.Bool("json") {
		return &usageError{msg: "-hcl and -json are alternatives: give one", usage: usageLine(c)}
	}
	j, _, err := cl.Job(c.Context, id)
	if err != nil {
		return err
	}
	if c.Bool("hcl") {
		_, err := c.App.Writer.Write(jobspec.FormatHCL(j))
		return err
	}
	return printJSON(c.App.Writer, j)
}

func jobLogs(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	rc, err := cl.Logs(c.Context, id, api.LogOptions{Stderr: c.Bool("stderr"), Follow: c.Bool("f")})
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(c.App.Writer, rc); err != nil {
		return fmt.Errorf("read logs of job %s: %w", id, err)
	}
	// A job from a script with --output/--error gets its log files too.
	if j, _, err := cl.Job(c.Context, id); err == nil && j.LogPaths != nil {
		saveLogFiles(c.Context, cl, j, c.App.ErrWriter)
	}
	return nil
}

func jobCancel(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if err := cl.Cancel(c.Context, id); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "Cancel requested for job %s.\n", id)
	return err
}

func jobMetrics(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	if k := c.String("plot"); k != "" {
		return jobMetricsPlot(c, id, k) // plot.go
	}
	if c.Bool("all") {
		return jobMetricsAll(c, id)
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	m, err := cl.Metrics(c.Context, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, m)
	}
	if len(m.Metrics) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "Job %s has reported no metrics.\n", id)
		return nil
	}
	return formatMetrics(c.App.Writer, m.Metrics)
}

func jobOutputs(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	dir := c.String("o")
	if dir == "" {
		dir = "job-" + strings.ReplaceAll(id, "/", "_") + "-outputs"
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	rc, err := cl.Outputs(c.Context, id)
	if err != nil {
		return err
	}
	defer rc.Close()
	st, err := archive.ExtractNew(rc, dir, archive.Limits{})
	if err != nil {
		if errors.Is(err, archive.ErrUnsafe) || errors.Is(err, archive.ErrTooLarge) {
			return fmt.Errorf("outputs of job %s refused, nothing written: %w", id, err)
		}
		return fmt.Errorf("unpack outputs of job %s: %w", id, err)
	}
	for _, s := range st.Skipped {
		fmt.Fprintf(c.App.ErrWriter, "Skipped symlink %s: it points outside %s\n", s, dir)
	}
	if more := st.SkippedCount - len(st.Skipped); more > 0 {
		fmt.Fprintf(c.App.ErrWriter, "Skipped %d more symlinks pointing outside %s\n", more, dir)
	}
	_, err = fmt.Fprintf(c.App.ErrWriter, "Wrote %s (%s) to %s\n", plural(st.Files, "file"), structs.FormatSize(st.Bytes), dir)
	return err
}

// formatMetrics writes KEY VALUE lines sorted by key.
func formatMetrics(w io.Writer, m map[string]float64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(tw, "%s\t%s\n", k, formatFloat(m[k]))
	}
	return tw.Flush()
}

// formatJobStatus is the human view of one job and its attempts.
func formatJobStatus(w io.Writer, j *structs.Job, allocs []*structs.Allocation, now time.Time) error {
	kv := newKV(w)
	kv.add("ID", j.ID)
	kv.add("Name", j.Name)
	kv.add("User", orDash(j.User))
	kv.addIf("Group", j.Group)
	kv.add("Queue", orDash(j.Queue))
	kv.add("Priority", fmt.Sprint(j.Priority))
	kv.add("Status", string(j.Status))
	kv.addIf("Reason", j.Reason)
	if j.Status == structs.JobPending && !j.EstimatedStart.IsZero() {
		kv.add("Estimated start", stamp(j.EstimatedStart, now))
	}
	if j.ArrayID != "" {
		kv.add("Array", fmt.Sprintf("%s_%d", j.ArrayID, j.ArrayIndex))
		for _, k := range slices.Sorted(maps.Keys(j.SweepValues)) {
			kv.add("sweep."+k, j.SweepValues[k])
		}
	}
	kv.add("Resources", resourceSummary(j.Resources))
	if j.TimeLimit > 0 {
		kv.add("Time limit", human(j.TimeLimit.D()))
	}
	if j.NodeID != "" || j.NodeName != "" {
		kv.add("Node", nodeLabel(j))
		kv.add("GPUs", gpuList(j.GPUs))
	}
	if j.Attempt > 1 {
		kv.add("Attempt", fmt.Sprint(j.Attempt))
	}
	kv.add("Submitted", stamp(j.SubmitTime, now))
	if !j.StartTime.IsZero() {
		kv.add("Started", stamp(j.StartTime, now))
	}
	if !j.EndTime.IsZero() {
		kv.add("Ended", stamp(j.EndTime, now))
	}
	if d, ok := runtime(j, now); ok {
		kv.add("Runtime", human(d))
	}
	if j.Status.Terminal() {
		kv.add("Exit", orDash(exitSummary(j)))
	}
	if j.OutputDigest != "" {
		kv.add("Outputs", fmt.Sprintf("%s (%s)", structs.FormatSize(j.OutputSize), shortDigest(j.OutputDigest)))
	}
	if err := kv.flush(); err != nil {
		return err
	}
	if len(allocs) > 0 {
		fmt.Fprintln(w, "\nAttempts")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ATTEMPT\tALLOC\tNODE\tGPUS\tSTATUS\tEXIT\tSTARTED\tRUNTIME\tMAX MEMORY")
		for _, a := range allocs {
			cs := a.ClientStatus
			node := a.NodeName
			if node == "" {
				node = shortID(a.NodeID)
			}
			exit := "-"
			if cs.ExitCode != nil || cs.ExitReason != "" {
				exit = exitSummary(&structs.Job{ExitCode: cs.ExitCode, ExitReason: cs.ExitReason})
			}
			started, took := "-", "-"
			if !cs.StartTime.IsZero() {
				started = shortTime(cs.StartTime, now)
				end := cs.EndTime
				if end.IsZero() {
					end = now
				}
				took = human(end.Sub(cs.StartTime))
			}
			mem := "-"
			if cs.Usage != nil && cs.Usage.MaxMemoryBytes > 0 {
				mem = structs.FormatSize(cs.Usage.MaxMemoryBytes)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				a.Attempt, a.ID, orDash(node), gpuList(a.GPUs), orDash(string(cs.Status)), exit, started, took, mem)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if err := formatGPUUsage(w, allocs[len(allocs)-1]); err != nil {
			return err
		}
	}
	if len(j.Metrics) > 0 {
		fmt.Fprintln(w, "\nMetrics")
		return formatMetrics(w, j.Metrics)
	}
	return nil
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return "sha256:" + d
}

// resourceSummary reads like the job file: "2 CPU, 4GiB memory, 2 x H100 GPU (>= 40GiB each)".
func resourceSummary(r structs.Resources) string {
	s := fmt.Sprintf("%s CPU, %s memory", formatFloat(r.CPU), structs.FormatSize(r.MemoryBytes))
	if g := r.GPU; g.Count > 0 {
		s += fmt.Sprintf(", %d", g.Count)
		if g.Model != "" {
			s += " x " + g.Model
		}
		s += " GPU"
		if g.MemoryBytes > 0 {
			s += fmt.Sprintf(" (>= %s each)", structs.FormatSize(g.MemoryBytes))
		}
	}
	if r.Nodes > 1 {
		s += fmt.Sprintf(", on each of %d nodes", r.Nodes)
	}
	return s
}
