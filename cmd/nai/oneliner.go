package main

import (
	"fmt"
	"math"
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
		&cli.IntFlag{Name: "gpus", Usage: "the `N` GPUs the job needs (with a file: in all, a multi-node job's nodes get equal shares, as with sbatch --gpus)"},
		&cli.Float64Flag{Name: "cpu", Usage: "the `N` CPU cores it needs (per node), more than 0, such as 4 or 0.5 (default for a command: 1)"},
		&cli.StringFlag{Name: "mem", Usage: "the memory it needs (per node), a `SIZE` such as 16GiB; a bare number is MiB and 16G is 16GiB, as in sbatch (default for a command: 1GiB)"},
		&cli.StringFlag{Name: "time", Usage: "its time limit, a `DURATION` such as 2h or 1:30:00"},
		&cli.StringFlag{Name: "name", Usage: "the job's `NAME` (default: the file's, or the script or command's name)"},
		&cli.StringFlag{Name: "queue", Usage: "the `QUEUE` to submit to"},
		&cli.StringFlag{Name: "code", Usage: "upload this `DIR` as the job's code (it runs in a copy of it)"},
		// Not -d, sbatch's letter: on nai job run that is -detach.
		&cli.StringFlag{Name: "dependency", Usage: "start only once other jobs have ended, as sbatch --dependency: `TYPE:ID[:ID...]` (afterok, afterany, afternotok) and singleton, joined by ','; replaces the file's dependencies"},
	}
}

// overrides are the one-liner flags as given: the whole job of a command
// after "--", and, with a job file or batch script, what replaces the
// file's own values (as sbatch's options override #SBATCH lines).
type overrides struct {
	set   []string // the flags given, in oneLinerFlags' order
	gpus  int
	cpu   float64
	mem   int64
	time  structs.Duration
	name  string
	queue string
	code  string // absolute path of -code
	// deps and singleton are -dependency's: together they replace the
	// file's, as sbatch's --dependency replaces a #SBATCH -d line.
	deps      []structs.Dependency
	singleton bool
}

func (o *overrides) has(flag string) bool { return slices.Contains(o.set, flag) }

// readOverrides reads and checks the one-liner flags.
func readOverrides(c *cli.Context) (*overrides, error) {
	usage := usageLine(c)
	o := &overrides{gpus: c.Int("gpus"), cpu: c.Float64("cpu"), name: c.String("name"), queue: c.String("queue")}
	for _, f := range oneLinerFlags() {
		if n := f.Names()[0]; c.IsSet(n) {
			o.set = append(o.set, n)
		}
	}
	switch {
	case o.gpus < 0:
		return nil, &usageError{msg: fmt.Sprintf("-gpus %d: expected 0 or more", o.gpus), usage: usage}
	case c.IsSet("cpu") && !(o.cpu > 0): // NaN too
		return nil, &usageError{msg: fmt.Sprintf("-cpu %s: expected a number of cores more than 0, such as 4 or 0.5 (leave -cpu out for the default, 1)", formatFloat(o.cpu)), usage: usage}
	case c.IsSet("name") && !structs.ValidName(o.name):
		return nil, &usageError{msg: fmt.Sprintf("-name %q: a job name is letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters", o.name, structs.MaxNameLen), usage: usage}
	}
	if m := c.String("mem"); m != "" {
		n, err := parseMemFlag(m)
		if err != nil {
			return nil, &usageError{msg: "-mem " + err.Error(), usage: usage}
		}
		o.mem = n
	}
	if t := c.String("time"); t != "" {
		d, err := jobspec.ParseTimeLimit(t)
		if err != nil {
			return nil, &usageError{msg: "-time: " + err.Error(), usage: usage}
		}
		o.time = structs.Duration(d)
	}
	if dir := c.String("code"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("-code %s: %w", dir, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, &usageError{msg: fmt.Sprintf("-code %s: expected a folder to upload", dir), usage: usage}
		}
		o.code = abs
	}
	if c.IsSet("dependency") {
		deps, single, err := jobspec.ParseDependency(c.String("dependency"))
		if err != nil {
			return nil, &usageError{msg: "-dependency " + err.Error(), usage: usage}
		}
		o.deps, o.singleton = deps, single
	}
	return o, nil
}

// apply puts the flags given over what the file said, in every job it
// defines (every member of a sweep), and checks the jobs that result.
func (o *overrides) apply(res *jobspec.Result, file string) error {
	if len(o.set) == 0 {
		return nil
	}
	if o.code != "" {
		res.CodePath, res.CodeDigest = o.code, ""
	}
	for _, j := range res.Jobs {
		// Members of a sweep share their maps, slices and pointers:
		// only fields held by value are written here, and -dependency's
		// list, which every member shares and nothing changes.
		if o.has("name") {
			j.Name = o.name
		}
		if o.has("queue") {
			j.Queue = o.queue
		}
		if o.has("time") {
			j.TimeLimit = o.time
		}
		if o.has("cpu") {
			j.Resources.CPU = o.cpu
		}
		if o.has("mem") {
			j.Resources.MemoryBytes = o.mem
		}
		if o.code != "" {
			j.Code = ""
		}
		if o.has("dependency") {
			j.DependsOn, j.Singleton = o.deps, o.singleton
		}
		if o.has("gpus") {
			nodes := max(j.Resources.Nodes, 1)
			if o.gpus%nodes != 0 {
				return fmt.Errorf("-gpus %d: %s asks for %d nodes and nai gives every node the same GPUs; give a multiple of %d", o.gpus, file, nodes, nodes)
			}
			if per := o.gpus / nodes; per > structs.MaxGPUsPerNode {
				return fmt.Errorf("-gpus %d: %d GPUs a node; a node has at most %d", o.gpus, per, structs.MaxGPUsPerNode)
			}
			j.Resources.GPU.Count = o.gpus / nodes
		}
		if u := res.PerUnit; u != nil {
			o.scale(j, u)
		}
		check := j.Copy()
		check.Canonicalize()
		if err := check.Validate(); err != nil {
			return fmt.Errorf("%s with %s: %w", file, o.flagList(), err)
		}
	}
	return nil
}

// scale recomputes what a batch script asked per GPU or per CPU
// (--cpus-per-gpu, --mem-per-gpu, --mem-per-cpu) from the GPUs and CPUs
// the flags changed, as sbatch does; a flag given for the resource itself
// wins. With no GPUs or CPUs left to count, nai's default applies.
func (o *overrides) scale(j *structs.Job, u *jobspec.PerUnit) {
	r := &j.Resources
	if o.has("gpus") && !o.has("cpu") && u.CPUsPerGPU > 0 {
		r.CPU = float64(u.CPUsPerGPU * r.GPU.Count)
		if r.CPU == 0 {
			r.CPU = structs.DefaultCPU
		}
	}
	if o.has("mem") {
		return
	}
	switch {
	case o.has("gpus") && u.MemoryPerGPU > 0:
		r.MemoryBytes = u.MemoryPerGPU * int64(r.GPU.Count)
	case (o.has("gpus") || o.has("cpu")) && u.MemoryPerCPU > 0:
		r.MemoryBytes = u.MemoryPerCPU * int64(max(math.Ceil(r.CPU), 1))
	default:
		return
	}
	if r.MemoryBytes == 0 {
		r.MemoryBytes = structs.DefaultMemory
	}
}

// flagList names the flags given, as "-gpus and -time".
func (o *overrides) flagList() string {
	names := make([]string, len(o.set))
	for i, n := range o.set {
		names[i] = "-" + n
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
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
	}
	o, err := readOverrides(c)
	if err != nil {
		return nil, "", err
	}
	j := &structs.Job{Queue: o.queue, TimeLimit: o.time, DependsOn: o.deps, Singleton: o.singleton}
	j.Resources.CPU = o.cpu
	j.Resources.GPU.Count = o.gpus
	j.Resources.MemoryBytes = o.mem
	if len(command) == 1 && strings.ContainsAny(command[0], " \t\n;|&<>()$`'\"*") {
		// One argument with spaces or shell syntax in it: a script, as
		// sbatch --wrap runs it.
		j.Task.Script = strings.TrimRight(command[0], "\n") + "\n"
	} else {
		j.Task.Command, j.Task.Args = command[0], slices.Clone(command[1:])
	}
	j.Name = o.name
	if j.Name == "" {
		j.Name = commandName(command)
	}
	res := &jobspec.Result{Jobs: []*structs.Job{j}, CodePath: o.code}
	if o.code == "" {
		if f := localFile(command); f != "" {
			fmt.Fprintf(c.App.ErrWriter, "Note: %s is a file here, but no code is sent with the job; add -code . to send this folder.\n", f)
		}
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
	// One-letter units are binary, as in sbatch (2G is 2 GiB), in
	// ParseSize itself; "2GB" stays the 2,000,000,000 bytes it says.
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
