package jobspec

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nai-project/nai/structs"
	"github.com/zclconf/go-cty/cty"
)

// A sweep's members differ only where the job body refers to sweep.*, so
// the parser decodes the first member in full and makes it the template of
// the others: each of them is a copy of it with only the parts that refer
// to sweep.* decoded again, in the member's context. A member with any
// problem is decoded in full instead (decodeJob), so that its diagnostics
// are exactly those of a full decode.

// unit decodes one part of a job (an attribute, or a block read as a
// whole) into job, setting its fields whatever their value before, as a
// full decode into a zero job would. A unit only assigns fields of job,
// never changes in place what they point to: the members of a sweep share
// the template's maps, slices and pointers.
type unit func(d *decoder, job *structs.Job)

// template is the first member of a sweep, decoded in full, and the units
// that refer to sweep.*.
type template struct {
	base  structs.Job // as decoded: not yet a member, canonicalized or validated
	units []unit
	// fields names the job fields the units set, as structs.SweepSpec
	// names them: the only spec fields in which members can differ.
	fields []string
	d      decoder // reused by every member
}

// add remembers u, which sets the job field named field.
func (t *template) add(field string, u unit) {
	t.units = append(t.units, u)
	if !slices.Contains(t.fields, field) {
		t.fields = append(t.fields, field)
	}
}

// set decodes a's part of job with u now and, when the job is being
// decoded as a template and a refers to sweep.*, remembers u for the other
// members. a may be nil (u then depends on no attribute). field names the
// job field u sets (see template.fields).
func (d *decoder) set(job *structs.Job, a *hcl.Attribute, field string, u unit) {
	u(d, job)
	if d.tmpl != nil && a != nil && d.p.refersToSweep(a.Expr) {
		d.tmpl.add(field, u)
	}
}

// setBlock is set for a part read from a whole block, which refers to
// sweep.* when anything inside it does.
func (d *decoder) setBlock(job *structs.Job, b *hcl.Block, field string, u unit) {
	u(d, job)
	if d.tmpl != nil && d.p.bodyRefersToSweep(b.Body) {
		d.tmpl.add(field, u)
	}
}

// refersToSweep reports whether expr refers to sweep.*. Locals never do
// (checkRefs refuses sweep.* there), so a direct reference is the only
// way a value can depend on the member.
func (p *parser) refersToSweep(expr hcl.Expression) bool {
	if m := p.memo[expr]; m != nil {
		return m.sweep
	}
	for _, tr := range expr.Variables() {
		if tr.RootName() == "sweep" {
			return true
		}
	}
	return false
}

// bodyRefersToSweep reports whether anything in body, nested blocks
// included, refers to sweep.*; a body that is not native syntax is assumed
// to.
func (p *parser) bodyRefersToSweep(body hcl.Body) bool {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return true
	}
	for _, a := range sb.Attributes {
		if p.refersToSweep(a.Expr) {
			return true
		}
	}
	for _, b := range sb.Blocks {
		if p.bodyRefersToSweep(b.Body) {
			return true
		}
	}
	return false
}

// member makes job member i of n from the template in ctx. It reports
// false when the member has a problem (a unit's diagnostic, or the job
// does not validate): the caller then decodes the member in full for the
// diagnostics.
func (t *template) member(job *structs.Job, ctx *hcl.EvalContext, i, n int, m *member, code string) bool {
	*job = t.base
	d := &t.d
	d.ctx, d.sc, d.diags, d.member, d.objSet = ctx, scopeJob, d.diags[:0], m, false
	for _, u := range t.units {
		u(d, job)
	}
	if d.diags.HasErrors() {
		return false
	}
	d.p.setMember(job, i, n, m)
	job.Code = code
	job.Canonicalize()
	return job.Validate() == nil
}

// evalCtx is the context to evaluate the job body in. For a member made
// from a template, its sweep object goes into it when first needed: many
// members need none (see sweepStr).
func (d *decoder) evalCtx() *hcl.EvalContext {
	if d.member != nil && !d.objSet {
		d.ctx.Variables["sweep"] = d.member.object()
		d.objSet = true
	}
	return d.ctx
}

// The attributes that refer to sweep.* are most often strings and lists
// of strings put together from literal text and sweep values: args =
// ["--lr", sweep.lr, "--seed=${sweep.seed}"]. Their value for a member is
// that text with the member's values as the file prints them (member.strs,
// which is how HCL converts each to a string), so a member made from a
// template reads them without evaluating anything: no sweep object, no
// cty values.

// sweepText is an expression whose value is literal text and sweep values
// printed: "x", sweep.lr, "${sweep.lr}", "--lr=${sweep.lr}".
type sweepText []textPart

// textPart is literal text, or the value named key when key is not "".
type textPart struct {
	lit, key string
}

func (t sweepText) text(strs map[string]string) string {
	if len(t) == 1 {
		if t[0].key != "" {
			return strs[t[0].key]
		}
		return t[0].lit
	}
	n := 0
	for _, p := range t {
		if p.key != "" {
			n += len(strs[p.key])
		} else {
			n += len(p.lit)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range t {
		if p.key != "" {
			b.WriteString(strs[p.key])
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// sweepForms are what an expression compiled to (exprMemo.forms); a nil
// field is a form it does not have.
type sweepForms struct {
	text  sweepText   // a string
	list  []sweepText // a list of strings
	keys  []string    // a map of strings: keys[i] is list[i]'s key
	isMap bool        // list and keys hold a map
}

// forms compiles expr, once per parse.
func (d *decoder) forms(expr hcl.Expression) *sweepForms {
	m := d.memo(expr)
	if m == nil {
		return nil
	}
	if !m.compiled {
		m.compiled = true
		m.forms = d.p.compileForms(expr)
	}
	return m.forms
}

func (p *parser) compileForms(expr hcl.Expression) *sweepForms {
	switch e := expr.(type) {
	case *hclsyntax.TupleConsExpr:
		list := make([]sweepText, len(e.Exprs))
		for i, x := range e.Exprs {
			t, ok := p.compileText(x, true)
			if !ok {
				return nil
			}
			list[i] = t
		}
		return &sweepForms{list: list}
	case *hclsyntax.ObjectConsExpr:
		f := &sweepForms{isMap: true}
		for _, item := range e.Items {
			k, ok := objectKey(item.KeyExpr)
			if !ok {
				return nil
			}
			v, ok := p.compileText(item.ValueExpr, true)
			if !ok {
				return nil
			}
			f.keys = append(f.keys, k)
			f.list = append(f.list, v)
		}
		return f
	}
	if t, ok := p.compileText(expr, false); ok {
		return &sweepForms{text: t}
	}
	return nil
}

// compileText compiles a string template, a sweep value or (when lit, in a
// list or map, where each element is converted to a string) a literal
// string, number or bool.
func (p *parser) compileText(expr hcl.Expression, lit bool) (sweepText, bool) {
	switch e := expr.(type) {
	case *hclsyntax.TemplateWrapExpr:
		// "${x}" is x, not converted.
		return p.compileText(e.Wrapped, lit)
	case *hclsyntax.ScopeTraversalExpr:
		k, ok := p.sweepKey(e.Traversal)
		return sweepText{{key: k}}, ok
	case *hclsyntax.LiteralValueExpr:
		if !lit {
			return nil, false
		}
		s, err := stringify(e.Val)
		if err != nil || hugeNumber(e.Val) {
			return nil, false
		}
		return sweepText{{lit: s}}, true
	case *hclsyntax.TemplateExpr:
		if len(e.Parts) == 0 {
			return nil, false
		}
		t := make(sweepText, 0, len(e.Parts))
		for _, part := range e.Parts {
			switch pe := part.(type) {
			case *hclsyntax.LiteralValueExpr:
				if pe.Val.Type() != cty.String || pe.Val.IsNull() || !pe.Val.IsKnown() {
					return nil, false
				}
				t = append(t, textPart{lit: pe.Val.AsString()})
			case *hclsyntax.ScopeTraversalExpr:
				k, ok := p.sweepKey(pe.Traversal)
				if !ok {
					return nil, false
				}
				t = append(t, textPart{key: k})
			default:
				return nil, false
			}
		}
		return t, true
	}
	return nil, false
}

// sweepKey is NAME of a traversal sweep.NAME naming a value of the sweep
// whose every value prints as HCL prints it (none is a huge number, which
// the full decode refuses).
func (p *parser) sweepKey(tr hcl.Traversal) (string, bool) {
	if len(tr) != 2 || tr.RootName() != "sweep" {
		return "", false
	}
	a, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		return "", false
	}
	for _, l := range p.sweepLists {
		if l.key == a.Name {
			return a.Name, !l.huge
		}
	}
	return "", false
}

// objectKey is the key of a map item when it is a literal: a bare name or
// a literal string.
func objectKey(expr hcl.Expression) (string, bool) {
	k, ok := expr.(*hclsyntax.ObjectConsKeyExpr)
	if !ok {
		return "", false
	}
	if !k.ForceNonLiteral {
		if name := hcl.ExprAsKeyword(k.Wrapped); name != "" {
			return name, true
		}
	}
	t, ok := k.Wrapped.(*hclsyntax.TemplateExpr)
	if !ok || len(t.Parts) != 1 {
		return "", false
	}
	l, ok := t.Parts[0].(*hclsyntax.LiteralValueExpr)
	if !ok || l.Val.Type() != cty.String || l.Val.IsNull() {
		return "", false
	}
	return l.Val.AsString(), true
}

// sweepStr is a's string for the member made from a template, when a
// compiles to text (ok false otherwise: evaluate it).
func (d *decoder) sweepStr(a *hcl.Attribute) (string, bool) {
	if d.member == nil {
		return "", false
	}
	f := d.forms(a.Expr)
	if f == nil || f.text == nil {
		return "", false
	}
	return f.text.text(d.member.strs), true
}

// sweepStrings is sweepStr for a list of strings.
func (d *decoder) sweepStrings(a *hcl.Attribute) ([]string, bool) {
	if d.member == nil {
		return nil, false
	}
	f := d.forms(a.Expr)
	if f == nil || f.list == nil || f.isMap {
		return nil, false
	}
	out := make([]string, len(f.list))
	for i, t := range f.list {
		out[i] = t.text(d.member.strs)
	}
	return out, true
}

// sweepMap is sweepStr for a map of strings.
func (d *decoder) sweepMap(a *hcl.Attribute) (map[string]string, bool) {
	if d.member == nil {
		return nil, false
	}
	f := d.forms(a.Expr)
	if f == nil || !f.isMap {
		return nil, false
	}
	out := make(map[string]string, len(f.list))
	for i, t := range f.list {
		out[f.keys[i]] = t.text(d.member.strs)
	}
	return out, true
}
