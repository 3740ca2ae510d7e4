package jobspec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions are the HCL functions a job file may call: cty's standard
// library under the names Terraform users know. Nothing here reads files,
// the environment or the clock, so a job file means the same everywhere.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          guardedIndent,
		"index":           stdlib.IndexFunc,
		"int":             stdlib.IntFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             guardedPow,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      guardedSetProduct,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
}

// scope says which names an expression may refer to.
type scope int

const (
	scopeConst  scope = iota // variable defaults and values: constants only
	scopeLocals              // locals, sweep values, code: var.* and local.*
	scopeJob                 // the job body: var.*, local.* and sweep.*
)

// checkRefs reports every reference expr makes that cannot be satisfied in
// sc, with a message that says what is available. Evaluating only after it
// passes keeps HCL's terser "Unknown variable" errors away from users.
func (p *parser) checkRefs(expr hcl.Expression, sc scope) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, tr := range expr.Variables() {
		rng := tr.SourceRange()
		root := tr.RootName()
		if sc == scopeConst {
			diags = append(diags, errorAt(rng, "Variables not allowed",
				"This value must be a constant: it cannot refer to %s.", traversalString(tr)))
			continue
		}
		attr := ""
		if len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				attr = a.Name
			}
		}
		switch root {
		case "var":
			if attr != "" && p.vars[attr] == nil {
				diags = append(diags, errorAt(rng, "Undeclared variable",
					"There is no variable named %q: declare it with a variable %q { } block.%s", attr, attr, didYouMean(attr, p.varNames())))
			}
		case "local":
			if attr != "" && !p.localNames[attr] {
				diags = append(diags, errorAt(rng, "Undeclared local value",
					"There is no local value named %q: define it in a locals { } block.%s", attr, didYouMean(attr, sortedKeys(p.localNames))))
			}
		case "sweep":
			switch {
			case sc != scopeJob:
				diags = append(diags, errorAt(rng, "Sweep values not available here",
					"sweep.* can be used inside the job block only, not in locals, variables, code or the sweep block itself."))
			case p.sweepKeys == nil:
				diags = append(diags, errorAt(rng, "No sweep in this job",
					"%s refers to a sweep value, but the job has no sweep block: add sweep { values = { ... } } to the job.", traversalString(tr)))
			case attr != "" && !slices.Contains(p.sweepKeys, attr):
				diags = append(diags, errorAt(rng, "Unknown sweep value",
					"The sweep has no value named %q; it has %s.%s", attr, strings.Join(p.sweepKeys, ", "), didYouMean(attr, p.sweepKeys)))
			}
		default:
			roots := []string{"var", "local"}
			if sc == scopeJob {
				roots = append(roots, "sweep")
			}
			diags = append(diags, errorAt(rng, "Unknown variable",
				"There is no variable named %q: a job file can refer to var.NAME, local.NAME and, inside a job with a sweep, sweep.NAME.%s", root, didYouMean(root, roots)))
		}
	}
	return diags
}

// evalContext is the context the job body is evaluated in; sweep is the
// current member's values, or cty.NilVal when the job has no sweep.
func (p *parser) evalContext(sweep cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":   p.varVal,
		"local": p.localVal,
	}
	if sweep != cty.NilVal {
		vars["sweep"] = sweep
	}
	return &hcl.EvalContext{Variables: vars, Functions: p.funcs}
}

// traversalString prints a reference such as var.epochs for messages.
func traversalString(tr hcl.Traversal) string {
	var b strings.Builder
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else {
				b.WriteString("[...]")
			}
		case hcl.TraverseSplat:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
