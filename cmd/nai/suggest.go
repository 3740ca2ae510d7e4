package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/internal/suggest"
)

// closest is suggest.Closest: the option a typo probably meant, or "".
func closest(given string, options []string) string { return suggest.Closest(given, options) }

// suggestCommand is ` (did you mean "status"?)` for a mistyped
// subcommand of c, or "".
func suggestCommand(c *cli.Context, given string) string {
	var names []string
	var cmds []*cli.Command
	if c.Command != nil && c.Command.Name != "" {
		cmds = c.Command.Subcommands
	} else {
		cmds = c.App.Commands
	}
	if c.Command == nil || c.Command.Name == "" || c.Command.Name == c.App.Name {
		names = cliPluginNames(c.App) // `nai NAME` runs them too (plugin_exec.go)
	}
	for _, sc := range cmds {
		if !sc.Hidden {
			names = append(names, sc.Names()...)
		}
	}
	if s := closest(given, names); s != "" {
		return "; did you mean " + quote(s) + "?"
	}
	return ""
}

// slurmCommands point the names of Slurm's commands at nai's own, for
// `nai squeue` and the like. Each hint names its command in backquotes.
var slurmCommands = map[string]string{
	"squeue":   "use `nai queue` (the same filters: -u, -t, -n, -p, -j; -o takes squeue's %-codes)",
	"scancel":  "use `nai job cancel ID` (or a selection, as with scancel: -u, -t, -n, -p)",
	"sbatch":   "use `nai job run -detach script.sh` (it reads the #SBATCH lines; without -detach it follows the job), or `nai job run -detach -- COMMAND` for --wrap",
	"srun":     "use `nai job run -- COMMAND` (-gpus, -cpu, -mem, -time; it follows the job as srun does)",
	"salloc":   "nai runs batch jobs, not interactive allocations: use `nai job run -- COMMAND`",
	"sinfo":    "use `nai node list` (and `nai node status NODE` for one node's GPUs)",
	"scontrol": "use `nai job status ID` (scontrol show job), `nai job hold ID` / `nai job release ID` (hold / release), `nai node status NODE` (show node) or `nai node drain NODE` (update state=drain)",
	"sacct":    "use `nai queue -a` (finished jobs too; -u, -t, -j select), `nai job status ID` for one job, or `nai usage` for totals",
	"sprio":    "use `nai queue -explain` (or `nai job priority ID` for one job)",
	"sshare":   "use `nai share`",
	"sreport":  "use `nai usage`",
	"sstat":    "use `nai job metrics ID` (what the job reported) or `nai top` (the GPUs in use)",
}

// slurmCommandError is the error for a Slurm command name given to nai,
// or nil for any other name.
func slurmCommandError(given string) error {
	hint, ok := slurmCommands[given]
	if !ok {
		return nil
	}
	return fmt.Errorf("nai has no %s: %s", given, hint)
}

// slurmFlags are sbatch's and srun's options that nai's commands take
// another way, by the command's full name, then the option.
var slurmFlags = map[string]map[string]string{
	"nai job run": {
		"wrap":          "nai has no --wrap: give the command after --, as in nai job run -- 'python3 train.py' (one quoted string runs as a script, as --wrap does)",
		"gres":          "ask for GPUs with -gpus N",
		"gpus-per-node": "ask for GPUs with -gpus N",
		"G":             "ask for GPUs with -gpus N",
		"cpus-per-task": "ask for CPU cores with -cpu N",
		"c":             "ask for CPU cores with -cpu N",
		"job-name":      "name the job with -name NAME",
		"J":             "name the job with -name NAME",
		"partition":     "choose the queue with -queue QUEUE",
		"p":             "choose the queue with -queue QUEUE",
		"t":             "give the time limit with -time DURATION",
		"N":             nodesHint,
		"nodes":         nodesHint,
	},
}

// nodesHint is for sbatch's -N/--nodes: nai job run takes the nodes of a
// job from its file.
const nodesHint = "nai job run has no flag for nodes: ask for N nodes with resources { nodes = N } in a job file or #SBATCH -N N in a batch script (nai job update -nodes N changes a pending job's)"

// dependencyHint is for sbatch's -d, which on nai job run is -detach.
const dependencyHint = "-d is -detach here (it takes no value); sbatch's -d/--dependency is -dependency, as in nai job run -dependency afterok:ID -- COMMAND"

// looksLikeDependency reports whether an argument is an sbatch dependency
// (afterok:12, singleton), not a job file: what follows sbatch's -d.
func looksLikeDependency(arg string) bool {
	if arg == "singleton" {
		return true
	}
	for _, t := range []string{"after", "afterok", "afterany", "afternotok", "aftercorr", "afterburstbuffer"} {
		if strings.HasPrefix(arg, t+":") || strings.HasPrefix(arg, t+"?") {
			return true
		}
	}
	return false
}

// suggestFlag is `; did you mean -user?` for the flag error of the
// library ("flag provided but not defined: -usr"), or "".
func suggestFlag(c *cli.Context, err error) string {
	const prefix = "flag provided but not defined: "
	msg := err.Error()
	if c.Command != nil && c.Command.HelpName == "nai job run" &&
		(msg == "Cannot use two forms of the same flag: d detach" || strings.HasSuffix(msg, " for -d: parse error")) {
		// -d -detach, or -d=afterok:1: sbatch's -d meant.
		return "; " + dependencyHint
	}
	if !strings.HasPrefix(msg, prefix) {
		return ""
	}
	given := strings.TrimLeft(strings.TrimPrefix(msg, prefix), "-")
	if c.Command != nil {
		if hint := slurmFlags[c.Command.HelpName][given]; hint != "" {
			return "; " + hint
		}
	}
	var flags []cli.Flag
	if c.Command != nil && c.Command.Name != "" {
		flags = c.Command.Flags
	} else {
		flags = c.App.Flags
	}
	if len(given) < 2 {
		// Any one-letter flag is one edit from any other: -j is not a
		// typo of -a.
		return ""
	}
	var names []string
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	if s := closest(given, names); s != "" {
		return "; did you mean -" + s + "?"
	}
	return ""
}
