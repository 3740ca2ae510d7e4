package jobspec

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/nai-project/nai/structs"
	"github.com/zclconf/go-cty/cty"
)

var jobSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "queue"}, {Name: "priority"}, {Name: "time_limit"}, {Name: "begin_after"},
		{Name: "preemptible"}, {Name: "group"}, {Name: "description"}, {Name: "labels"},
		{Name: "code"}, {Name: "depends_on"}, {Name: "singleton"}, {Name: "type"},
		{Name: "hold"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "resources"}, {Type: "task"}, {Type: "retry"}, {Type: "output"}, {Type: "sweep"}, {Type: "logs"}, {Type: "service"},
		{Type: "dataset", LabelNames: []string{"name"}},
		{Type: "model", LabelNames: []string{"name"}},
	},
}

// singleBlocks may appear at most once in a job; task must appear.
var singleBlocks = []string{"resources", "task", "retry", "output", "sweep", "logs", "service"}

func (p *parser) decodeJob(block *hcl.Block) (*Result, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	name := block.Labels[0]
	if !structs.ValidName(name) {
		diags = append(diags, errorAt(block.LabelRanges[0], "Invalid job name",
			"%q is not a valid job name: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters.", name, structs.MaxNameLen))
	}
	content, cdiags := block.Body.Content(jobSchema)
	diags = append(diags, cdiags...)

	first := map[string]*hcl.Block{}
	for _, b := range content.Blocks {
		if prev := first[b.Type]; prev != nil && slices.Contains(singleBlocks, b.Type) {
			diags = append(diags, errorAt(b.DefRange, "Duplicate "+b.Type+" block",
				"A job has at most one %s block; the first is at %s.", b.Type, prev.DefRange))
			continue
		}
		if first[b.Type] == nil {
			first[b.Type] = b
		}
	}
	if first["task"] == nil && !diags.HasErrors() {
		diags = append(diags, errorAt(block.DefRange, "Missing task block",
			`Job %q says nothing to run: add task { command = "python3" args = ["train.py"] } or task { script = <<-EOT ... EOT }.`, name))
	}
	// Structural problems do not stop the decoding below: a user fixing a
	// typo wants to hear about the other problems in the same run.

	res := &Result{}
	if a := content.Attributes["code"]; a != nil {
		d := &decoder{p: p, ctx: p.evalContext(cty.NilVal), sc: scopeLocals}
		res.CodePath, res.CodeDigest = d.codePath(a)
		diags = append(diags, d.diags...)
	}

	members, sdiags := p.decodeSweep(first["sweep"])
	diags = append(diags, sdiags...)
	if sdiags.HasErrors() {
		return nil, diags
	}
	res.Sweep = first["sweep"] != nil
	if res.Sweep && first["service"] != nil {
		return nil, append(diags, errorAt(first["service"].DefRange, "Service in a sweep",
			"A sweep makes many batch jobs; a service is one job with replicas. Remove the sweep block, or ask for more replicas."))
	}

	// One context and one block of jobs for every member: a sweep's
	// members are decoded in turn, and only sweep.* changes between them.
	ctx := p.evalContext(members[0].object())
	jobs := make([]structs.Job, len(members))
	res.Jobs = make([]*structs.Job, 0, len(members))
	// The first member is decoded in full and becomes the template of the
	// others, which re-decode only the parts that refer to sweep.*.
	var tmpl *template
	allFromTemplate := true
	for i := range members {
		m := &members[i]
		job := &jobs[i]
		if tmpl != nil {
			if tmpl.member(job, ctx, i, len(members), m, res.CodeDigest) {
				res.Jobs = append(res.Jobs, job)
				continue
			}
			// This member has a problem: decode it in full, as every
			// member once was, for exactly the diagnostics that gives.
			*job = structs.Job{}
			allFromTemplate = false
		}
		if res.Sweep {
			ctx.Variables["sweep"] = m.object()
		}
		d := &decoder{p: p, ctx: ctx, sc: scopeJob}
		if i == 0 && res.Sweep && len(members) > 1 && p.fastSweeps {
			d.tmpl = &template{d: decoder{p: p}}
		}
		job.Name = name
		d.job(job, content)
		if diags.HasErrors() {
			return nil, append(diags, d.diags...)
		}
		if d.tmpl != nil && !d.diags.HasErrors() {
			d.tmpl.base = *job
			tmpl = d.tmpl
		}
		if res.Sweep {
			p.setMember(job, i, len(members), m)
		}
		job.Code = res.CodeDigest
		if !d.diags.HasErrors() {
			job.Canonicalize()
			if err := job.Validate(); err != nil {
				for _, e := range flatten(err) {
					d.diags = append(d.diags, errorAt(block.DefRange, "Invalid job", "%s.", strings.TrimSuffix(e.Error(), ".")))
				}
			}
		}
		if d.diags.HasErrors() {
			// Members share the file, so one member's problems are
			// usually everyone's: report the first member's only.
			if res.Sweep {
				for _, diag := range d.diags {
					diag.Detail = strings.TrimSpace(diag.Detail + " (In sweep member " + fmt.Sprint(i) + ": " + m.describe() + ".)")
				}
			}
			return nil, d.diags
		}
		res.Jobs = append(res.Jobs, job)
	}
	if res.Sweep {
		setArrayRangeEnv(res.Jobs) // array_env.go
	}
	if tmpl != nil && allFromTemplate {
		res.SweepFields = slices.Clip(append([]string{}, tmpl.fields...))
	}
	return res, nil
}

// setSweepMember makes job member i of n of a sweep with these values,
// each also in the task's environment as NAI_SWEEP_<NAME>.
func setSweepMember(job *structs.Job, i, n, maxParallel int, values map[string]string) {
	job.SetSweepMember(i, n, maxParallel, values)
}

// setMember makes job member i of n of the parser's sweep.
func (p *parser) setMember(job *structs.Job, i, n int, m *member) {
	job.SetSweepMemberNamed(i, n, m.maxParallel, m.strs, p.sweepEnvNames)
}

// CodeDigestPrefix starts a `code` value that names code already on the
// servers by its sha256 digest, as `nai job inspect -hcl` writes it, rather
// than a folder to upload.
const CodeDigestPrefix = "sha256:"

// codePath resolves `code` against the job file's folder, or reads the
// digest of code already uploaded ("sha256:...").
func (d *decoder) codePath(a *hcl.Attribute) (path, digest string) {
	s, ok := d.str(a)
	if !ok {
		return "", ""
	}
	if s == "" {
		d.errorf(a, "Invalid code", "code is the path of a local folder to upload, such as \"./src\"; it must not be empty.")
		return "", ""
	}
	if hex, ok := strings.CutPrefix(s, CodeDigestPrefix); ok {
		if !structs.ValidDigest(hex) {
			d.errorf(a, "Invalid code", "%q names uploaded code by its digest, which is \"sha256:\" and 64 lower-case hex digits; a folder to upload is a path such as \"./src\".", s)
			return "", ""
		}
		return "", hex
	}
	p := s
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir(d.p.filename), p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		d.errorf(a, "Invalid code", "cannot resolve code path %q: %s.", s, err)
		return "", ""
	}
	return abs, ""
}

// flatten splits errors.Join trees into their leaves.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// job fills the spec from the job block's content. Each part that may
// refer to sweep.* is decoded by a unit (see decoder.set), so that the
// other members of a sweep can decode that part alone.
func (d *decoder) job(job *structs.Job, content *hcl.BodyContent) {
	attrs := content.Attributes
	if a := attrs["queue"]; a != nil {
		d.set(job, a, "queue", func(d *decoder, j *structs.Job) { j.Queue, _ = d.name(a, "queue name") })
	}
	if a := attrs["priority"]; a != nil {
		d.set(job, a, "priority", func(d *decoder, j *structs.Job) { j.Priority, _ = d.integer(a, 0, structs.MaxPriority) })
	}
	if a := attrs["time_limit"]; a != nil {
		d.set(job, a, "time_limit", func(d *decoder, j *structs.Job) {
			tl, _ := d.duration(a, structs.MaxTimeLimit)
			j.TimeLimit = structs.Duration(tl)
		})
	}
	if a := attrs["begin_after"]; a != nil {
		d.set(job, a, "begin_time", func(d *decoder, j *structs.Job) { j.BeginTime, _ = d.beginTime(a) })
	}
	if a := attrs["preemptible"]; a != nil {
		d.set(job, a, "preemptible", func(d *decoder, j *structs.Job) { j.Preemptible, _ = d.boolean(a) })
	}
	if a := attrs["group"]; a != nil {
		d.set(job, a, "group", func(d *decoder, j *structs.Job) { j.Group, _ = d.name(a, "group name") })
	}
	if a := attrs["description"]; a != nil {
		d.set(job, a, "description", func(d *decoder, j *structs.Job) { j.Description, _ = d.str(a) })
	}
	if a := attrs["labels"]; a != nil {
		d.set(job, a, "labels", func(d *decoder, j *structs.Job) { j.Labels, _ = d.stringMap(a) })
	}
	if a := attrs["depends_on"]; a != nil {
		d.set(job, a, "depends_on", func(d *decoder, j *structs.Job) { j.DependsOn = d.dependsOn(a) })
	}
	if a := attrs["singleton"]; a != nil {
		d.set(job, a, "singleton", func(d *decoder, j *structs.Job) { j.Singleton, _ = d.boolean(a) })
	}
	if a := attrs["hold"]; a != nil {
		d.set(job, a, "hold", func(d *decoder, j *structs.Job) {
			j.Hold = nil
			if held, _ := d.boolean(a); held {
				j.Hold = &structs.JobHold{}
			}
		})
	}
	d.set(job, attrs["type"], "type", func(d *decoder, j *structs.Job) {
		j.Type = ""
		d.jobType(j, attrs["type"], content)
	})
	d.artifactUnits(content.Blocks, "dataset", "datasets", func(j *structs.Job) *[]structs.ArtifactRef { return &j.Datasets })
	d.artifactUnits(content.Blocks, "model", "models", func(j *structs.Job) *[]structs.ArtifactRef { return &j.Models })
	for _, b := range content.Blocks {
		switch b.Type {
		case "resources":
			d.resources(job, b)
		case "task":
			d.task(job, b)
		case "retry":
			d.setBlock(job, b, "retry", func(d *decoder, j *structs.Job) { j.Retry = d.retry(b) })
		case "output":
			d.setBlock(job, b, "output", func(d *decoder, j *structs.Job) { j.Output = d.output(b) })
		case "logs":
			d.setBlock(job, b, "log_paths", func(d *decoder, j *structs.Job) { j.LogPaths = d.logPaths(b) })
		case "service":
			// Never in a sweep (decodeJob refuses that), so never a
			// template's: service also sets job.Preemptible.
			if job.IsService() {
				job.Service = d.service(job, b)
			}
		case "dataset":
			job.Datasets = d.artifact(job.Datasets, b)
		case "model":
			job.Models = d.artifact(job.Models, b)
		}
	}
}

// artifactUnits remembers, for the other members of a sweep, how to read
// every block of type typ again when one of them refers to sweep.*: each
// block appends to the same list, and the list refuses a name twice.
func (d *decoder) artifactUnits(blocks hcl.Blocks, typ, name string, field func(*structs.Job) *[]structs.ArtifactRef) {
	if d.tmpl == nil {
		return
	}
	dep := false
	for _, b := range blocks {
		dep = dep || (b.Type == typ && d.p.bodyRefersToSweep(b.Body))
	}
	if !dep {
		return
	}
	d.tmpl.add(name, func(d *decoder, j *structs.Job) {
		list := field(j)
		*list = nil
		for _, b := range blocks {
			if b.Type == typ {
				*list = d.artifact(*list, b)
			}
		}
	})
}

// content decodes a nested block's body against its schema.
func (d *decoder) content(b *hcl.Block, schema *hcl.BodySchema) (*hcl.BodyContent, bool) {
	key := contentKey{b.Body, schema}
	if c := d.p.contents[key]; c != nil {
		return c, true
	}
	c, diags := b.Body.Content(schema)
	d.diags = append(d.diags, diags...)
	if len(diags) == 0 && d.p.contents != nil {
		// Decoding a body depends on nothing but the body: the members
		// of a sweep share the result (and only read it).
		d.p.contents[key] = c
	}
	return c, !diags.HasErrors()
}

// single is the content of the one block among blocks (nil when there is
// none, or it does not decode); any further block is an error naming the
// first, with hint after.
func (d *decoder) single(blocks hcl.Blocks, parent, typ, hint string, schema *hcl.BodySchema) *hcl.BodyContent {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks[1:] {
		d.diags = append(d.diags, errorAt(b.DefRange, "Duplicate "+typ+" block",
			"%s has at most one %s block; the first is at %s.%s", parent, typ, blocks[0].DefRange, hint))
	}
	c, ok := d.content(blocks[0], schema)
	if !ok {
		return nil
	}
	return c
}

var resourcesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "cpu"}, {Name: "memory"}, {Name: "disk"}, {Name: "nodes"}, {Name: "exclusive"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "gpu"}},
}

var gpuSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "model"}, {Name: "memory"}},
}

func (d *decoder) resources(job *structs.Job, b *hcl.Block) {
	c, ok := d.content(b, resourcesSchema)
	if !ok {
		return
	}
	if a := c.Attributes["cpu"]; a != nil {
		d.set(job, a, "resources", func(d *decoder, j *structs.Job) {
			j.Resources.CPU = 0
			if f, ok := d.float(a); ok {
				if !finite(f) || f <= 0 || f > structs.MaxCPU {
					d.errorf(a, "Invalid cpu", "cpu is a number of cores, more than 0 and at most %d (fractions such as 0.5 are fine); got %v.", structs.MaxCPU, f)
				} else {
					j.Resources.CPU = f
				}
			}
		})
	}
	if a := c.Attributes["memory"]; a != nil {
		d.set(job, a, "resources", func(d *decoder, j *structs.Job) {
			j.Resources.MemoryBytes, _ = d.size(a, structs.MinMemory, structs.MaxMemory)
		})
	}
	if a := c.Attributes["disk"]; a != nil {
		d.set(job, a, "resources", func(d *decoder, j *structs.Job) { j.Resources.DiskBytes, _ = d.size(a, 0, structs.MaxSize) })
	}
	if a := c.Attributes["nodes"]; a != nil {
		d.set(job, a, "resources", func(d *decoder, j *structs.Job) { j.Resources.Nodes, _ = d.integer(a, 1, structs.MaxNodesPerJob) })
	}
	if a := c.Attributes["exclusive"]; a != nil {
		d.set(job, a, "resources", func(d *decoder, j *structs.Job) { j.Resources.Exclusive, _ = d.boolean(a) })
	}
	if gc := d.single(c.Blocks, "resources", "gpu", " Ask for several GPUs with count.", gpuSchema); gc != nil {
		if a := gc.Attributes["count"]; a != nil {
			d.set(job, a, "resources", func(d *decoder, j *structs.Job) { j.Resources.GPU.Count, _ = d.integer(a, 0, structs.MaxGPUsPerNode) })
		}
		if a := gc.Attributes["model"]; a != nil {
			d.set(job, a, "resources", func(d *decoder, j *structs.Job) { j.Resources.GPU.Model, _ = d.str(a) })
		}
		if a := gc.Attributes["memory"]; a != nil {
			d.set(job, a, "resources", func(d *decoder, j *structs.Job) { j.Resources.GPU.MemoryBytes, _ = d.size(a, 0, structs.MaxMemory) })
		}
	}
}

var taskSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "command"}, {Name: "args"}, {Name: "script"}, {Name: "env"}, {Name: "workdir"}, {Name: "user"},
		{Name: "nproc_per_node"},
	},
}

var envKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

func (d *decoder) task(job *structs.Job, b *hcl.Block) {
	c, ok := d.content(b, taskSchema)
	if !ok {
		return
	}
	attrs := c.Attributes
	cmd, script := attrs["command"], attrs["script"]
	switch {
	case cmd == nil && script == nil:
		d.diags = append(d.diags, errorAt(b.DefRange, "Missing command or script",
			`A task runs either command (with args), such as command = "python3", or script, a heredoc run by /bin/bash -e.`))
	case cmd != nil && script != nil:
		d.errorf(script, "Both command and script",
			"A task runs either command (with args) or script, not both: command is set at %s.", cmd.Range)
	}
	if cmd != nil {
		d.set(job, cmd, "task.command", func(d *decoder, j *structs.Job) {
			j.Task.Command = ""
			if s, ok := d.str(cmd); ok {
				if strings.TrimSpace(s) == "" {
					d.errorf(cmd, "Empty command", `command names the program to run, such as "python3".`)
				}
				j.Task.Command = s
			}
		})
	}
	if script != nil {
		d.set(job, script, "task.script", func(d *decoder, j *structs.Job) {
			j.Task.Script = ""
			if s, ok := d.str(script); ok {
				if strings.TrimSpace(s) == "" {
					d.errorf(script, "Empty script", "script is the text of a bash script and must not be empty.")
				}
				if i := strings.Index(s, "\r\n"); i >= 0 {
					// bash would run "cmd\r", and "#!/bin/bash\r" is no interpreter.
					d.errorf(script, "DOS line breaks", "script contains DOS line breaks (\\r\\n) instead of UNIX line breaks (\\n), first at the end of its line %d: it would fail on the node. Convert the file with dos2unix %s.",
						strings.Count(s[:i], "\n")+1, script.Range.Filename)
				}
				j.Task.Script = s
			}
		})
	}
	if a := attrs["args"]; a != nil {
		d.set(job, a, "task.args", func(d *decoder, j *structs.Job) { j.Task.Args, _ = d.stringList(a) })
	}
	if a := attrs["env"]; a != nil {
		d.set(job, a, "task.env", func(d *decoder, j *structs.Job) {
			j.Task.Env = nil
			if env, ok := d.stringMap(a); ok {
				for _, k := range sortedKeys(env) {
					if !envKeyRE().MatchString(k) {
						d.errorf(a, "Invalid environment variable name",
							"%q cannot be an environment variable: use letters, digits and '_', not starting with a digit.", k)
					}
				}
				j.Task.Env = env
			}
		})
	}
	if a := attrs["workdir"]; a != nil {
		d.set(job, a, "task.workdir", func(d *decoder, j *structs.Job) { j.Task.Workdir, _ = d.str(a) })
	}
	if a := attrs["user"]; a != nil {
		d.set(job, a, "task.user", func(d *decoder, j *structs.Job) { j.Task.User, _ = d.str(a) })
	}
	if a := attrs["nproc_per_node"]; a != nil {
		d.set(job, a, "task.nproc_per_node", func(d *decoder, j *structs.Job) { j.Task.NProcPerNode, _ = d.integer(a, 1, structs.MaxProcsPerNode) })
	}
}

// jobIDRE matches what a dependency may name: a job id as the servers
// give them (12), or a member of an array (12_3). The servers refuse
// anything else; refusing it here says so before anything is sent.
var jobIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(0|[1-9][0-9]*)(_(0|[1-9][0-9]*))?$`) })

var depTypes = []string{string(structs.AfterOK), string(structs.AfterAny), string(structs.AfterNotOK)}

// dependsOn reads Slurm-style dependencies: "afterok:12", or a bare id
// meaning afterok.
func (d *decoder) dependsOn(a *hcl.Attribute) []structs.Dependency {
	list, ok := d.stringList(a)
	if !ok {
		return nil
	}
	var out []structs.Dependency
	for i, s := range list {
		typ, id, found := strings.Cut(s, ":")
		if !found {
			typ, id = string(structs.AfterOK), s
		}
		rng := elemRange(a, i, len(list))
		switch {
		case !slices.Contains(depTypes, typ):
			d.diags = append(d.diags, errorAt(rng, "Unknown dependency type",
				"%q is not a dependency type: expected afterok, afterany or afternotok, as in \"afterok:12\".%s", typ, didYouMean(typ, depTypes)))
		case !jobIDRE().MatchString(id):
			d.diags = append(d.diags, errorAt(rng, "Invalid dependency",
				"%q does not name a job: expected a job id or an array member, as in \"12\", \"afterok:12\" or \"afterok:12_3\".", s))
		default:
			out = append(out, structs.Dependency{Type: structs.DependencyType(typ), JobID: id})
		}
	}
	return out
}

var retrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "attempts", Required: true}, {Name: "on"}},
}

var retryOn = []string{"node-lost", "preempted", "failed"}

func (d *decoder) retry(b *hcl.Block) *structs.RetryPolicy {
	c, ok := d.content(b, retrySchema)
	if !ok {
		return nil
	}
	r := &structs.RetryPolicy{}
	r.Attempts, _ = d.integer(c.Attributes["attempts"], 0, 100)
	if a := c.Attributes["on"]; a != nil {
		list, _ := d.stringList(a)
		for i, s := range list {
			if !slices.Contains(retryOn, s) {
				d.diags = append(d.diags, errorAt(elemRange(a, i, len(list)), "Unknown retry condition",
					"%q is not a condition to retry on: expected node-lost, preempted or failed.%s", s, didYouMean(s, retryOn)))
				continue
			}
			r.On = append(r.On, s)
		}
	}
	return r
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "model"}, {Name: "dataset"}, {Name: "keep"}, {Name: "serve"}},
}

func (d *decoder) output(b *hcl.Block) *structs.OutputSpec {
	c, ok := d.content(b, outputSchema)
	if !ok {
		return nil
	}
	o := &structs.OutputSpec{}
	if a := c.Attributes["model"]; a != nil {
		o.Model, _ = d.name(a, "model name")
	}
	if a := c.Attributes["dataset"]; a != nil {
		o.Dataset, _ = d.name(a, "dataset name")
		if m := c.Attributes["model"]; m != nil {
			d.errorf(a, "Both model and dataset",
				"A job's outputs become a new version of one model or of one dataset, not both: model is set at %s.", m.Range)
		}
	}
	if a := c.Attributes["keep"]; a != nil {
		list, _ := d.stringList(a)
		for i, g := range list {
			if err := structs.ValidKeepGlob(g); err != nil {
				d.diags = append(d.diags, errorAt(elemRange(a, i, len(list)), "Invalid keep pattern", "%s.", err))
				continue
			}
			o.Keep = append(o.Keep, g)
		}
	}
	if a := c.Attributes["serve"]; a != nil {
		if list, ok := d.stringList(a); ok {
			if len(list) == 0 || slices.Contains(list, "") {
				d.errorf(a, "Invalid serve command", `serve is the command that serves the model, run in its directory, such as ["python3", "serve.py"]; it must not be empty.`)
			} else {
				o.Serve = list
			}
		}
	}
	return o
}

var logsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "stdout", Required: true}, {Name: "stderr"}},
}

// logPaths reads the logs block: local files the CLI writes the job's logs
// to (see structs.LogPaths for the %-patterns).
func (d *decoder) logPaths(b *hcl.Block) *structs.LogPaths {
	c, ok := d.content(b, logsSchema)
	if !ok {
		return nil
	}
	l := &structs.LogPaths{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"stdout", &l.Stdout}, {"stderr", &l.Stderr}} {
		a := c.Attributes[f.name]
		if a == nil {
			continue
		}
		s, ok := d.str(a)
		if !ok {
			continue
		}
		if strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0) || len(s) > structs.MaxLogPathLen {
			d.errorf(a, "Invalid log path", "%s is a local file path such as \"logs/train-%%j.out\", at most %d bytes.", f.name, structs.MaxLogPathLen)
			continue
		}
		*f.dst = s
	}
	return l
}

var artifactSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "version"}},
}

var versionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[1-9][0-9]{0,17}$`) })

// artifact reads a dataset or model block into refs, refusing a second
// block of the same name.
func (d *decoder) artifact(refs []structs.ArtifactRef, b *hcl.Block) []structs.ArtifactRef {
	name := b.Labels[0]
	if !structs.ValidName(name) {
		d.diags = append(d.diags, errorAt(b.LabelRanges[0], "Invalid "+b.Type+" name",
			"%q is not a valid %s name: use letters, digits, '.', '_' and '-', starting with a letter or digit.", name, b.Type))
		return refs
	}
	for _, r := range refs {
		if r.Name == name {
			d.diags = append(d.diags, errorAt(b.DefRange, "Duplicate "+b.Type,
				"%s %q is already listed in this job.", b.Type, name))
			return refs
		}
	}
	c, ok := d.content(b, artifactSchema)
	if !ok {
		return refs
	}
	ref := structs.ArtifactRef{Name: name, Version: "latest"}
	if a := c.Attributes["version"]; a != nil {
		v, ok := d.value(a)
		if !ok {
			return refs
		}
		s, err := stringify(v)
		if err != nil || (s != "latest" && !versionRE().MatchString(s)) {
			got := "a " + v.Type().FriendlyName()
			if err == nil {
				got = fmt.Sprintf("%q", s)
			}
			d.errorf(a, "Invalid version", "version must be \"latest\" or a version number such as 3; got %s.", got)
			return refs
		}
		ref.Version = s
	}
	return append(refs, ref)
}

// stringify prints a primitive value the way HCL's string conversion does.
func stringify(v cty.Value) (string, error) {
	if !v.Type().IsPrimitiveType() || v.IsNull() || !v.IsKnown() {
		return "", errors.New("not a string, number or bool")
	}
	s, err := ctyString(v)
	if err != nil {
		return "", err
	}
	return s, nil
}
