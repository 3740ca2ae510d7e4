package jobspec

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nai-project/nai/structs"
)

type argKind int

const (
	noArg  argKind = iota
	reqArg         // --name=value or --name value
	optArg         // --name or --name=value
)

// sbatchOption is one option of sbatch. Those with a reason in why are
// ignored with a warning (or, with note, a note: ignoring them changes
// nothing that matters); the others become part of the job in build.
type sbatchOption struct {
	long  string
	short byte
	arg   argKind
	why   string
	note  bool
}

// Reasons shared by several ignored options.
const (
	whyPlacement = "nai places each job itself, on whole GPUs, and does not bind tasks to sockets, cores or memory"
	whyNodes     = "nai chooses the nodes itself; they cannot be named or excluded"
	whyAccount   = "nai charges a job to its owner and group; there are no accounts"
	whyMail      = "nai sends no mail; nai job run follows a job to its end, and nai job status shows it"
	whyPriority  = "use --qos (priority tiers: " + "scavenger, low, normal, high, urgent" + ") or a job file's priority"
	whyHere      = "it has no meaning on a nai cluster"
)

var sbatchOptions = []*sbatchOption{
	// Supported: see build.
	{long: "job-name", short: 'J', arg: reqArg},
	{long: "time", short: 't', arg: reqArg},
	{long: "gres", arg: reqArg},
	{long: "gpus", short: 'G', arg: reqArg},
	{long: "gpus-per-node", arg: reqArg},
	{long: "gpus-per-task", arg: reqArg},
	{long: "cpus-per-task", short: 'c', arg: reqArg},
	{long: "cpus-per-gpu", arg: reqArg},
	{long: "mem", arg: reqArg},
	{long: "mem-per-gpu", arg: reqArg},
	{long: "mem-per-cpu", arg: reqArg},
	{long: "tmp", arg: reqArg},
	{long: "nodes", short: 'N', arg: reqArg},
	{long: "ntasks", short: 'n', arg: reqArg},
	{long: "ntasks-per-node", arg: reqArg},
	{long: "array", short: 'a', arg: reqArg},
	{long: "dependency", short: 'd', arg: reqArg},
	{long: "partition", short: 'p', arg: reqArg},
	{long: "qos", short: 'q', arg: reqArg},
	{long: "output", short: 'o', arg: reqArg},
	{long: "error", short: 'e', arg: reqArg},
	{long: "begin", short: 'b', arg: reqArg},
	{long: "chdir", short: 'D', arg: reqArg},
	{long: "export", arg: reqArg},
	{long: "exclusive", arg: optArg},
	{long: "comment", arg: reqArg},
	{long: "no-requeue", arg: noArg}, // nai's default: nothing to do
	{long: "hold", short: 'H', arg: noArg},

	// Ignored, with the reason.
	{long: "account", short: 'A', arg: reqArg, why: whyAccount},
	{long: "wckey", arg: reqArg, why: whyAccount},
	{long: "mail-type", arg: reqArg, why: whyMail},
	{long: "mail-user", arg: reqArg, why: whyMail},
	{long: "constraint", short: 'C', arg: reqArg, why: "nai does not match node features; a GPU type goes in --gres=gpu:TYPE:N"},
	{long: "cluster-constraint", arg: reqArg, why: "nai does not match node features"},
	{long: "prefer", arg: reqArg, why: "nai does not match node features"},
	{long: "nodelist", short: 'w', arg: reqArg, why: whyNodes},
	{long: "exclude", short: 'x', arg: reqArg, why: whyNodes},
	{long: "nodefile", short: 'F', arg: reqArg, why: whyNodes},
	{long: "clusters", short: 'M', arg: reqArg, why: "a nai cluster is the one nai job run talks to (NAI_ADDR)"},
	{long: "licenses", short: 'L', arg: reqArg, why: "nai has no licenses to count"},
	{long: "reservation", arg: reqArg, why: "nai has no reservations"},
	{long: "signal", arg: reqArg, why: "at its time limit nai sends the job SIGTERM, then SIGKILL after a grace period"},
	{long: "time-min", arg: reqArg, why: "the job gets its whole --time"},
	{long: "deadline", arg: reqArg, why: "nai has no deadlines; --time bounds the run"},
	{long: "requeue", arg: noArg, why: `nai requeues a job only as its retry block says: add retry { attempts = 3, on = ["node-lost", "preempted"] } to the converted job file`},
	{long: "open-mode", arg: reqArg, why: "nai writes a downloaded log whole, replacing the file"},
	{long: "input", short: 'i', arg: reqArg, why: "a job's standard input is empty"},
	{long: "nice", arg: optArg, why: whyPriority},
	{long: "priority", arg: reqArg, why: whyPriority},
	{long: "kill-on-invalid-dep", arg: reqArg, why: "nai always cancels a job whose dependency can no longer be met"},
	{long: "get-user-env", arg: optArg, why: "a nai job does not load the submitting user's login environment; name variables with --export"},
	{long: "export-file", arg: reqArg, why: "name variables with --export=NAME=VALUE"},
	{long: "propagate", arg: optArg, why: "nai does not copy resource limits; the job's cgroup sets them"},
	{long: "distribution", short: 'm', arg: reqArg, why: whyPlacement},
	{long: "hint", arg: reqArg, why: whyPlacement},
	{long: "cpu-bind", arg: reqArg, why: whyPlacement},
	{long: "mem-bind", arg: reqArg, why: whyPlacement},
	{long: "gres-flags", arg: reqArg, why: whyPlacement},
	{long: "sockets-per-node", arg: reqArg, why: whyPlacement},
	{long: "cores-per-socket", arg: reqArg, why: whyPlacement},
	{long: "threads-per-core", arg: reqArg, why: whyPlacement},
	{long: "ntasks-per-core", arg: reqArg, why: whyPlacement},
	{long: "ntasks-per-socket", arg: reqArg, why: whyPlacement},
	{long: "ntasks-per-gpu", arg: reqArg, why: whyPlacement},
	{long: "extra-node-info", short: 'B', arg: reqArg, why: whyPlacement},
	{long: "core-spec", short: 'S', arg: reqArg, why: whyPlacement},
	{long: "thread-spec", arg: reqArg, why: whyPlacement},
	{long: "mincpus", arg: reqArg, why: "ask for CPUs with --cpus-per-task"},
	{long: "overcommit", short: 'O', arg: noArg, why: whyPlacement},
	{long: "oversubscribe", short: 's', arg: noArg, why: "nai shares a node between jobs whenever their requests fit (--exclusive asks for whole nodes)"},
	{long: "contiguous", arg: noArg, why: whyPlacement},
	{long: "switches", arg: reqArg, why: whyPlacement},
	{long: "spread-job", arg: noArg, why: whyPlacement},
	{long: "use-min-nodes", arg: noArg, why: "nai runs a job on exactly --nodes nodes"},
	{long: "cpu-freq", arg: reqArg, why: whyHere},
	{long: "network", arg: reqArg, why: whyHere},
	{long: "power", arg: reqArg, why: whyHere},
	{long: "reboot", arg: noArg, why: whyHere},
	{long: "delay-boot", arg: reqArg, why: whyHere},
	{long: "burst-buffer", arg: reqArg, why: whyHere},
	{long: "bb", arg: reqArg, why: whyHere},
	{long: "bbf", arg: reqArg, why: whyHere},
	{long: "profile", arg: reqArg, why: whyHere},
	{long: "acctg-freq", arg: reqArg, why: whyHere},
	{long: "mcs-label", arg: reqArg, why: whyHere},
	{long: "container", arg: reqArg, why: "nai runs jobs on the host, not in containers"},
	{long: "tres-per-task", arg: reqArg, why: "ask with --cpus-per-task and --gpus-per-task"},
	{long: "uid", arg: reqArg, why: "a job runs as its owner"},
	{long: "gid", arg: reqArg, why: "a job runs as its owner"},
	{long: "immediate", short: 'I', arg: optArg, why: "a nai job waits in the queue until it can start"},
	{long: "no-kill", short: 'k', arg: optArg, why: "a multi-node job ends when any of its nodes fails"},
	{long: "wrap", arg: reqArg, why: "the script is the command"},
	{long: "parsable", arg: noArg, note: true, why: "nai job run -detach prints only the job id"},
	{long: "wait", short: 'W', arg: noArg, note: true, why: "nai job run follows the job until it ends (unless -detach)"},
	{long: "test-only", arg: noArg, why: "nai job plan shows where a job would start without submitting it"},
	{long: "quiet", short: 'Q', arg: noArg, note: true, why: "it only changes what sbatch prints"},
	{long: "verbose", short: 'v', arg: noArg, note: true, why: "it only changes what sbatch prints"},
}

var longOptions, shortOptions = indexOptions(sbatchOptions)

// indexOptions maps options by long and short name.
func indexOptions(opts []*sbatchOption) (map[string]*sbatchOption, map[byte]*sbatchOption) {
	long, short := map[string]*sbatchOption{}, map[byte]*sbatchOption{}
	for _, o := range opts {
		long[o.long] = o
		if o.short != 0 {
			short[o.short] = o
		}
	}
	long["workdir"] = long["chdir"] // sbatch's old name for it
	return long, short
}

// defaultScriptName is sbatch's default job name: the script's file name.
func defaultScriptName(filename string) string {
	if filename == "" || filename == StdinName || filename == "-" {
		return "sbatch"
	}
	return filepath.Base(filename)
}

// build turns the directives into the job (or array of jobs) the script
// submits.
func (p *scriptParser) build() *scriptResult {
	get := func(name string) *directive { return p.last[name] }
	job := &structs.Job{}
	sr := &scriptResult{res: &Result{Script: true}}

	name := defaultScriptName(p.filename)
	nameLine := 1
	if d := get("job-name"); d != nil {
		name, nameLine = d.value, d.rng.Start.Line
	}
	if clean := sanitizeName(name); clean != name {
		p.warn(nameLine, "job name %q becomes %q: nai names use letters, digits, '.', '_' and '-', starting with a letter or digit", name, clean)
		name = clean
	}
	job.Name = name

	if d := get("time"); d != nil {
		if dur, err := parseSlurmTime(d.value); err != nil {
			p.invalid(d, err)
		} else {
			job.TimeLimit = structs.Duration(dur)
		}
	}

	nodes, tasks := p.nodesAndTasks()
	job.Resources.Nodes = nodes
	job.Task.NProcPerNode = tasks
	perNode := max(tasks, 1) // Slurm's default: one task per node

	gpu := p.gpus(nodes, perNode)
	job.Resources.GPU = structs.GPURequest{Count: gpu.count, Model: gpu.model}
	cpus := p.cpus(tasks, perNode, gpu.count)
	job.Resources.CPU = float64(cpus)
	job.Resources.MemoryBytes = p.memory(gpu.count, max(cpus, 1))
	sr.res.PerUnit = p.perUnit(gpu.count, cpus, job.Resources.MemoryBytes)

	if d := get("tmp"); d != nil {
		if n, err := parseSlurmMem(d.value); err != nil {
			p.invalid(d, err)
		} else {
			job.Resources.DiskBytes = n
		}
	}
	if d := get("exclusive"); d != nil {
		job.Resources.Exclusive = true
		switch strings.ToLower(d.value) {
		case "":
		case "user", "mcs", "topo":
			p.warn(d.rng.Start.Line, "--exclusive=%s is not supported: the job gets whole nodes to itself, as plain --exclusive asks", d.value)
		default:
			p.invalid(d, fmt.Errorf("%q is not an --exclusive mode: expected --exclusive alone (or =user, =mcs or =topo)", d.value))
		}
	}
	if d := get("partition"); d != nil {
		q := d.value
		if first, _, more := strings.Cut(q, ","); more {
			p.warn(d.rng.Start.Line, "--partition=%s names several partitions: nai queues a job in one, %s", q, first)
			q = first
		}
		if !structs.ValidName(q) {
			p.invalid(d, fmt.Errorf("%q cannot name a nai queue: use letters, digits, '.', '_' and '-', starting with a letter or digit", q))
		}
		job.Queue = q
	}
	if d := get("qos"); d != nil {
		if t, ok := qosPriority[strings.ToLower(d.value)]; ok {
			job.Priority, job.Preemptible = t.priority, t.preemptible
		} else {
			p.warn(d.rng.Start.Line, "--qos=%s is not a QOS nai knows (%s); the job keeps the default priority, %d", d.value, strings.Join(qosNames, ", "), structs.DefaultPriority)
		}
	}
	if get("hold") != nil {
		job.Hold = &structs.JobHold{}
	}
	if d := get("dependency"); d != nil {
		if deps, single, err := ParseDependency(d.value); err != nil {
			p.invalid(d, err)
		} else {
			job.DependsOn, job.Singleton = deps, single
		}
	}
	if d := get("begin"); d != nil {
		if t, rel, isRel, err := parseBegin(d.value, p.opts.Now); err != nil {
			p.invalid(d, err)
		} else {
			job.BeginTime = t.UTC()
			sr.beginAfter, sr.relBegin = rel, isRel
		}
	}
	if d := get("comment"); d != nil {
		job.Description = d.value
	}
	var array *arraySpec
	if d := get("array"); d != nil {
		if spec, err := parseArray(d.value); err != nil {
			p.invalid(d, err)
		} else {
			array = &spec
		}
	}
	p.chdir(&job.Task)
	p.export(&job.Task)
	job.LogPaths = p.logPaths()
	job.Task.Script = string(p.src)
	sr.res.CodePath = p.codePath()

	if p.diags.HasErrors() {
		return sr
	}
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		for _, e := range flatten(err) {
			p.errorAt(hcl.Range{Filename: p.filename, Start: hcl.InitialPos, End: hcl.InitialPos}, "Invalid job", "%s.", strings.TrimSuffix(e.Error(), "."))
		}
		return sr
	}

	if array == nil {
		sr.res.Jobs = []*structs.Job{job}
		return sr
	}
	sr.res.Sweep = true
	spec := *array
	for i, id := range spec.ids {
		m := job.Copy()
		setSweepMember(m, i, len(spec.ids), spec.maxParallel, map[string]string{structs.ArrayTaskIDKey: strconv.Itoa(id)})
		sr.res.Jobs = append(sr.res.Jobs, m)
	}
	setArrayRangeEnv(sr.res.Jobs) // array_env.go
	return sr
}

// nodesAndTasks reads --nodes, --ntasks and --ntasks-per-node: the number
// of nodes, and the tasks per node (0 when the script does not say).
func (p *scriptParser) nodesAndTasks() (nodes, tasks int) {
	nodes = 1
	nd := p.last["nodes"]
	if nd != nil {
		n, ranged, err := parseNodes(nd.value)
		if err != nil {
			p.invalid(nd, err)
		} else {
			if ranged {
				p.warn(nd.rng.Start.Line, "--nodes=%s: nai runs a job on exactly one number of nodes, the smallest, %d", nd.value, n)
			}
			nodes = n
		}
	}
	tpn, nt := p.last["ntasks-per-node"], p.last["ntasks"]
	if tpn != nil {
		n, err := parseCount(tpn.value, structs.MaxProcsPerNode)
		if err != nil {
			p.invalid(tpn, err)
			return nodes, 0
		}
		tasks = n
	}
	if nt != nil {
		n, err := parseCount(nt.value, structs.MaxProcsPerNode*structs.MaxNodesPerJob)
		if err != nil {
			p.invalid(nt, err)
			return nodes, tasks
		}
		switch {
		case tpn != nil:
			if n != tasks*nodes {
				p.warn(nt.rng.Start.Line, "--ntasks=%d does not match --ntasks-per-node=%d on %d node(s): nai runs %d tasks per node, %d in all", n, tasks, nodes, tasks, tasks*nodes)
			}
		case n%nodes != 0:
			tasks = ceilDiv(n, nodes)
			p.warn(nt.rng.Start.Line, "--ntasks=%d cannot be spread evenly over %d nodes: nai gives every node the same, %d tasks per node (%d in all)", n, nodes, tasks, tasks*nodes)
		default:
			tasks = n / nodes
		}
		if tasks > structs.MaxProcsPerNode {
			p.invalid(nt, fmt.Errorf("%d tasks per node is more than nai's limit of %d: ask for more nodes with --nodes", tasks, structs.MaxProcsPerNode))
			return nodes, 0
		}
	}
	return nodes, tasks
}

// gpus reads the GPU requests (--gres=gpu, --gpus, --gpus-per-node,
// --gpus-per-task) into GPUs per node. They may be given together only if
// they agree.
func (p *scriptParser) gpus(nodes, perNode int) gpuSpec {
	var got gpuSpec
	var from *directive
	agree := func(d *directive, g gpuSpec) {
		if from != nil && (g.count != got.count || (g.model != "" && got.model != "" && !strings.EqualFold(g.model, got.model))) {
			p.errorAt(d.rng, "Conflicting GPU requests", "%s asks for %s per node, but %s (line %d) for %s: give one.",
				d.show(), describeGPUs(g), from.show(), from.rng.Start.Line, describeGPUs(got))
			return
		}
		if g.count > structs.MaxGPUsPerNode {
			p.invalid(d, fmt.Errorf("%d GPUs per node is more than nai's limit of %d", g.count, structs.MaxGPUsPerNode))
			return
		}
		if g.model == "" {
			g.model = got.model
		}
		got, from = g, d
	}
	for _, name := range []string{"gres", "gpus-per-node", "gpus", "gpus-per-task"} {
		d := p.last[name]
		if d == nil {
			continue
		}
		if name == "gres" {
			g, others, err := parseGres(d.value)
			if err != nil {
				p.invalid(d, err)
				continue
			}
			if len(others) > 0 {
				p.warn(d.rng.Start.Line, "--gres=%s: nai schedules GPUs only; %s ignored", d.value, strings.Join(others, ", "))
			}
			if g != nil {
				agree(d, *g)
			}
			continue
		}
		g, err := parseGPUSpec(d.value)
		if err != nil {
			p.invalid(d, err)
			continue
		}
		switch name {
		case "gpus":
			if g.count%nodes != 0 {
				p.invalid(d, fmt.Errorf("%d GPUs cannot be split evenly over %d nodes: nai gives every node the same GPUs; use --gpus-per-node", g.count, nodes))
				continue
			}
			g.count /= nodes
		case "gpus-per-task":
			g.count *= perNode
		}
		agree(d, g)
	}
	return got
}

func describeGPUs(g gpuSpec) string {
	s := strconv.Itoa(g.count)
	if g.model != "" {
		s += " " + g.model
	}
	if g.count == 1 {
		return s + " GPU"
	}
	return s + " GPUs"
}

// cpus reads --cpus-per-task or --cpus-per-gpu into CPUs per node; 0 leaves
// nai's default.
func (p *scriptParser) cpus(tasks, perNode, gpus int) int {
	cpt, cpg := p.last["cpus-per-task"], p.last["cpus-per-gpu"]
	switch {
	case cpt != nil && cpg != nil:
		p.errorAt(cpg.rng, "Conflicting CPU requests", "--cpus-per-gpu and --cpus-per-task (line %d) are alternatives, as in sbatch: give one.", cpt.rng.Start.Line)
	case cpt != nil:
		n, err := parseCount(cpt.value, structs.MaxCPU)
		if err != nil {
			p.invalid(cpt, err)
			return 0
		}
		if n*perNode > structs.MaxCPU {
			p.invalid(cpt, fmt.Errorf("%d CPUs for each of %d tasks per node is more than nai's limit of %d", n, perNode, structs.MaxCPU))
			return 0
		}
		return n * perNode
	case cpg != nil:
		n, err := parseCount(cpg.value, structs.MaxCPU)
		if err != nil {
			p.invalid(cpg, err)
			return 0
		}
		if gpus == 0 {
			p.warn(cpg.rng.Start.Line, "--cpus-per-gpu=%s is ignored: the job asks for no GPUs", cpg.value)
			return 0
		}
		if n*gpus > structs.MaxCPU {
			p.invalid(cpg, fmt.Errorf("%d CPUs for each of %d GPUs is more than nai's limit of %d", n, gpus, structs.MaxCPU))
			return 0
		}
		return n * gpus
	case tasks > 0:
		return tasks // one CPU per task, as in Slurm
	}
	return 0
}

// memory reads --mem, --mem-per-gpu or --mem-per-cpu into bytes per node;
// 0 leaves nai's default.
func (p *scriptParser) memory(gpus, cpus int) int64 {
	var given []*directive
	for _, name := range []string{"mem", "mem-per-gpu", "mem-per-cpu"} {
		if d := p.last[name]; d != nil {
			given = append(given, d)
		}
	}
	if len(given) == 0 {
		return 0
	}
	if len(given) > 1 {
		p.errorAt(given[1].rng, "Conflicting memory requests", "%s and %s (line %d) are alternatives, as in sbatch: give one.", given[1].written, given[0].written, given[0].rng.Start.Line)
		return 0
	}
	d := given[0]
	n, err := parseSlurmMem(d.value)
	if err != nil {
		p.invalid(d, err)
		return 0
	}
	mult, what := int64(1), ""
	switch d.opt.long {
	case "mem":
		if n == 0 {
			p.warn(d.rng.Start.Line, "--mem=0 (all of a node's memory) is not supported: nai needs a size, so the default, %s, applies", structs.FormatSize(structs.DefaultMemory))
			return 0
		}
	case "mem-per-gpu":
		if gpus == 0 {
			p.warn(d.rng.Start.Line, "--mem-per-gpu=%s is ignored: the job asks for no GPUs", d.value)
			return 0
		}
		mult, what = int64(gpus), "GPUs"
	case "mem-per-cpu":
		mult, what = int64(cpus), "CPUs"
	}
	if !mulFits(n, mult, structs.MaxMemory) {
		p.invalid(d, fmt.Errorf("%s for each of %d %s is more than nai's limit of %s per node", d.value, mult, what, structs.FormatSize(structs.MaxMemory)))
		return 0
	}
	if n*mult < structs.MinMemory {
		p.invalid(d, fmt.Errorf("%s is below the %s a task needs: a bare number is megabytes, so give a size such as 512 (512 MiB), 512M or 8G", d.value, structs.FormatSize(structs.MinMemory)))
		return 0
	}
	return n * mult
}

// perUnit says which of the resources cpus and memory (per node) the
// script asked for per GPU or per CPU, so that a command line that
// changes the count scales them as sbatch would; nil when none.
func (p *scriptParser) perUnit(gpus, cpus int, memory int64) *PerUnit {
	var u PerUnit
	if p.last["cpus-per-gpu"] != nil && p.last["cpus-per-task"] == nil && gpus > 0 && cpus > 0 {
		u.CPUsPerGPU = cpus / gpus
	}
	if memory > 0 {
		switch {
		case p.last["mem"] != nil:
		case p.last["mem-per-gpu"] != nil && p.last["mem-per-cpu"] == nil && gpus > 0:
			u.MemoryPerGPU = memory / int64(gpus)
		case p.last["mem-per-cpu"] != nil && p.last["mem-per-gpu"] == nil:
			u.MemoryPerCPU = memory / int64(max(cpus, 1))
		}
	}
	if u == (PerUnit{}) {
		return nil
	}
	return &u
}

// chdir reads --chdir. nai uploads the script's folder and runs the job in
// its copy on the node (the equivalent of Slurm's submit directory), so a
// relative folder is relative to that copy; an absolute one must exist on
// every node.
func (p *scriptParser) chdir(t *structs.Task) {
	d := p.last["chdir"]
	if d == nil {
		return
	}
	dir := filepath.Clean(d.value)
	line := d.rng.Start.Line
	if filepath.IsAbs(dir) {
		if rel, err := filepath.Rel(p.codePath(), dir); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			p.note(line, "--chdir=%s is inside the script's folder, which nai uploads: the job runs in its copy of %s on the node", d.value, filepath.ToSlash(rel))
			if rel != "." {
				t.Workdir = filepath.ToSlash(rel)
			}
			return
		}
		p.warn(line, "--chdir=%s: the job runs in that folder on the node, which must exist there: nai uploads the script's folder (the job's default working folder) and shares no file system", d.value)
		t.Workdir = dir
		return
	}
	if dir == ".." || strings.HasPrefix(dir, "../") {
		p.warn(line, "--chdir=%s leaves the script's folder: on the node the job runs in a copy of that folder, with nothing of yours above it", d.value)
	}
	if dir != "." {
		t.Workdir = filepath.ToSlash(dir)
	}
}

// export reads --export: NAME=VALUE sets a variable, NAME copies it from
// the submitting environment (Options.LookupEnv), NONE and NIL are nai's
// way anyway; ALL cannot be honoured: the job runs on another machine.
func (p *scriptParser) export(t *structs.Task) {
	d := p.last["export"]
	if d == nil {
		return
	}
	line := d.rng.Start.Line
	for _, item := range strings.Split(d.value, ",") {
		name, value, hasValue := strings.Cut(item, "=")
		switch {
		case item == "":
			continue
		case !hasValue && (item == "ALL" || item == "NONE" || item == "NIL"):
			if item == "ALL" {
				p.warn(line, "--export=ALL is not supported: a nai job runs on another machine and does not get the submitting shell's environment; name each variable: --export=NAME or NAME=VALUE")
			}
			continue
		case !envKeyRE().MatchString(name):
			p.invalid(d, fmt.Errorf("%q cannot be an environment variable: use letters, digits and '_', not starting with a digit", name))
			continue
		case !hasValue:
			v, ok := "", false
			if p.opts.LookupEnv != nil {
				v, ok = p.opts.LookupEnv(name)
			}
			if !ok {
				p.warn(line, "--export=%s: %s is not set where the script is submitted; not exported", d.value, name)
				continue
			}
			value = v
		}
		if t.Env == nil {
			t.Env = map[string]string{}
		}
		t.Env[name] = value
	}
}

// logPaths reads --output and --error.
func (p *scriptParser) logPaths() *structs.LogPaths {
	out, errf := p.last["output"], p.last["error"]
	if out == nil && errf == nil {
		return nil
	}
	l := &structs.LogPaths{}
	for _, f := range []struct {
		d   *directive
		dst *string
	}{{out, &l.Stdout}, {errf, &l.Stderr}} {
		if f.d == nil {
			continue
		}
		path := f.d.value
		if strings.EqualFold(path, "none") {
			path = "/dev/null"
		}
		if path == "" || len(path) > structs.MaxLogPathLen {
			p.invalid(f.d, fmt.Errorf("%q is not a file path of 1 to %d bytes", path, structs.MaxLogPathLen))
			continue
		}
		if unknown := checkLogPattern(path); len(unknown) > 0 {
			p.warn(f.d.rng.Start.Line, "--%s=%s: %s stays as written: nai fills in %%j, %%A, %%a, %%x, %%u, %%N and %%%%", f.d.opt.long, f.d.value, strings.Join(unknown, ", "))
		}
		*f.dst = path
	}
	if l.Stdout == "" && l.Stderr != "" {
		// Without --output, Slurm writes stdout to slurm-%j.out (slurm-%A_%a.out in an array).
		l.Stdout = "slurm-%j.out"
		if p.last["array"] != nil {
			l.Stdout = "slurm-%A_%a.out"
		}
	}
	return l
}

// codePath is the folder uploaded with a script: the script's own.
func (p *scriptParser) codePath() string {
	abs, err := filepath.Abs(baseDir(p.filename))
	if err != nil {
		return baseDir(p.filename)
	}
	return abs
}
