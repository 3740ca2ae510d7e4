package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

// What nai does with Slurm batch scripts on the command line: `nai job run
// script.sh` submits one (jobspec reads the #SBATCH lines), `nai job
// convert script.sh` prints the job file that submits the same, and the
// logs of a job whose script named --output/--error files are written to
// those files when the CLI downloads them.

func jobConvertCommand() *cli.Command {
	return &cli.Command{
		Name:      "convert",
		Usage:     "print the job file (HCL) that submits the same job as an sbatch script; what nai cannot honour is listed on stderr",
		ArgsUsage: "SCRIPT",
		Action:    jobConvert,
	}
}

func jobConvert(c *cli.Context) error {
	args := c.Args().Slice()
	if err := needArgs(1, args, "batch script", usageLine(c)); err != nil {
		return err
	}
	out, warnings, err := jobspec.ConvertScriptFile(args[0], jobspec.Options{Now: time.Now(), LookupEnv: os.LookupEnv})
	if err != nil {
		return diagnose(c, err)
	}
	printScriptWarnings(c.App.ErrWriter, warnings)
	_, err = c.App.Writer.Write(out)
	return err
}

// diagnose prints a job file's or script's diagnostics and turns them into
// exit code 1; other errors pass through.
func diagnose(c *cli.Context, err error) error {
	var de *jobspec.DiagError
	if !errors.As(err, &de) {
		return err
	}
	w := c.App.ErrWriter
	if ferr := printDiagnostics(w, de, isTerminal(w) && os.Getenv("NO_COLOR") == ""); ferr != nil {
		return fmt.Errorf("%w (and printing it: %v)", err, ferr)
	}
	return exitCode(1)
}

// printScriptWarnings lists, by line, what a batch script asks that nai
// does not honour as Slurm would.
func printScriptWarnings(w io.Writer, warnings []jobspec.Warning) {
	for _, wn := range warnings {
		fmt.Fprintln(w, wn.String())
	}
}

// saveLogFiles writes a job's logs to the files its script named with
// --output and --error (structs.LogPaths, patterns filled in, relative
// paths taken from the current directory): stdout to the output file, and
// stderr to the error file, or after stdout in the output file when there
// is none (Slurm interleaves them there; nai keeps them apart, so they come
// one after the other). The files are written whole, replacing what was
// there. A problem is a warning: the job's own result stands.
func saveLogFiles(ctx context.Context, cl *api.Client, j *structs.Job, errw io.Writer) {
	l := j.LogPaths
	if l == nil || l.Stdout == "" || (j.AllocID == "" && j.StartTime.IsZero()) {
		return
	}
	outPath := jobspec.ExpandLogPath(l.Stdout, j)
	errPath := ""
	if l.Stderr != "" {
		errPath = jobspec.ExpandLogPath(l.Stderr, j)
	}
	if filepath.Clean(errPath) == filepath.Clean(outPath) {
		errPath = ""
	}
	streams := []bool{false}
	if errPath == "" {
		streams = append(streams, true)
	}
	err := writeLogFile(ctx, cl, j.ID, outPath, streams...)
	if err == nil && errPath != "" {
		err = writeLogFile(ctx, cl, j.ID, errPath, true)
	}
	if err != nil {
		fmt.Fprintf(errw, "Warning: could not write the logs of job %s: %v\n", j.ArrayRef(), err)
		return
	}
	if errPath != "" {
		fmt.Fprintf(errw, "==> job %s: stdout in %s, stderr in %s\n", j.ArrayRef(), outPath, errPath)
	} else {
		fmt.Fprintf(errw, "==> job %s: logs in %s\n", j.ArrayRef(), outPath)
	}
}

// writeLogFile writes the job's logs (stderr when the flag is true) to
// path, one after the other.
func writeLogFile(ctx context.Context, cl *api.Client, id, path string, stderr ...bool) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	for _, s := range stderr {
		rc, err := cl.Logs(ctx, id, api.LogOptions{Stderr: s})
		if err != nil {
			f.Close()
			return err
		}
		_, err = io.Copy(f, rc)
		rc.Close()
		if err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return f.Close()
}

// lockedWriter serialises writes of concurrent followers.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
