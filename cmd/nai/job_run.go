package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
)

func varFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "var", Usage: "set a job file variable, `NAME=VALUE` (repeatable)"}
}

func varFileFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "var-file", Usage: "read variables from an HCL `FILE` (repeatable)"}
}

// parseVars reads "-var name=value" arguments.
func parseVars(args []string, usage string) (map[string]string, error) {
	vars := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, &usageError{msg: fmt.Sprintf("-var %q: expected name=value", a), usage: usage}
		}
		vars[strings.TrimSpace(k)] = v
	}
	return vars, nil
}

// parseJobFile parses and checks the file named by the single argument. A
// bad file has its diagnostics printed on stderr and yields exitCode(1).
//
// A batch script may be followed by its arguments, as with sbatch
// job.sh ARGS: they become the task's ($1...). A job file takes none.
func parseJobFile(c *cli.Context) (*jobspec.Result, string, error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return nil, "", needArgs(1, args, "job file", usageLine(c))
	}
	file, scriptArgs := args[0], args[1:]
	if len(scriptArgs) > 0 && file != "-" {
		if _, err := os.Stat(file); err != nil {
			// No such file: most likely a command without its --.
			return nil, "", &usageError{msg: fmt.Sprintf("too many arguments: %q; to run a command, put it after --: %s -- %s", args, c.Command.HelpName, strings.Join(args, " ")), usage: usageLine(c)}
		}
	}
	vars, err := parseVars(c.StringSlice("var"), usageLine(c))
	if err != nil {
		return nil, "", err
	}
	res, err := jobspec.ParseFile(file, jobspec.Options{Vars: vars, VarFiles: c.StringSlice("var-file"), Now: time.Now(), LookupEnv: os.LookupEnv})
	if err != nil {
		var de *jobspec.DiagError
		if errors.As(err, &de) {
			w := c.App.ErrWriter
			if ferr := printDiagnostics(w, de, isTerminal(w) && os.Getenv("NO_COLOR") == ""); ferr != nil {
				return nil, "", fmt.Errorf("%w (and printing it: %v)", err, ferr)
			}
			return nil, "", exitCode(1)
		}
		var nj *jobspec.NotJobFileError
		if errors.As(err, &nj) {
			if hint := runInsteadHint(c, nj, file); hint != "" {
				return nil, "", fmt.Errorf("%w; %s", err, hint)
			}
		}
		return nil, "", err
	}
	if len(res.Jobs) == 0 {
		return nil, "", fmt.Errorf("job file %s defines no job", file)
	}
	if len(scriptArgs) > 0 {
		if !res.Script {
			msg := fmt.Sprintf("too many arguments: %q: a job file takes none (give its variables with -var NAME=VALUE); "+
				"to run a command, put it after --: %s -- %s", scriptArgs, c.Command.HelpName, strings.Join(args, " "))
			if isFlagArg(scriptArgs[0]) && knownFlag(c.Command.Flags, scriptArgs[0]) {
				// What follows the file is left as given (a batch
				// script's arguments): nai's own flags go before it.
				msg = fmt.Sprintf("%s goes before the job file: %s %s %s", scriptArgs[0], c.Command.HelpName, strings.Join(scriptArgs, " "), file)
			}
			return nil, "", &usageError{msg: msg, usage: usageLine(c)}
		}
		// The members of an array share what they do not change:
		// one slice for all of them.
		for _, j := range res.Jobs {
			j.Task.Args = scriptArgs
		}
	}
	printScriptWarnings(c.App.ErrWriter, res.Warnings)
	// Every job the parser returns has passed Validate, the check the
	// server makes (jobspec's FuzzParse holds it to that): running it
	// again here cost a 1000-member sweep a second pass for nothing.
	return res, file, nil
}

// jobOrCommand reads the job of `nai job run` and `nai job plan`: a job
// file, or a command given after "--".
func jobOrCommand(c *cli.Context) (*jobspec.Result, string, error) {
	if command, ok := commandArgs(c); ok {
		return oneLiner(c, command)
	}
	// The flags are read before the file: a bad one is a usage error
	// whatever the file says.
	ov, err := readOverrides(c)
	if err != nil {
		return nil, "", err
	}
	res, file, err := parseJobFile(c)
	if err != nil {
		return nil, "", err
	}
	if err := ov.apply(res, file); err != nil {
		return nil, "", err
	}
	return res, file, nil
}

// runInsteadHint says how to run a file that is no job file as a command,
// with its folder as the job's code (the job runs in a copy of it, where
// the command finds the file), or "" for standard input.
func runInsteadHint(c *cli.Context, nj *jobspec.NotJobFileError, file string) string {
	if file == "-" {
		return ""
	}
	how := "nai job run"
	if c.Command != nil && c.Command.Name == "plan" {
		how = "nai job plan"
	}
	dir, base := shellWord(filepath.Dir(file)), filepath.Base(file)
	switch {
	case nj.Interpreter != "":
		return fmt.Sprintf("to run it as a command: %s -code %s -- %s %s", how, dir, nj.Interpreter, shellWord(base))
	case nj.Kind != "":
		// A notebook: nbconvert writes the program beside it.
		py := strings.TrimSuffix(file, filepath.Ext(file)) + ".py"
		return fmt.Sprintf("export it as a program first, then run that: jupyter nbconvert --to script %s && %s -code %s -- python3 %s", shellWord(file), how, dir, shellWord(filepath.Base(py)))
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode()&0o111 != 0 {
		return fmt.Sprintf("to run it as a command: %s -code %s -- %s", how, dir, shellWord("./"+base))
	}
	return fmt.Sprintf("to run it as a shell script: %s -code %s -- bash %s (or add #SBATCH lines to it)", how, dir, shellWord(base))
}

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n'\"$`\\;&|<>()*?[]{}!#~") {
		return shQuote(s)
	}
	return s
}

func jobValidate(c *cli.Context) error {
	res, file, err := parseJobFile(c)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("job %q", res.Jobs[0].Name)
	if res.Sweep {
		what = fmt.Sprintf("sweep %q of %d jobs", res.Jobs[0].Name, len(res.Jobs))
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s is valid: %s\n", file, what)
	return err
}

func jobRun(c *cli.Context) error {
	// Parsing a sweep and sending it allocate a few MB that are garbage a
	// moment later: with the default GOGC the collector runs several
	// times in those milliseconds (3 ms of the 1000-member sweep's 10).
	// A looser target until the submission is sent; following the job
	// afterwards allocates little.
	gc := debug.SetGCPercent(400)
	restoreGC := sync.OnceFunc(func() { debug.SetGCPercent(gc) })
	defer restoreGC()
	var (
		res  *jobspec.Result
		what string
		err  error
	)
	command, _ := commandArgs(c)
	if args := c.Args().Slice(); c.Bool("detach") && len(args) > len(command) && looksLikeDependency(args[0]) {
		if _, err := os.Stat(args[0]); err != nil {
			// nai job run -d afterok:12 -- ...: sbatch's -d, read as
			// -detach and a job file.
			return &usageError{msg: fmt.Sprintf("%q is not a job file: %s", args[0], dependencyHint), usage: usageLine(c)}
		}
	}
	res, what, err = jobOrCommand(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	switch {
	case res.CodePath != "":
		if res.Script && !c.IsSet("code") && isHomeDir(res.CodePath) {
			// A script's folder is its code: the whole home directory,
			// dot files and all, is surely not meant.
			return &usageError{msg: fmt.Sprintf("%s is in your home directory %s, which would be uploaded whole as the job's code: give the folder the job needs with -code DIR (-code %s uploads the home directory after all), or move the script into its project's folder", what, res.CodePath, shellWord(res.CodePath)), usage: usageLine(c)}
		}
		digest, err := uploadCode(c.Context, cl, res.CodePath, res.Jobs, c.App.ErrWriter)
		if err != nil {
			return err
		}
		for _, j := range res.Jobs {
			j.Code = digest
		}
	case res.CodeDigest != "":
		// A file from `nai job inspect -hcl` names its code by digest:
		// the servers must still hold it.
		held, err := cl.HasBlob(c.Context, res.CodeDigest)
		if err != nil {
			return fmt.Errorf("check the code of %s: %w", what, err)
		}
		if !held {
			return fmt.Errorf("%s names code %s%s, which the servers no longer hold: set code = \"./folder\" to upload it again", what, jobspec.CodeDigestPrefix, shortDigest(res.CodeDigest)[len("sha256:"):])
		}
	}
	ownJobs(cl, res.Jobs)
	if g := c.String("group"); g != "" {
		if !structs.ValidName(g) {
			return &usageError{msg: fmt.Sprintf("-group %q is not a group name", g), usage: usageLine(c)}
		}
		for _, j := range res.Jobs {
			j.Group = g
		}
	}
	if c.Bool("hold") {
		for _, j := range res.Jobs {
			j.Hold = &structs.JobHold{}
		}
	}
	resp, err := register(c.Context, cl, res)
	restoreGC()
	if err != nil {
		return fmt.Errorf("submit %s: %w", what, err)
	}
	for _, w := range resp.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "Warning: %s\n", w)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	if len(resp.JobIDs) == 0 {
		return fmt.Errorf("submit %s: the server accepted it but returned no job id", what)
	}
	sweep := res.Sweep || resp.ArrayID != "" || len(resp.JobIDs) > 1
	if c.Bool("detach") {
		id := resp.JobIDs[0]
		if sweep && resp.ArrayID != "" {
			id = resp.ArrayID
		}
		_, err := fmt.Fprintln(c.App.Writer, id)
		return err
	}
	if !sweep && res.Jobs[0].IsService() {
		// A service never ends: there is nothing to follow to an end.
		return printServiceSubmitted(c, cl, resp.JobIDs[0], res.Jobs[0].Name) // service.go
	}
	f := &follower{cl: cl, out: c.App.Writer, errw: c.App.ErrWriter, wait: 30 * time.Second, now: time.Now}
	if sweep {
		return f.followArray(c.Context, resp.ArrayID, resp.JobIDs)
	}
	fmt.Fprintf(c.App.ErrWriter, "Submitted job %s\n", resp.JobIDs[0])
	return f.followJob(c.Context, resp.JobIDs[0])
}

// attemptLookup finds the allocation an attempt of the job ran as (the
// one that says how it ended), or nil.
type attemptLookup func(attempt int) *structs.Allocation

// isHomeDir reports whether dir is the user's home directory.
func isHomeDir(dir string) bool {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return false
	}
	if filepath.Clean(dir) == filepath.Clean(home) {
		return true
	}
	a, err1 := filepath.EvalSymlinks(dir)
	b, err2 := filepath.EvalSymlinks(home)
	return err1 == nil && err2 == nil && a == b
}

// describeChange is what a person following a job should be told when it
// moves from prev (nil at first sight) to cur. Terminal states are left to
// the summary line. A job is named as nai queue names it: an array's
// member as A_N, whose job id alone would read as the whole array. An
// attempt that ended and was requeued is told with how it ended, which
// ended (may be nil) looks up.
func describeChange(prev, cur *structs.Job, now time.Time, ended attemptLookup) []string {
	switch cur.Status {
	case structs.JobPending:
		if prev != nil && prev.Status == cur.Status && prev.Reason == cur.Reason && prev.Attempt == cur.Attempt {
			return nil
		}
		line := fmt.Sprintf("job %s pending", cur.ArrayRef())
		if prev != nil && cur.Attempt >= 1 && (prev.Status == structs.JobRunning || cur.Attempt > prev.Attempt) {
			line = requeueLine(cur, cur.Attempt, ended)
		}
		if cur.Reason != "" && !strings.HasPrefix(cur.Reason, requeuedAfter) {
			line += ": " + jobtext.Printable(cur.Reason)
		}
		if !cur.EstimatedStart.IsZero() {
			line += " (estimated start " + jobtext.ShortTime(cur.EstimatedStart, now) + ")"
		}
		return []string{line}
	}
	var lines []string
	// An attempt that ended and was requeued between two looks, the
	// pending state between them never seen.
	if prev != nil {
		told := prev.Attempt // attempts that ended, their end told
		if prev.Status == structs.JobRunning {
			told-- // the one running then had not ended
		}
		if last := cur.Attempt - 1; last >= 1 && last > told {
			lines = append(lines, requeueLine(cur, last, ended))
		}
	}
	switch cur.Status {
	case structs.JobRunning:
		if prev != nil && prev.Status == cur.Status && prev.NodeID == cur.NodeID && prev.Attempt == cur.Attempt && gpuList(prev.GPUs) == gpuList(cur.GPUs) {
			return nil
		}
		gpus := "no GPUs"
		if len(cur.GPUs) == 1 {
			gpus = "GPU " + gpuList(cur.GPUs)
		} else if len(cur.GPUs) > 1 {
			gpus = "GPUs " + gpuList(cur.GPUs)
		}
		return append(lines, fmt.Sprintf("job %s running on node %s (%s)", cur.ArrayRef(), jobtext.NodeLabel(cur), gpus))
	}
	return lines
}

// requeuedAfter starts the reason the servers give a requeued job
// ("requeued after failed"), which requeueLine says better.
const requeuedAfter = "requeued after "

// requeueLine says that attempt n of job j ended and how, and which
// attempt comes next: "job 7: attempt 1 failed with exit code 3; requeued
// (attempt 2 of at most 4)".
func requeueLine(j *structs.Job, n int, ended attemptLookup) string {
	how := "ended"
	if why, ok := strings.CutPrefix(j.Reason, requeuedAfter); ok && why != "" {
		how = "ended: " + jobtext.Printable(why)
	}
	var a *structs.Allocation
	if ended != nil {
		a = ended(n)
	}
	if a != nil {
		cs := a.ClientStatus
		d := jobtext.ExitSummary(&structs.Job{ExitCode: cs.ExitCode, ExitReason: cs.ExitReason})
		switch {
		case cs.Status == structs.AllocLost:
			how = "ended: node-lost"
		case d == "":
		case cs.ExitReason == "" || cs.ExitReason == structs.ExitExited:
			how = "failed with " + d
		default:
			how = "ended: " + d
		}
	}
	next := fmt.Sprintf("attempt %d", n+1)
	if j.Retry != nil {
		next += fmt.Sprintf(" of at most %d", j.Retry.Attempts+1)
	}
	return fmt.Sprintf("job %s: attempt %d %s; requeued (%s)", j.ArrayRef(), n, how, next)
}

// endedAttempt is the attemptLookup of job id: the allocation of that
// attempt that ended it (a rank that failed), else its rank 0.
func endedAttempt(ctx context.Context, cl *api.Client, id string) attemptLookup {
	return func(attempt int) *structs.Allocation {
		allocs, err := cl.JobAllocations(ctx, id)
		if err != nil {
			return nil
		}
		var found *structs.Allocation
		for _, a := range allocs {
			if a.Attempt != attempt {
				continue
			}
			cs := a.ClientStatus
			if (cs.ExitCode != nil && *cs.ExitCode != 0) || (cs.ExitReason != "" && cs.ExitReason != structs.ExitExited) || cs.Status == structs.AllocLost {
				return a
			}
			if found == nil || a.Rank == 0 {
				found = a
			}
		}
		return found
	}
}

// summaryLine is the last word on a finished job, named as describeChange
// names it.
func summaryLine(j *structs.Job, now time.Time) string {
	s := fmt.Sprintf("job %s %s", j.ArrayRef(), j.Status)
	if j.Status != structs.JobComplete {
		if d := jobtext.ExitSummary(j); d != "" && d != string(j.Status) {
			s += ": " + d
		}
	}
	if d, ok := jobtext.Runtime(j, now); ok {
		s += " after " + human(d)
	}
	// Why it ended, as the client or the servers said (a start refused,
	// the signal that killed it): what `nai job status` shows as Reason.
	// A user's cancel needs no word more than "cancelled".
	if r := jobtext.Printable(strings.TrimSpace(j.Reason)); r != "" && j.Status != structs.JobComplete && j.ExitReason != structs.ExitCancelled && !strings.Contains(s, r) {
		s += "; " + r
	}
	return s
}

// printFollowHint tells someone who stopped following how to look again.
// A member is A_N here too: member 0's job id is the array's, and
// `nai job cancel` of it would cancel every member.
func printFollowHint(w io.Writer, j *structs.Job) {
	id, still := j.ArrayRef(), "it keeps running"
	if j.Status == structs.JobPending {
		still = "it stays in the queue"
	}
	fmt.Fprintf(w, "\n==> Stopped following job %s; %s.\n", id, still)
	fmt.Fprintf(w, "    nai job status %s    nai job logs -f %s    nai job cancel %s\n", id, id, id)
}

// register submits what a job file defines: a sweep as one spec (its
// members differ in a few fields; the servers expand it), anything else
// as its jobs.
func register(ctx context.Context, cl *api.Client, res *jobspec.Result) (*structs.JobRegisterResponse, error) {
	if res.Sweep && len(res.Jobs) > 1 {
		// The parser says in which fields its members differ; what the
		// CLI changed since (owner, group, code) it changed in all.
		spec, err := structs.NewSweepSpecFields(res.Jobs, res.SweepFields)
		if err != nil {
			return nil, err
		}
		return cl.RegisterSweep(ctx, spec)
	}
	return cl.Register(ctx, res.Jobs...)
}
