package jobspec

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// variable is one `variable "NAME" { type, default, description }` block.
type variable struct {
	name  string
	typ   cty.Type // cty.DynamicPseudoType when the file gives no type
	value cty.Value
	set   bool // value holds a default or a given value
	decl  hcl.Range
	// def is the default (cty.NilVal when none) and doc the description:
	// what a plugin's header shows.
	def cty.Value
	doc string
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}},
}

func (p *parser) varNames() []string { return sortedKeys(p.vars) }

func (p *parser) declareVariables(blocks []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		name := b.Labels[0]
		if !hclsyntax.ValidIdentifier(name) {
			diags = append(diags, errorAt(b.LabelRanges[0], "Invalid variable name",
				"A variable name starts with a letter and holds letters, digits, '_' and '-'; %q does not.", name))
			continue
		}
		if prev := p.vars[name]; prev != nil {
			diags = append(diags, errorAt(b.DefRange, "Duplicate variable",
				"Variable %q is already declared at %s.", name, prev.decl))
			continue
		}
		content, cdiags := b.Body.Content(variableSchema)
		diags = append(diags, cdiags...)
		v := &variable{name: name, typ: cty.DynamicPseudoType, decl: b.DefRange}
		if a := content.Attributes["type"]; a != nil {
			ty, tdiags := typeexpr.TypeConstraint(a.Expr)
			diags = append(diags, tdiags...)
			if !tdiags.HasErrors() {
				v.typ = ty
			}
		}
		if a := content.Attributes["description"]; a != nil {
			val, vdiags := p.constValue(a.Expr, cty.String)
			diags = append(diags, vdiags...)
			if !vdiags.HasErrors() && !val.IsNull() {
				v.doc = val.AsString()
			}
		}
		if a := content.Attributes["default"]; a != nil {
			val, vdiags := p.constValue(a.Expr, v.typ)
			diags = append(diags, vdiags...)
			if !vdiags.HasErrors() && !val.IsNull() {
				v.value, v.set, v.def = val, true, val
			}
		}
		p.vars[name] = v
	}
	return diags
}

// constValue evaluates an expression that may call functions but refer to
// nothing, and converts it to ty.
func (p *parser) constValue(expr hcl.Expression, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	if diags := p.checkRefs(expr, scopeConst); diags.HasErrors() {
		return cty.NilVal, diags
	}
	val, diags := expr.Value(&hcl.EvalContext{Functions: p.funcs})
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if hugeNumber(val) {
		return cty.NilVal, hcl.Diagnostics{hugeNumberDiag(expr.Range())}
	}
	cv, err := convert.Convert(val, ty)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{errorAt(expr.Range(), "Invalid value",
			"Expected a value of type %s: %s.", typeexpr.TypeString(ty), err)}
	}
	return cv, nil
}

// assignVariables applies -var-file files in order, then -var values, and
// checks every variable without a default got a value.
func (p *parser) assignVariables() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, path := range p.opts.VarFiles {
		diags = append(diags, p.readVarFile(path)...)
	}
	for _, name := range sortedKeys(p.opts.Vars) {
		raw := p.opts.Vars[name]
		v := p.vars[name]
		if v == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
				Detail: fmt.Sprintf("-var %s=... sets a variable the job file does not declare.%s", name, didYouMean(name, p.varNames()))})
			continue
		}
		val, vdiags := p.cliValue(name, raw, v.typ)
		diags = append(diags, vdiags...)
		if !vdiags.HasErrors() {
			v.value, v.set = val, true
		}
	}
	if diags.HasErrors() {
		return diags
	}
	vals := map[string]cty.Value{}
	for _, name := range p.varNames() {
		v := p.vars[name]
		if !v.set {
			diags = append(diags, errorAt(v.decl, "No value for required variable",
				"Variable %q has no default, so it must be set with -var %s=VALUE or in a -var-file.", name, name))
			continue
		}
		vals[name] = v.value
	}
	p.varVal = cty.ObjectVal(vals)
	return diags
}

// cliValue reads a -var value: taken as a string for string (and untyped)
// variables, otherwise as an HCL expression such as 3, true or ["a", "b"].
func (p *parser) cliValue(name, raw string, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	filename := fmt.Sprintf("<value for var.%s>", name)
	p.files[filename] = &hcl.File{Bytes: []byte(raw)}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), filename, hcl.InitialPos)
	rng := hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.Pos{Line: 1, Column: len(raw) + 1, Byte: len(raw)}}
	invalid := func(why string) hcl.Diagnostics {
		return hcl.Diagnostics{errorAt(rng, "Invalid -var value",
			"-var %s=%s: variable %q has type %s: %s.", name, raw, name, typeexpr.TypeString(ty), why)}
	}
	want := "expected " + typeExample(ty)
	if diags.HasErrors() {
		return cty.NilVal, invalid(want)
	}
	if len(expr.Variables()) > 0 {
		// A bare word, such as abc for a number.
		if !ty.IsPrimitiveType() {
			want += ", with the strings in it in quotes"
		}
		return cty.NilVal, invalid(want)
	}
	val, diags := expr.Value(&hcl.EvalContext{Functions: p.funcs})
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if hugeNumber(val) {
		return cty.NilVal, invalid("the number is beyond about 1e±19000")
	}
	cv, err := convert.Convert(val, ty)
	if err != nil {
		return cty.NilVal, invalid(want + " (" + err.Error() + ")")
	}
	return cv, nil
}

// typeExample says what a value of the type looks like on the command
// line.
func typeExample(ty cty.Type) string {
	switch {
	case ty == cty.Number:
		return "a number, such as 3 or 0.001"
	case ty == cty.Bool:
		return "true or false"
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		if ty.IsListType() || ty.IsSetType() {
			switch ty.ElementType() {
			case cty.Number:
				return "a list of numbers, such as [1, 2]"
			case cty.String:
				return `a list of strings, such as ["a", "b"]`
			}
		}
		return `a list, such as [1, "a"]`
	case ty.IsMapType() || ty.IsObjectType():
		return `an object, such as {a = 1, b = "x"}`
	}
	return "an HCL value, such as 3, true or [\"a\", \"b\"]"
}

func (p *parser) readVarFile(path string) hcl.Diagnostics {
	src, err := readLimited(path)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file", Detail: err.Error()}}
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if file != nil {
		p.files[path] = file
	}
	if diags.HasErrors() {
		return diags
	}
	attrs, adiags := file.Body.JustAttributes()
	diags = append(diags, adiags...)
	for _, a := range sortedAttrs(attrs) {
		v := p.vars[a.Name]
		if v == nil {
			diags = append(diags, errorAt(a.NameRange, "Undeclared variable",
				"The job file declares no variable %q.%s", a.Name, didYouMean(a.Name, p.varNames())))
			continue
		}
		val, vdiags := p.constValue(a.Expr, v.typ)
		diags = append(diags, vdiags...)
		if !vdiags.HasErrors() {
			v.value, v.set = val, !val.IsNull()
		}
	}
	return diags
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than the 1 MiB limit", path)
	}
	return src, nil
}

// sortedAttrs orders attributes as they appear in the source, so problems
// are reported in a stable order.
func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	return out
}

// evalLocals evaluates every local value after the ones it refers to, and
// refuses cycles.
func (p *parser) evalLocals(blocks []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	defs := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		attrs, adiags := b.Body.JustAttributes()
		diags = append(diags, adiags...)
		for _, a := range sortedAttrs(attrs) {
			if prev := defs[a.Name]; prev != nil {
				diags = append(diags, errorAt(a.NameRange, "Duplicate local value",
					"Local value %q is already defined at %s.", a.Name, prev.NameRange))
				continue
			}
			defs[a.Name] = a
			p.localNames[a.Name] = true
		}
	}
	for _, name := range sortedKeys(defs) {
		diags = append(diags, p.checkRefs(defs[name].Expr, scopeLocals)...)
	}
	if diags.HasErrors() {
		return diags
	}

	order, cycle := localOrder(defs)
	if cycle != nil {
		first := defs[cycle[0]]
		names := make([]string, len(cycle))
		for i, n := range cycle {
			names[i] = "local." + n
		}
		return hcl.Diagnostics{errorAt(first.Range, "Cycle in local values",
			"Local values refer to each other in a circle: %s. Break the circle by computing one of them from var.* or a constant.", strings.Join(names, " -> "))}
	}

	vals := map[string]cty.Value{}
	for _, name := range order {
		p.localVal = cty.ObjectVal(vals)
		val, vdiags := defs[name].Expr.Value(p.evalContext(cty.NilVal))
		diags = append(diags, vdiags...)
		if vdiags.HasErrors() {
			return diags
		}
		if hugeNumber(val) {
			return append(diags, hugeNumberDiag(defs[name].Expr.Range()))
		}
		vals[name] = val
	}
	p.localVal = cty.ObjectVal(vals)
	return diags
}

// localOrder sorts locals so each comes after those it refers to. When they
// refer to each other in a cycle it returns the cycle, closed (a, b, a).
func localOrder(defs map[string]*hcl.Attribute) (order, cycle []string) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string) bool
	visit = func(name string) bool {
		switch state[name] {
		case done:
			return true
		case visiting:
			i := slices.Index(stack, name)
			cycle = append(slices.Clone(stack[i:]), name)
			return false
		}
		state[name] = visiting
		stack = append(stack, name)
		for _, dep := range localDeps(defs[name].Expr) {
			if defs[dep] != nil && !visit(dep) {
				return false
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		order = append(order, name)
		return true
	}
	for _, name := range sortedKeys(defs) {
		if !visit(name) {
			return nil, cycle
		}
	}
	return order, nil
}

func localDeps(expr hcl.Expression) []string {
	var deps []string
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && !slices.Contains(deps, a.Name) {
			deps = append(deps, a.Name)
		}
	}
	slices.Sort(deps)
	return deps
}
