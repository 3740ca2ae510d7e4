package jobspec

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nai-project/nai/internal/hclout"
	"github.com/nai-project/nai/structs"
	"github.com/zclconf/go-cty/cty"
)

// PluginFile is the file in a cluster plugin's folder that holds its
// header and job template.
const PluginFile = "plugin.hcl"

// A plugin.hcl is a job file with a plugin block:
//
//	plugin "split-train-val" {
//	  version     = "1.0.0"
//	  kind        = "dataset"     # dataset, job or service
//	  description = "split a dataset of files into train/ and val/"
//	}
//
//	variable "fraction" {
//	  type    = number
//	  default = 0.8
//	}
//
//	job "split-train-val" {
//	  resources { cpu = 1 }
//	  task {
//	    command = "python3"
//	    args    = ["split.py", "--fraction", var.fraction]
//	  }
//	}
//
// The job block is the template: the variables' values come from `nai
// plugin run -var NAME=VALUE` (typed by their declarations, as for job
// files) or their defaults. The plugin's folder is the job's code, so the
// template has no code attribute, and it has no sweep.

// Plugin is a parsed plugin.hcl.
type Plugin struct {
	Spec structs.PluginSpec
	// Job is the job the template makes with the given variables; nil
	// when CheckPlugin could not build it (a variable without default).
	Job *structs.Job
	// Values are the values the template was given, defaults included,
	// as PluginValue writes them.
	Values map[string]string
}

var pluginRootSchema = &hcl.BodySchema{
	Blocks: append([]hcl.BlockHeaderSchema{{Type: "plugin", LabelNames: []string{"name"}}}, rootSchema.Blocks...),
}

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "version", Required: true}, {Name: "kind", Required: true}, {Name: "description"}},
}

// ParsePlugin parses a plugin.hcl and builds its job with opts.Vars (every
// variable without a default must be given). Problems come back as a
// *DiagError naming file, line and column.
func ParsePlugin(filename string, src []byte, opts Options) (*Plugin, error) {
	return parsePlugin(filename, src, opts, false)
}

// CheckPlugin parses a plugin.hcl as `nai plugin install` does: the
// header, the variables and the template's shape always, and the whole
// template when every variable has a default.
func CheckPlugin(filename string, src []byte) (*Plugin, error) {
	return parsePlugin(filename, src, Options{}, true)
}

func parsePlugin(filename string, src []byte, opts Options, check bool) (*Plugin, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	p := newParser(filename, opts)
	if len(src) > MaxFileSize {
		rng := hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
		return nil, p.fail(hcl.Diagnostics{errorAt(rng, "Plugin file too large", "A plugin.hcl may hold at most %d bytes (1 MiB).", MaxFileSize)})
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if file != nil {
		p.files[filename] = file
	}
	if diags.HasErrors() {
		return nil, p.fail(diags)
	}
	if diags := checkLiterals(file.Body); diags.HasErrors() {
		return nil, p.fail(diags)
	}
	content, cdiags := file.Body.Content(pluginRootSchema)
	diags = append(diags, cdiags...)
	var header, job *hcl.Block
	var varBlocks, localBlocks []*hcl.Block
	for _, b := range content.Blocks {
		switch b.Type {
		case "plugin":
			if header != nil {
				diags = append(diags, errorAt(b.DefRange, "Duplicate plugin block", "A plugin.hcl has one plugin block; the first is at %s.", header.DefRange))
				continue
			}
			header = b
		case "job":
			if job != nil {
				diags = append(diags, errorAt(b.DefRange, "Duplicate job block", "A plugin.hcl has one job template; the first is at %s.", job.DefRange))
				continue
			}
			job = b
		case "variable":
			varBlocks = append(varBlocks, b)
		case "locals":
			localBlocks = append(localBlocks, b)
		}
	}
	end := file.Body.MissingItemRange()
	if body, ok := file.Body.(*hclsyntax.Body); ok {
		end = body.EndRange
	}
	if header == nil && !diags.HasErrors() {
		diags = append(diags, errorAt(end, "Missing plugin block",
			`A plugin.hcl starts with plugin "NAME" { version = "1.0.0"  kind = "dataset" }.`))
	}
	if job == nil && !diags.HasErrors() {
		diags = append(diags, errorAt(end, "Missing job block",
			`A plugin.hcl holds the template of the job it runs: job "NAME" { task { command = "python3" args = ["main.py"] } }.`))
	}
	if diags.HasErrors() {
		return nil, p.fail(diags)
	}
	spec, diags := p.pluginHeader(header)
	diags = append(diags, templateShape(job)...)
	diags = append(diags, p.declareVariables(varBlocks)...)
	if diags.HasErrors() {
		return nil, p.fail(diags)
	}
	for _, b := range varBlocks {
		v := p.vars[b.Labels[0]]
		pv := structs.PluginVariable{Name: v.name, Type: "any", Description: v.doc, Required: !v.set}
		if v.typ != cty.DynamicPseudoType {
			pv.Type = typeexpr.TypeString(v.typ)
		}
		if v.set {
			pv.Default = PluginValue(v.def)
		}
		spec.Variables = append(spec.Variables, pv)
	}
	if err := spec.Validate(); err != nil {
		return nil, p.fail(hcl.Diagnostics{errorAt(header.DefRange, "Invalid plugin", "%s.", strings.TrimSuffix(err.Error(), "."))})
	}
	out := &Plugin{Spec: *spec}
	if check {
		for _, v := range spec.Variables {
			if v.Required {
				return out, nil // the template needs values only a run gives
			}
		}
	}
	if diags := p.assignVariables(); diags.HasErrors() {
		return nil, p.fail(diags)
	}
	if diags := p.evalLocals(localBlocks); diags.HasErrors() {
		return nil, p.fail(diags)
	}
	res, diags := p.decodeJob(job)
	if diags.HasErrors() {
		return nil, p.fail(diags)
	}
	j := res.Jobs[0]
	if spec.Kind == structs.PluginDataset && j.Output != nil && j.Output.Model != "" {
		return nil, p.fail(hcl.Diagnostics{errorAt(job.DefRange, "Model output in a dataset plugin",
			"A plugin of kind \"dataset\" makes a dataset version: its template's output names a dataset (or none: nai plugin run -output-dataset says), not a model.")})
	}
	out.Job = j
	out.Values = map[string]string{}
	for name, v := range p.vars {
		out.Values[name] = PluginValue(v.value)
	}
	return out, nil
}

// pluginHeader reads the plugin block.
func (p *parser) pluginHeader(b *hcl.Block) (*structs.PluginSpec, hcl.Diagnostics) {
	spec := &structs.PluginSpec{Name: b.Labels[0]}
	var diags hcl.Diagnostics
	if !structs.ValidName(spec.Name) {
		diags = append(diags, errorAt(b.LabelRanges[0], "Invalid plugin name",
			"%q is not a valid plugin name: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters.", spec.Name, structs.MaxNameLen))
	}
	c, cdiags := b.Body.Content(pluginSchema)
	diags = append(diags, cdiags...)
	if cdiags.HasErrors() {
		return spec, diags
	}
	str := func(name string) (string, *hcl.Attribute) {
		a := c.Attributes[name]
		if a == nil {
			return "", nil
		}
		v, vdiags := p.constValue(a.Expr, cty.String)
		diags = append(diags, vdiags...)
		if vdiags.HasErrors() || v.IsNull() {
			return "", a
		}
		return v.AsString(), a
	}
	if s, a := str("version"); a != nil && !diags.HasErrors() {
		if err := structs.ValidRelease(s); err != nil {
			diags = append(diags, errorAt(a.Expr.Range(), "Invalid plugin version", "%s.", err))
		}
		spec.Version = s
	}
	if s, a := str("kind"); a != nil && !diags.HasErrors() {
		k := structs.PluginKind(s)
		if !k.Valid() {
			names := make([]string, len(structs.PluginKinds))
			for i, k := range structs.PluginKinds {
				names[i] = string(k)
			}
			diags = append(diags, errorAt(a.Expr.Range(), "Invalid plugin kind",
				"%q is not a plugin kind: expected \"dataset\" (makes a dataset version), \"job\" or \"service\".%s", s, didYouMean(s, names)))
		}
		spec.Kind = k
	}
	spec.Description, _ = str("description")
	return spec, diags
}

// templateShape refuses what a plugin's job template cannot hold, before
// anything is evaluated.
func templateShape(job *hcl.Block) hcl.Diagnostics {
	body, ok := job.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	if a := body.Attributes["code"]; a != nil {
		diags = append(diags, errorAt(a.SrcRange, "Code in a plugin template",
			"A plugin's job runs the plugin's own folder as its code: remove code, and put the files beside plugin.hcl."))
	}
	for _, b := range body.Blocks {
		if b.Type == "sweep" {
			diags = append(diags, errorAt(b.Range(), "Sweep in a plugin template",
				"A plugin run is one job: remove the sweep block (run the plugin several times with -var instead)."))
		}
	}
	return diags
}

// PluginValue writes a variable's value as a person gives it with -var:
// strings, numbers and bools bare, anything else in HCL syntax.
func PluginValue(v cty.Value) string {
	if v == cty.NilVal || v.IsNull() {
		return ""
	}
	if v.Type().IsPrimitiveType() && v.IsKnown() {
		if s, err := ctyString(v); err == nil {
			return s
		}
	}
	e, err := hclout.Value(v)
	if err != nil {
		return "" // no literal (unknown, marked): no -var could give it, so show none
	}
	return e.String()
}
