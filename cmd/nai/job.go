package main

import (
	"bytes"
	"cmp"
	"context"
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
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

func jobCommand() *cli.Command {
	withAddr := func(fs ...cli.Flag) []cli.Flag { return append(fs, addressFlag()) }
	list := queueCommandNamed("list")
	list.Usage = "list jobs (the same as nai queue)"
	return &cli.Command{
		Name:   "job",
		Usage:  "submit, follow and inspect training jobs",
		Action: parentAction,
		Subcommands: []*cli.Command{
			jobPriorityCommand(),
			jobRunCommand(),
			{
				Name:      "validate",
				Usage:     "check a job file without submitting it",
				ArgsUsage: "[-var NAME=VALUE]... [-var-file FILE]... FILE",
				Flags:     []cli.Flag{varFlag(), varFileFlag()},
				Action:    jobValidate,
			},
			jobPlanCommand(),
			jobConvertCommand(),
			list,
			{
				Name:      "status",
				Usage:     "show a job: state, reason, node, GPUs, times, exit, metrics (an array id shows the sweep folded; ID_N one member)",
				ArgsUsage: "[-json] [-member] ID|ID_N",
				Flags:     withAddr(jsonFlag(), &cli.BoolFlag{Name: "member", Usage: "for an array id, show its first member rather than the whole sweep"}),
				Action:    jobStatus,
			},
			{
				Name:      "inspect",
				Usage:     "print the job as the server holds it (JSON), or as a job file (-hcl) that nai job run submits again, code included",
				ArgsUsage: "[-hcl|-json] ID|ID_N",
				Flags:     withAddr(jsonFlag(), &cli.BoolFlag{Name: "hcl", Usage: "print the job as an HCL job file"}),
				Action:    jobInspect,
			},
			{
				Name:      "logs",
				Usage:     "print a job's stdout (or stderr); -tail N the last lines, -f keeps following; a job on several nodes: rank 0's, -rank N another's",
				ArgsUsage: "[-f] [-tail N] [-stderr] [-attempt N] [-rank N] ID|ID_N",
				Flags: withAddr(
					&cli.BoolFlag{Name: "f", Aliases: []string{"follow"}, Usage: "keep printing until the job ends"},
					&cli.IntFlag{Name: "tail", Aliases: []string{"n"}, Value: -1, DefaultText: "all", Usage: "print only the last `N` lines (with -f: then follow from there)"},
					&cli.BoolFlag{Name: "stderr", Usage: "print standard error instead of standard output"},
					&cli.IntFlag{Name: "attempt", Usage: "print attempt `N` of a requeued job (nai job status lists them) instead of the latest"},
					rankFlag("print the log of rank `N` of a job on several nodes (nai job status lists them)"),
				),
				Action: jobLogs,
			},
			jobCancelCommand(),
			jobHoldCommand(),
			jobReleaseCommand(),
			jobUpdateCommand(),
			{
				Name:      "outputs",
				Usage:     "download what a job left in NAI_OUTPUT_DIR and unpack it; a job on several nodes: rank 0's, -rank N another's; an array: -all, every member's",
				ArgsUsage: "[-o DIR] [-json] [-rank N | -all] ID|ID_N",
				Flags: withAddr(
					&cli.StringFlag{Name: "o", Aliases: []string{"output"}, Usage: "new or empty `DIR` to unpack into (default job-ID-outputs, job-ID-rank-N-outputs with -rank)"},
					&cli.BoolFlag{Name: "json", Usage: "print what was written (folder, files, bytes) as JSON"},
					&cli.BoolFlag{Name: "all", Usage: "an array (sweep) id: every member's outputs, each in DIR/ID_N"},
					rankFlag("download the outputs of rank `N` of a job on several nodes, of its latest attempt (nai job status lists them)"),
				),
				Action: jobOutputs,
			},
			{
				Name:      "metrics",
				Usage:     "print the last value of each metric a job reported (-all: every line it wrote; -plot KEY: draw its curve); an array id compares its members",
				ArgsUsage: "[-json] [-all] [-plot KEY] [-sort KEY[:asc|:desc]] ID|ID_N|ARRAY",
				Flags: withAddr(append([]cli.Flag{jsonFlag(),
					&cli.BoolFlag{Name: "all", Usage: "print the full history, every JSON line of NAI_METRICS_FILE (NaN and Infinity kept; lines that are not JSON counted)"},
					&cli.StringFlag{Name: "sort", Usage: "for an array, order members best first by this metric `KEY` (lower is better for loss, error and the like; add :asc or :desc to say)"},
				}, plotFlags()...)...),
				Action: jobMetrics,
			},
		},
	}
}

// rankFlag is -rank N: one rank of a job on several nodes, whose job keeps
// its rank 0's outputs and log.
func rankFlag(usage string) cli.Flag {
	return &cli.IntFlag{Name: "rank", DefaultText: "0, the job's", Usage: usage}
}

// rankArg is -rank N when given, checked to be 0 or more (the servers
// check it against the job's nodes).
func rankArg(c *cli.Context, ref string) (*int, error) {
	if !c.IsSet("rank") {
		return nil, nil
	}
	n := c.Int("rank")
	if n < 0 {
		return nil, &usageError{msg: fmt.Sprintf("-rank %d: expected a rank, 0 to the job's nodes less one (nai job status %s lists them)", n, ref), usage: usageLine(c)}
	}
	return &n, nil
}

func jobRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "submit a job file, an sbatch script or a command after -- and follow it (like srun), or print its id (-detach, like sbatch --parsable)",
		ArgsUsage: "[-detach] [-json] [-hold] [-group G] [-gpus N] [-cpu N] [-mem SIZE] [-time DURATION] [-name NAME] [-queue QUEUE] [-code DIR] [-dependency afterok:ID[:ID...]] ([-var NAME=VALUE]... [-var-file FILE]... FILE | SCRIPT [ARGS...] | -- COMMAND [ARGS...])",
		Description: "A job file (HCL), a batch script with #SBATCH lines, or a command given after \"--\"\n" +
			"(like srun or sbatch --wrap): nai job run -gpus 1 -code . -- python3 train.py --lr 0.1\n" +
			"A batch script's own arguments follow it, as with sbatch: nai job run train.sh cfg.yaml gives the script $1.\n" +
			"A single argument after -- with spaces in it runs as a shell script: -- 'python3 a.py && python3 b.py'.\n" +
			"With a file, -gpus, -cpu, -mem, -time, -name, -queue, -code and -dependency override what the file says,\n" +
			"as sbatch's options override #SBATCH lines, in every member of a sweep: nai job run -time 5m -name quick train.sh\n" +
			"-dependency takes sbatch's --dependency (its -d is -detach here): nai job run -dependency afterok:12:13_2 eval.hcl\n" +
			"Following prints the job's stdout on stdout and its stderr on stderr, each line marked \"stderr: \",\n" +
			"in the order they arrive, and exits with the job's exit code.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "print only the job id (the array id for a sweep) and return"},
			&cli.BoolFlag{Name: "json", Usage: "print the server's answer (job ids, warnings) as JSON and return"},
			&cli.StringFlag{Name: "group", Usage: "the `GROUP` the job belongs to (default: the file's group, else your personal group)"},
			&cli.BoolFlag{Name: "hold", Aliases: []string{"H"}, Usage: "submit the job held: it waits until nai job release (like sbatch --hold)"},
			varFlag(), varFileFlag(),
		}, append(oneLinerFlags(), addressFlag())...),
		Action: jobRun,
	}
}

func jobCancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Aliases:   []string{"stop"},
		Usage:     "stop jobs (pending jobs leave the queue; running ones are killed), by id or by selection (like scancel)",
		ArgsUsage: "[-yes] [-json] ID|ID_N|ID_[2-5,7]... | [-u USERS | -me] [-state STATES] [-queue QUEUES] [-name GLOBS]",
		Description: "An array id cancels the whole sweep; ID_N and ID_[2-5,7] cancel members of it.\n" +
			"With -u, -me, -state, -queue or -name and no ids, every pending or running job that matches is\n" +
			"cancelled; with ids too, only those of them that match. More than 10 jobs ask for confirmation\n" +
			"unless -yes is given. Ids that name no job are listed, the others cancelled, and the exit status is 1.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask before cancelling more than 10 jobs"},
			&cli.BoolFlag{Name: "json", Usage: "print the jobs cancelled, those that had already ended and the ids not found as JSON"},
		}, append(selectionFlags(), addressFlag())...),
		Action: jobCancel,
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
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	_, id, err := refArg(c, cl)
	if err != nil {
		return err
	}
	j, _, err := cl.Job(c.Context, id)
	if err != nil {
		return err
	}
	if j.ArrayID == j.ID && !c.Bool("member") && !strings.Contains(c.Args().First(), "_") {
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
	var checked *structs.JobMetrics
	if len(j.Metrics) > 0 || len(j.NonFiniteMetrics) > 0 || j.MetricsDigest != "" {
		// The history says what the job does not: the lines that were
		// not JSON, and a NaN loss of a job whose servers did not keep
		// it yet (raft log format 6 and older), whose last finite value
		// would show. Not worth failing the status over.
		checked, _ = cl.MetricsChecked(c.Context, id)
	}
	return formatJobStatus(c.App.Writer, j, allocs, checked, time.Now())
}

func jobInspect(c *cli.Context) error {
	if c.Bool("hcl") && c.Bool("json") {
		return &usageError{msg: "-hcl and -json are alternatives: give one", usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	_, id, err := refArg(c, cl)
	if err != nil {
		return err
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

func jobLogs(c *cli.Context) (err error) {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	tail := c.Int("tail")
	if c.IsSet("tail") && tail < 0 {
		return &usageError{msg: fmt.Sprintf("-tail %d: expected a number of lines, 0 or more", tail), usage: usageLine(c)}
	}
	ref, id, err := oneJobRefArg(c, cl, "logs")
	if err != nil {
		return err
	}
	// A job that never ran has no log: say so rather than print nothing.
	out := &countingWriter{w: c.App.Writer}
	defer func() {
		if err == nil && out.n == 0 {
			noLogsNote(c.Context, cl, ref, id, c.App.ErrWriter)
		}
	}()
	rank, err := rankArg(c, ref)
	if err != nil {
		return err
	}
	opts := api.LogOptions{Stderr: c.Bool("stderr"), Follow: c.Bool("f"), Rank: rank}
	if c.IsSet("attempt") {
		// An earlier attempt's allocation is of one rank already.
		if opts.Alloc, err = attemptAlloc(c, cl, ref, id, rank); err != nil {
			return err
		}
		opts.Rank = nil
	}
	if tail >= 0 {
		// Only the end of the log is read (a negative offset), then
		// followed on from where the read stopped.
		last, info, err := logTail(c.Context, cl, id, api.LogOptions{Stderr: opts.Stderr, Alloc: opts.Alloc, Rank: opts.Rank}, tail)
		if err != nil {
			return fmt.Errorf("read logs of job %s: %w", id, err)
		}
		if _, err := out.Write(last); err != nil {
			return err
		}
		if !opts.Follow {
			return nil
		}
		opts.Offset = info.Offset
		return followLogs(c.Context, cl, ref, id, opts, info.Alloc, out, c.App.ErrWriter)
	}
	if opts.Follow {
		return followLogs(c.Context, cl, ref, id, opts, "", out, c.App.ErrWriter)
	}
	rc, err := cl.Logs(c.Context, id, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(out, rc); err != nil {
		return fmt.Errorf("read logs of job %s: %w", id, err)
	}
	// A job from a script with --output/--error gets its log files too
	// (the latest attempt's: an earlier one would overwrite them).
	if j, _, err := cl.Job(c.Context, id); err == nil && j.LogPaths != nil && opts.Alloc == "" && opts.Rank == nil {
		saveLogFiles(c.Context, cl, j, c.App.ErrWriter)
	}
	return nil
}

// followLogs copies job id's log from opts.Offset until the job ends. A
// stream that ends while the job still runs (its node's agent restarted,
// a server went away) is opened again at the byte it stopped at, and a
// requeued job's new attempt from byte 0 (unless -attempt chose one); a
// note on errw says so when the log has not come back for a while.
func followLogs(ctx context.Context, cl *api.Client, ref, id string, opts api.LogOptions, alloc string, out, errw io.Writer) error {
	backoff := 250 * time.Millisecond
	var lost time.Time // when the stream last ended with the job still running
	noted := false
	for {
		rc, got, err := cl.LogStream(ctx, id, opts)
		if err == nil && opts.Alloc == "" && got != "" && alloc != "" && got != alloc {
			rc.Close()
			// First the rest of the attempt that ended (and of any that
			// came and went since), then the new one.
			if _, err := earlierLogs(ctx, cl, id, opts.Stderr, alloc, opts.Offset, got, out); err != nil && ctx.Err() == nil {
				fmt.Fprintf(errw, "Warning: could not read the rest of the log of an earlier attempt of job %s: %v\n", ref, err)
			}
			fmt.Fprintf(errw, "==> job %s runs again (allocation %s); its log starts over\n", ref, got)
			alloc, opts.Offset = got, 0
			continue
		}
		if got != "" {
			alloc = got
		}
		if err == nil {
			var n int64
			n, err = io.Copy(out, rc)
			rc.Close()
			opts.Offset += n
			if n > 0 {
				backoff, lost, noted = 250*time.Millisecond, time.Time{}, false
			}
		}
		if ctx.Err() != nil {
			return nil // interrupted: the log so far is printed
		}
		var e *structs.Error
		if errors.As(err, &e) && e.Code != structs.CodeUnavailable {
			return fmt.Errorf("read logs of job %s: %w", ref, err) // refused: retrying will not help
		}
		ended, jerr := logEnded(ctx, cl, id, opts.Alloc)
		if jerr == nil && ended {
			// One last read for what was written at the very end.
			if rc, _, err := cl.LogStream(ctx, id, api.LogOptions{Stderr: opts.Stderr, Alloc: opts.Alloc, Rank: opts.Rank, Offset: opts.Offset}); err == nil {
				_, err = io.Copy(out, rc)
				rc.Close()
				if err != nil {
					return fmt.Errorf("read logs of job %s: %w", ref, err)
				}
			}
			return nil
		}
		if lost.IsZero() {
			lost = time.Now()
		}
		if !noted && time.Since(lost) > 5*time.Second {
			why := "the stream ended while the job runs"
			if err != nil {
				why = err.Error()
			} else if jerr != nil {
				why = jerr.Error()
			}
			fmt.Fprintf(errw, "==> the log of job %s is not coming through (%s); still trying, Ctrl-C to stop\n", ref, why)
			noted = true
		}
		if sleepCtx(ctx, backoff) != nil {
			return nil
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// logEnded says whether the log being followed is complete: the job's,
// once the job has ended; an earlier attempt's (-attempt), once that
// allocation has, while a later attempt may still run.
func logEnded(ctx context.Context, cl *api.Client, id, alloc string) (bool, error) {
	if alloc == "" {
		j, _, err := cl.Job(ctx, id)
		if err != nil {
			return false, err
		}
		return j.Status.Terminal(), nil
	}
	allocs, err := cl.JobAllocations(ctx, id)
	if err != nil {
		return false, err
	}
	for _, a := range allocs {
		if a.ID == alloc {
			return a.Terminal(), nil
		}
	}
	return true, nil // gone: nothing more will come
}

// attemptAlloc is the allocation of attempt -attempt N of job id (of
// rank 0, or of rank when not nil, for a job on several nodes), or an
// error that lists the attempts (or the ranks of that attempt) there are.
func attemptAlloc(c *cli.Context, cl *api.Client, ref, id string, rank *int) (string, error) {
	n := c.Int("attempt")
	if n < 1 {
		return "", &usageError{msg: fmt.Sprintf("-attempt %d: expected an attempt number, 1 or more (nai job status %s lists them)", n, ref), usage: usageLine(c)}
	}
	allocs, err := cl.JobAllocations(c.Context, id)
	if err != nil {
		return "", fmt.Errorf("list attempts of job %s: %w", ref, err)
	}
	r := 0
	if rank != nil {
		r = *rank
	}
	var have, ranks []int
	for _, a := range allocs {
		if a.Attempt == n {
			if a.Rank == r {
				return a.ID, nil
			}
			ranks = append(ranks, a.Rank)
		}
		if a.Rank == 0 {
			have = append(have, a.Attempt)
		}
	}
	if len(ranks) > 0 {
		slices.Sort(ranks)
		return "", structs.NewError(structs.CodeNotFound, "attempt %d of job %s has no rank %d (its ranks: %s)", n, ref, r, joinInts(ranks))
	}
	if len(have) == 0 {
		return "", structs.NewError(structs.CodeNotFound, "job %s has not run yet: it has no attempt %d", ref, n)
	}
	slices.Sort(have)
	return "", structs.NewError(structs.CodeNotFound, "job %s has no attempt %d (its attempts: %s)", ref, n, joinInts(slices.Compact(have)))
}

// joinInts is "1, 2, 3".
func joinInts(ns []int) string {
	words := make([]string, len(ns))
	for i, a := range ns {
		words[i] = strconv.Itoa(a)
	}
	return strings.Join(words, ", ")
}

// countingWriter counts what is written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// noLogsNote tells w, after an empty log, when that is because the job
// never started: "job 15 never started (cancelled): it has no logs". A job
// that ran and printed nothing gets no note.
func noLogsNote(ctx context.Context, cl *api.Client, ref, id string, w io.Writer) {
	j, _, err := cl.Job(ctx, id)
	if err != nil || j.AllocID != "" || !j.StartTime.IsZero() || j.Attempt > 0 {
		return
	}
	if j.Status.Terminal() {
		fmt.Fprintf(w, "Job %s never started (%s): it has no logs.\n", ref, j.Status)
		return
	}
	if j.Status == structs.JobPending {
		fmt.Fprintf(w, "Job %s has not started yet (%s): no logs yet.\n", ref, j.Status)
	}
}

// tailer keeps the last n lines written to it (a last line without a
// newline counts as one).
// tailWindow is how many bytes from a log's end logTail reads first.
const tailWindow = 64 << 10

// logTail reads the last n lines of a log, fetching only bytes from its
// end: a window that grows fourfold until it holds n whole lines or the
// whole log. It returns them, and info with Offset where the read ended
// (where a follower goes on).
func logTail(ctx context.Context, cl *api.Client, id string, o api.LogOptions, n int) ([]byte, api.LogInfo, error) {
	window := int64(tailWindow)
	for {
		o.Offset = -window
		rc, info, err := cl.LogRead(ctx, id, o)
		if err != nil {
			return nil, info, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, info, err
		}
		end := info.Offset + int64(len(data))
		whole := info.Offset == 0
		if !whole {
			// The window starts inside a line: that line is not whole.
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				data = nil
			} else {
				data = data[i+1:]
			}
		}
		t := newTailer(n)
		_, _ = t.Write(data)
		if whole || len(t.lines)+min(len(t.cur), 1) >= n || n == 0 {
			info.Offset = end
			return t.bytes(), info, nil
		}
		window *= 4
	}
}

type tailer struct {
	n     int
	lines [][]byte
	cur   []byte
}

func newTailer(n int) *tailer { return &tailer{n: n} }

func (t *tailer) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			t.cur = append(t.cur, rest...)
			break
		}
		t.cur = append(t.cur, rest[:i+1]...)
		t.lines = append(t.lines, t.cur)
		t.cur = nil
		if len(t.lines) > t.n {
			t.lines = t.lines[len(t.lines)-t.n:]
		}
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (t *tailer) bytes() []byte {
	lines := t.lines
	if len(t.cur) > 0 {
		lines = append(lines, t.cur)
	}
	if len(lines) > t.n {
		lines = lines[len(lines)-t.n:]
	}
	return bytes.Join(lines, nil)
}

func jobMetrics(c *cli.Context) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	ref, id, err := refArg(c, cl)
	if err != nil {
		return err
	}
	if k := c.String("plot"); k != "" {
		return jobMetricsPlot(c, id, k) // plot.go
	}
	if c.Bool("all") {
		return jobMetricsAll(c, cl, id)
	}
	if !strings.Contains(ref, "_") {
		j, _, err := cl.Job(c.Context, id)
		if err != nil {
			return err
		}
		if j.ArrayID == j.ID {
			return arrayMetrics(c, cl, j.ArrayID)
		}
	}
	if c.IsSet("sort") {
		return &usageError{msg: "-sort orders the members of an array: give an array id", usage: usageLine(c)}
	}
	m, err := cl.MetricsChecked(c.Context, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, m)
	}
	defer printMetricNotes(c.App.ErrWriter, m)
	if len(m.Metrics) == 0 && len(m.NonFinite) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "Job %s has reported no metrics.\n", ref)
		return nil
	}
	return formatMetrics(c.App.Writer, m.Metrics, m.NonFinite)
}

// metricNotes says what the last values alone do not: which metrics
// became NaN or ±Infinity and where, and how many lines were not JSON.
func metricNotes(m *structs.JobMetrics) []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m.NonFinite)) {
		nf := m.NonFinite[k]
		first := cmp.Or(nf.First, nf.Value)
		var note string
		if nf.Step != nil {
			note = fmt.Sprintf("%s became %s at step %s (line %d of NAI_METRICS_FILE)", jobtext.Printable(k), first, formatFloat(*nf.Step), nf.Line)
		} else {
			note = fmt.Sprintf("%s became %s at line %d of NAI_METRICS_FILE", jobtext.Printable(k), first, nf.Line)
		}
		if nf.Value != first {
			note += "; it is " + nf.Value + " now"
		}
		out = append(out, note)
	}
	switch n := m.SkippedLines; {
	case n == 1:
		out = append(out, "1 line of NAI_METRICS_FILE was not JSON and was skipped")
	case n > 1:
		out = append(out, fmt.Sprintf("%d lines of NAI_METRICS_FILE were not JSON and were skipped", n))
	}
	return out
}

func printMetricNotes(w io.Writer, m *structs.JobMetrics) {
	for _, n := range metricNotes(m) {
		fmt.Fprintln(w, n)
	}
}

// outputsWritten is what `nai job outputs -json` prints.
type outputsWritten struct {
	JobID string `json:"job_id"`
	// Rank is the rank asked for (-rank N), absent for the job's own.
	Rank  *int   `json:"rank,omitempty"`
	Dir   string `json:"dir"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

func jobOutputs(c *cli.Context) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if c.Bool("all") {
		return arrayOutputs(c, cl)
	}
	ref, id, err := oneJobRefArg(c, cl, "outputs")
	if err != nil {
		return err
	}
	rank, err := rankArg(c, ref)
	if err != nil {
		return err
	}
	dir := c.String("o")
	if dir == "" {
		dir = "job-" + strings.ReplaceAll(ref, "/", "_") + "-outputs"
		if rank != nil {
			dir = fmt.Sprintf("job-%s-rank-%d-outputs", strings.ReplaceAll(ref, "/", "_"), *rank)
		}
	}
	var size int64
	what := "outputs of job " + ref
	get := func() (io.ReadCloser, error) { return cl.Outputs(c.Context, id) }
	if rank != nil {
		what = fmt.Sprintf("outputs of rank %d of job %s", *rank, ref)
		get = func() (io.ReadCloser, error) { return cl.RankOutputs(c.Context, id, *rank) }
		size = rankOutputSize(c.Context, cl, id, *rank)
	} else if j, _, err := cl.Job(c.Context, id); err == nil {
		size = j.OutputSize
	}
	st, err := download(get, "", dir, size, what, c.App.ErrWriter)
	if err != nil {
		return outputsError(what, err)
	}
	for _, s := range st.Skipped {
		fmt.Fprintf(c.App.ErrWriter, "Skipped symlink %s: it points outside %s\n", s, dir)
	}
	if more := st.SkippedCount - len(st.Skipped); more > 0 {
		fmt.Fprintf(c.App.ErrWriter, "Skipped %d more symlinks pointing outside %s\n", more, dir)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, outputsWritten{JobID: id, Rank: rank, Dir: dir, Files: st.Files, Bytes: st.Bytes})
	}
	_, err = fmt.Fprintf(c.App.ErrWriter, "Wrote %s (%s) to %s\n", plural(st.Files, "file"), structs.FormatSize(st.Bytes), dir)
	return err
}

// rankOutputSize is the size of the outputs of rank n in job id's latest
// attempt, for the download's progress; 0 when unknown.
func rankOutputSize(ctx context.Context, cl *api.Client, id string, n int) int64 {
	j, _, err := cl.Job(ctx, id)
	if err != nil {
		return 0
	}
	allocs, err := cl.JobAllocations(ctx, id)
	if err != nil {
		return 0
	}
	for _, a := range allocs {
		if a.Attempt == j.Attempt && a.Rank == n {
			return a.ClientStatus.OutputSize
		}
	}
	return 0
}

// formatMetrics writes KEY VALUE lines sorted by key: the last values, a
// value that is not finite (NaN, Infinity, -Infinity) in place of the
// number before it.
func formatMetrics(w io.Writer, m map[string]float64, nonFinite map[string]structs.NonFiniteMetric) error {
	vals := make(map[string]string, len(m)+len(nonFinite))
	for k, v := range m {
		vals[k] = formatFloat(v)
	}
	for k, nf := range nonFinite {
		vals[k] = nf.Value
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE")
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		fmt.Fprintf(tw, "%s\t%s\n", jobtext.Printable(k), vals[k]) // the job names its metrics
	}
	return tw.Flush()
}

// formatJobStatus is the human view of one job and its attempts; checked,
// when not nil, is its metrics with what the history says (NaN values).
func formatJobStatus(w io.Writer, j *structs.Job, allocs []*structs.Allocation, checked *structs.JobMetrics, now time.Time) error {
	kv := newKV(w)
	kv.add("ID", j.ID)
	kv.add("Name", j.Name)
	kv.add("User", jobtext.OrDash(j.User))
	kv.addIf("Group", j.Group)
	kv.add("Queue", jobtext.OrDash(j.Queue))
	kv.add("Priority", fmt.Sprint(j.Priority))
	kv.add("Status", string(j.Status))
	kv.addIf("Reason", j.Reason)
	if h := j.Hold; h != nil && j.Status == structs.JobPending {
		held := h.Kind() + " hold"
		if h.By != "" {
			held += " by " + h.By
		}
		if !h.Time.IsZero() {
			held += " since " + stamp(h.Time, now)
		}
		kv.add("Held", held)
	}
	if j.Status == structs.JobPending && !j.EstimatedStart.IsZero() {
		kv.add("Estimated start", stamp(j.EstimatedStart, now))
	}
	if j.ArrayID != "" {
		kv.add("Array", j.ArrayRef())
		for _, k := range slices.Sorted(maps.Keys(j.SweepValues)) {
			kv.add("sweep."+k, j.SweepValues[k])
		}
	}
	kv.add("Resources", resourceSummary(j.Resources))
	if j.TimeLimit > 0 {
		kv.add("Time limit", human(j.TimeLimit.D()))
	}
	if j.NodeID != "" || j.NodeName != "" {
		kv.add("Node", jobtext.NodeLabel(j))
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
	if d, ok := jobtext.Runtime(j, now); ok {
		kv.add("Runtime", human(d))
	}
	if j.Status.Terminal() {
		kv.add("Exit", jobtext.OrDash(jobtext.ExitSummary(j)))
	}
	// A job on several nodes keeps its rank 0's outputs (raft log format
	// 8); the Attempts table says which other ranks kept some.
	gang := j.Resources.Nodes > 1 || slices.ContainsFunc(allocs, func(a *structs.Allocation) bool { return a.Rank > 0 })
	if j.OutputDigest != "" {
		out := fmt.Sprintf("%s (%s)", structs.FormatSize(j.OutputSize), shortDigest(j.OutputDigest))
		if gang {
			out += ", rank 0's"
		}
		kv.add("Outputs", out)
	}
	pluginLines(kv, j) // plugin_lineage.go
	if err := kv.flush(); err != nil {
		return err
	}
	if len(allocs) > 0 {
		fmt.Fprintln(w, "\nAttempts")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if gang {
			fmt.Fprintln(tw, "ATTEMPT\tRANK\tALLOC\tNODE\tGPUS\tSTATUS\tEXIT\tSTARTED\tRUNTIME\tMAX MEMORY\tOUTPUTS")
		} else {
			fmt.Fprintln(tw, "ATTEMPT\tALLOC\tNODE\tGPUS\tSTATUS\tEXIT\tSTARTED\tRUNTIME\tMAX MEMORY")
		}
		rankOutputs := false // a rank other than 0 kept outputs
		for _, a := range allocs {
			cs := a.ClientStatus
			node := a.NodeName
			if node == "" {
				node = jobtext.ShortID(a.NodeID)
			}
			exit := "-"
			if cs.ExitCode != nil || cs.ExitReason != "" {
				exit = jobtext.ExitSummary(&structs.Job{ExitCode: cs.ExitCode, ExitReason: cs.ExitReason})
			}
			started, took := "-", "-"
			if !cs.StartTime.IsZero() {
				started = jobtext.ShortTime(cs.StartTime, now)
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
			if gang {
				outputs := "-"
				if cs.OutputDigest != "" {
					outputs = structs.FormatSize(cs.OutputSize)
					rankOutputs = rankOutputs || a.Rank > 0
				}
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
					a.Attempt, a.Rank, a.ID, jobtext.OrDash(node), gpuList(a.GPUs), jobtext.OrDash(string(cs.Status)), exit, started, took, mem, outputs)
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				a.Attempt, a.ID, jobtext.OrDash(node), gpuList(a.GPUs), jobtext.OrDash(string(cs.Status)), exit, started, took, mem)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		// What a client said beside the exit (outputs not kept, an upload
		// that failed, a lost node) is otherwise only in -json.
		for _, a := range allocs {
			if m := a.ClientStatus.Message; m != "" {
				fmt.Fprintf(w, "Allocation %s: %s\n", a.ID, jobtext.Printable(m))
			}
		}
		if slices.ContainsFunc(allocs, func(a *structs.Allocation) bool { return a.Attempt != allocs[0].Attempt }) {
			fmt.Fprintf(w, "(the log of an earlier attempt: nai job logs -attempt N %s)\n", j.ID)
		}
		if gang {
			// The job's outputs and log are rank 0's; the others' are
			// each rank's own.
			how := fmt.Sprintf("log: nai job logs -rank N %s", j.ID)
			if rankOutputs {
				how = fmt.Sprintf("outputs or log: nai job outputs|logs -rank N %s", j.ID)
			}
			fmt.Fprintf(w, "(the job's outputs and log are rank 0's; another rank's %s)\n", how)
		}
		if err := formatGPUUsage(w, allocs[len(allocs)-1]); err != nil {
			return err
		}
	}
	// The job keeps its metrics that stopped being finite; the history,
	// when read, says so of a job from before the servers kept them.
	nonFinite := j.NonFiniteMetrics
	if checked != nil && len(checked.NonFinite) > 0 {
		nonFinite = checked.NonFinite
	}
	if len(j.Metrics) > 0 || len(nonFinite) > 0 {
		fmt.Fprintln(w, "\nMetrics")
		if err := formatMetrics(w, j.Metrics, nonFinite); err != nil {
			return err
		}
	}
	notes := checked
	if notes == nil && len(nonFinite) > 0 {
		notes = &structs.JobMetrics{NonFinite: nonFinite}
	}
	printMetricNotes(w, notes)
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
