package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// parser holds the state of one HCL parse: the files read so far (for
// diagnostics), the declared names and their values.
type parser struct {
	filename string
	opts     Options
	files    map[string]*hcl.File
	funcs    map[string]function.Function

	vars       map[string]*variable
	localNames map[string]bool
	varVal     cty.Value // object of every variable's value
	localVal   cty.Value // object of every local value
	sweepKeys  []string  // nil when the job has no sweep
	sweepLists []sweepList
	// sweepEnvNames are the sweep values' NAI_SWEEP_ names.
	sweepEnvNames map[string]string

	// The members of a sweep decode the same job body again and again;
	// what does not depend on the member is remembered from the first.
	// Nil maps remember nothing (the tests compare).
	memo     map[hcl.Expression]*exprMemo // job body expressions
	contents map[contentKey]*hcl.BodyContent
	// fastSweeps makes the first member of a sweep the template of the
	// others (template.go) and reads range() lists without HCL
	// (intRange); false decodes every member in full, as the parser
	// once did (the tests compare).
	fastSweeps bool
}

// exprMemo is what is known of one expression of the job body: whether it
// refers to sweep.* (then it is evaluated for every member), and, when it
// does not and evaluated without a problem, its value and its conversions.
type exprMemo struct {
	refDiags hcl.Diagnostics // checkRefs in scopeJob
	sweep    bool            // refers to sweep.*
	val      cty.Value       // cty.NilVal until evaluated without diagnostics
	conv     []convMemo
	compiled bool        // forms is set (template.go)
	forms    *sweepForms // nil when the expression has none
}

// convMemo is a value converted to a type without error.
type convMemo struct {
	ty  cty.Type
	val cty.Value
}

// contentKey is a body decoded against a schema.
type contentKey struct {
	body   hcl.Body
	schema *hcl.BodySchema
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "job", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
	},
}

func newParser(filename string, opts Options) *parser {
	return &parser{
		filename:   filename,
		opts:       opts,
		files:      map[string]*hcl.File{},
		funcs:      functions(),
		vars:       map[string]*variable{},
		localNames: map[string]bool{},
		varVal:     cty.EmptyObjectVal,
		localVal:   cty.EmptyObjectVal,
		memo:       map[hcl.Expression]*exprMemo{},
		contents:   map[contentKey]*hcl.BodyContent{},
		fastSweeps: true,
	}
}

func (p *parser) fail(diags hcl.Diagnostics) error { return newDiagError(diags, p.files) }

// parse runs the phases in order (syntax, variables, locals, job), stopping
// after the first phase that found a problem: later phases would only
// repeat it in other words.
func (p *parser) parse(src []byte) (*Result, error) {
	file, diags := hclsyntax.ParseConfig(src, p.filename, hcl.InitialPos)
	if file != nil {
		p.files[p.filename] = file
	}
	if diags.HasErrors() {
		return nil, p.fail(diags)
	}
	if diags := checkLiterals(file.Body); diags.HasErrors() {
		return nil, p.fail(diags)
	}
	content, cdiags := file.Body.Content(rootSchema)
	diags = append(diags, cdiags...)

	var job *hcl.Block
	var varBlocks, localBlocks []*hcl.Block
	for _, b := range content.Blocks {
		switch b.Type {
		case "job":
			if job != nil {
				diags = append(diags, errorAt(b.DefRange, "Duplicate job block",
					"A job file holds exactly one job; the first is %q at %s. Put each job in its own file.", job.Labels[0], job.DefRange))
				continue
			}
			job = b
		case "variable":
			varBlocks = append(varBlocks, b)
		case "locals":
			localBlocks = append(localBlocks, b)
		}
	}
	if job == nil && !diags.HasErrors() {
		// Point past the last thing in the file, where the job would go.
		rng := file.Body.MissingItemRange()
		if body, ok := file.Body.(*hclsyntax.Body); ok {
			rng = body.EndRange
		}
		diags = append(diags, errorAt(rng, "Missing job block",
			`A job file needs one job "NAME" { ... } block, with at least a task { command = "..." } inside.`))
	}
	if diags.HasErrors() {
		return nil, p.fail(diags)
	}

	if diags := p.declareVariables(varBlocks); diags.HasErrors() {
		return nil, p.fail(diags)
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
	return res, nil
}
