package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
)

// One-liners: `nai job run [-gpus N] ... -- COMMAND ARGS...`, the way srun
// and sbatch --wrap run a command without a job file.

// afterDashKey is where runIO leaves the arguments given after "--" in
// the app's metadata: the flag parser drops a "--" that comes before any
// other argument, so the command cannot tell it was there otherwise.
const afterDashKey = "args-after-dash"

func oneLinerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "gpus", Usage: "with a command: the `N` GPUs it needs"},
		&cli.Float64Flag{Name: "cpu", Usage: "with a command: the `N` CPU cores it needs, more than 0, such as 4 or 0.5 (default 1)"},
		&cli.StringFlag{Name: "mem", Usage: "with a command: the memory it needs, a `SIZE` such as 16GiB; a bare number is MiB, as in sbatch (default 1GiB)"},
		&cli.StringFlag{Name: "time", Usage: "with a command: its time limit, a `DURATION` such as 2h or 1:30:00"},
		&cli.StringFlag{Name: "name", Usage: "with a command: the job's `NAME` (default: the script or command's name)"},
		&cli.StringFlag{Name: "queue", Usage: "with a command: the `QUEUE` to submit to"},
		&cli.StringFlag{Name: "code", Usage: "with a command: upload this `DIR` as the job's code (it runs in a copy of it)"},
	}
}

// oneLinerFlagsSet names a one-liner flag that was given, or "".
func oneLinerFlagsSet(c *cli.Context) string {
	for _, f := range oneLinerFlags() {
		if c.IsSet(f.Names()[0]) {
			return f.Names()[0]
		}
	}
	return ""
}

// commandArgs returns the command given after "--", if there was one.
func commandArgs(c *cli.Context) ([]string, bool) {
	after, ok := c.App.Metadata[afterDashKey].([]string)
	return after, ok
}

// oneLiner builds the job of a command given after "--".
func oneLiner(c *cli.Context, command []string) (*jobspec.Result, string, error) {
	usage := usageLine(c)
	args := c.Args().Slice()
	before := args[:len(args)-min(len(args), len(command))]
	before = slices.DeleteFunc(slices.Clone(before), func(a string) bool { return a == "--" })
	switch {
	case len(before) > 0:
		return nil, "", &usageError{msg: fmt.Sprintf("give a job file or a command after --, not both (got %q and %q)", before, command), usage: usage}
	case len(command) == 0 || strings.TrimSpace(command[0]) == "":
		return nil, "", &usageError{msg: "missing the command after --", usage: usage}
	case len(c.StringSlice("var")) > 0 || len(c.StringSlice("var-file")) > 0:
		return nil, "", &usageError{msg: "-var and -var-file set job file variables: a command after -- has none", usage: usage}
	case c.Int("gpus") < 0:
		return nil, "", &usageError{msg: fmt.Sprintf("-gpus %d: expected 0 or more", c.Int("gpus")), usage: usage}
	case c.IsSet("cpu") && !(c.Float64("cpu") > 0): // NaN too
		return nil, "", &usageError{msg: fmt.Sprintf("-cpu %s: expected a number of cores more than 0, such as 4 or 0.5 (leave -cpu out for the default, 1)", formatFloat(c.Float64("cpu"))), usage: usage}
	}
	j := &structs.Job{Queue: c.String("queue")}
	j.Resources.CPU = c.Float64("cpu")
	j.Resources.GPU.Count = c.Int("gpus")
	if m := c.String("mem"); m != "" {
		n, err := parseMemFlag(m)
		if err != nil {
			return nil, "", &usageError{msg: "-mem " + err.Error(), usage: usage}
		}
		j.Resources.MemoryBytes = n
	}
	if t := c.String("time"); t != "" {
		d, err := jobspec.ParseTimeLimit(t)
		if err != nil {
			return nil, "", &usageError{msg: "-time: " + err.Error(), usage: usage}
		}
		j.TimeLimit = structs.Duration(d)
	}
	if len(command) == 1 && strings.ContainsAny(command[0], " \t\n;|&<>()$`'\"*") {
		// One argument with spaces or shell syntax in it: a script, as
		// sbatch --wrap runs it.
		j.Task.Script = strings.TrimRight(command[0], "\n") + "\n"
	} else {
		j.Task.Command, j.Task.Args = command[0], slices.Clone(command[1:])
	}
	j.Name = c.String("name")
	if j.Name == "" {
		j.Name = commandName(command)
	}
	res := &jobspec.Result{Jobs: []*structs.Job{j}}
	if dir := c.String("code"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, "", fmt.Errorf("-code %s: %w", dir, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, "", &usageError{msg: fmt.Sprintf("-code %s: expected a folder to upload", dir), usage: usage}
		}
		res.CodePath = abs
	} else if f := localFile(command); f != "" {
		fmt.Fprintf(c.App.ErrWriter, "Note: %s is a file here, but no code is sent with the job; add -code . to send this folder.\n", f)
	}
	check := j.Copy()
	check.Canonicalize()
	if err := check.Validate(); err != nil {
		return nil, "", &usageError{msg: err.Error(), usage: usage}
	}
	return res, "command " + quote(strings.Join(command, " ")), nil
}

// parseMemFlag reads -mem: a size with a unit ("16GiB", "512MiB"), or a
// bare number of MiB, which is what sbatch's --mem=4000 means.
func parseMemFlag(m string) (int64, error) {
	s := strings.TrimSpace(m)
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) < 0 {
		s += "MiB"
	}
	n, err := structs.ParseSize(s)
	switch {
	case err != nil || n <= 0:
		return 0, fmt.Errorf("%q: expected a size such as 16GiB or 512MiB (a bare number is MiB)", m)
	case n < structs.MinMemory:
		return 0, fmt.Errorf("%q is %s, below the %s a task needs: give a size such as 512MiB or 8GiB", m, structs.FormatSize(n), structs.FormatSize(structs.MinMemory))
	}
	return n, nil
}

// interpreters run the file named after them: `python3 train.py` is named
// after train.py.
var interpreters = []string{"python", "python3", "bash", "sh", "torchrun", "accelerate", "deepspeed", "julia", "Rscript", "node", "uv", "conda"}

// commandName is a job name from the command: the script an interpreter
// runs, else the program, made a valid name.
func commandName(command []string) string {
	name := filepath.Base(command[0])
	if len(command) == 1 && strings.ContainsAny(command[0], " \t\n") {
		name = filepath.Base(strings.Fields(command[0])[0])
	}
	if slices.Contains(interpreters, name) || strings.HasPrefix(name, "python3.") {
		for _, a := range command[1:] {
			if strings.HasPrefix(a, "-") {
				if a == "-c" || a == "-m" {
					break
				}
				continue
			}
			if ext := filepath.Ext(a); ext != "" {
				name = strings.TrimSuffix(filepath.Base(a), ext)
			}
			break
		}
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	n := strings.TrimLeft(b.String(), ".-_")
	if len(n) > structs.MaxNameLen {
		n = n[:structs.MaxNameLen]
	}
	if !structs.ValidName(n) {
		return "command"
	}
	return n
}

// localFile is the first argument that names a file in this folder by a
// relative path (train.py), which the job cannot see unless it is sent.
func localFile(command []string) string {
	for _, a := range command[1:] {
		if strings.HasPrefix(a, "-") || filepath.IsAbs(a) {
			continue
		}
		if fi, err := os.Stat(a); err == nil && fi.Mode().IsRegular() {
			return a
		}
	}
	return ""
}
