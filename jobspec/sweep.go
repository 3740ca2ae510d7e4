package jobspec

import (
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nai-project/nai/structs"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// member is one job of a sweep: the values it gets.
type member struct {
	keys        []string // value names in the order the file wrote them; nil without a sweep
	lists       []sweepList
	idx         []int // the member's value of each list, by index
	strs        map[string]string
	maxParallel int
	obj         cty.Value // the `sweep` object in the file, made by object
}

// object is the `sweep` object the member's job body is evaluated with;
// cty.NilVal without a sweep. It is made when first needed: a member made
// from a template may need none (template.go).
func (m *member) object() cty.Value {
	if m.obj == cty.NilVal && m.keys != nil {
		attrs := make(map[string]cty.Value, len(m.keys))
		for i, k := range m.keys {
			attrs[k] = m.lists[i].value(m.idx[i])
		}
		m.obj = cty.ObjectVal(attrs)
	}
	return m.obj
}

func (m *member) describe() string {
	parts := make([]string, len(m.keys))
	for i, k := range m.keys {
		parts[i] = k + "=" + m.strs[k]
	}
	return strings.Join(parts, ", ")
}

var sweepSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "mode"}, {Name: "max_parallel"}, {Name: "values", Required: true}},
}

var sweepModes = []string{"grid", "zip"}

// sweepKeyRE keeps names usable both as sweep.NAME and in NAI_SWEEP_NAME.
var sweepKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// sweepList is one named list of values.
type sweepList struct {
	key  string
	rng  hcl.Range
	vals []cty.Value // nil when ints holds the values
	ints *intRange
	strs []string // each value as HCL prints it
	huge bool     // a value is a number beyond maxNumberExp
}

// value is the list's j-th value.
func (l *sweepList) value(j int) cty.Value {
	if l.ints != nil {
		return l.ints.value(j)
	}
	return l.vals[j]
}

// decodeSweep expands a sweep block into its members; without one, the job
// is a single member with no sweep values.
func (p *parser) decodeSweep(b *hcl.Block) ([]member, hcl.Diagnostics) {
	if b == nil {
		return []member{{}}, nil
	}
	d := &decoder{p: p, ctx: p.evalContext(cty.NilVal), sc: scopeLocals}
	c, ok := d.content(b, sweepSchema)
	if !ok {
		return nil, d.diags
	}
	mode := "grid"
	if a := c.Attributes["mode"]; a != nil {
		if s, ok := d.str(a); ok {
			if !slices.Contains(sweepModes, s) {
				d.errorf(a, "Invalid sweep mode", "mode %q is unknown: expected \"grid\" (every combination) or \"zip\" (the i-th value of each list together).%s", s, didYouMean(s, sweepModes))
			}
			mode = s
		}
	}
	maxParallel := 0
	if a := c.Attributes["max_parallel"]; a != nil {
		maxParallel, _ = d.integer(a, 0, MaxSweepJobs)
	}
	lists := d.sweepLists(c.Attributes["values"])
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	if len(lists) == 0 {
		d.errorf(c.Attributes["values"], "Empty sweep", "values needs at least one list, such as values = { lr = [0.1, 0.01] }.")
		return nil, d.diags
	}

	var count int64
	if mode == "zip" {
		count = int64(len(lists[0].strs))
		for _, l := range lists[1:] {
			if len(l.strs) != len(lists[0].strs) {
				d.diags = append(d.diags, errorAt(l.rng, "Sweep lists differ in length",
					"In a zip sweep every list has the same length: %s has %d values but %s has %d.", l.key, len(l.strs), lists[0].key, len(lists[0].strs)))
			}
		}
	} else {
		total := big.NewInt(1)
		for _, l := range lists {
			total.Mul(total, big.NewInt(int64(len(l.strs))))
		}
		if total.Cmp(big.NewInt(MaxSweepJobs)) > 0 {
			d.errorf(c.Attributes["values"], "Sweep too large",
				"This sweep makes %s jobs; the limit is %d. Use fewer values, or mode = \"zip\" to pair values instead of combining them.", total, MaxSweepJobs)
		}
		count = total.Int64()
	}
	if mode == "zip" && count > MaxSweepJobs {
		d.errorf(c.Attributes["values"], "Sweep too large", "This sweep makes %d jobs; the limit is %d.", count, MaxSweepJobs)
	}
	if d.diags.HasErrors() {
		return nil, d.diags
	}

	keys := make([]string, len(lists))
	for i, l := range lists {
		keys[i] = l.key
	}
	p.sweepKeys = keys
	p.sweepLists = lists
	p.sweepEnvNames = make(map[string]string, len(keys))
	for _, k := range keys {
		p.sweepEnvNames[k] = structs.SweepEnvName(k)
	}
	members := make([]member, 0, count)
	idxs := make([]int, int(count)*len(lists)) // every member's, in one block
	idx := make([]int, len(lists))             // odometer: the last list turns fastest
	for n := int64(0); n < count; n++ {
		m := member{keys: keys, lists: lists, idx: idxs[int(n)*len(lists) : int(n+1)*len(lists) : int(n+1)*len(lists)], strs: make(map[string]string, len(lists)), maxParallel: maxParallel}
		for i, l := range lists {
			j := idx[i]
			if mode == "zip" {
				j = int(n)
			}
			m.idx[i] = j
			m.strs[l.key] = l.strs[j]
		}
		members = append(members, m)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(lists[i].strs) {
				break
			}
			idx[i] = 0
		}
	}
	return members, nil
}

// sweepLists evaluates `values`, keeping the order the file wrote the lists
// in when it writes them literally (members then come out in that order).
func (d *decoder) sweepLists(a *hcl.Attribute) []sweepList {
	if diags := d.p.checkRefs(a.Expr, scopeLocals); diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		return nil
	}
	type entry struct {
		key    string
		keyRng hcl.Range
		rng    hcl.Range
		val    cty.Value
		ints   *intRange // instead of val, for range(...) of whole numbers
	}
	var entries []entry
	if pairs, diags := hcl.ExprMap(a.Expr); !diags.HasErrors() {
		for _, kv := range pairs {
			k, kdiags := kv.Key.Value(d.ctx)
			d.diags = append(d.diags, kdiags...)
			var v cty.Value
			var vdiags hcl.Diagnostics
			var ints *intRange
			if d.p.fastSweeps {
				ints = d.p.intRangeOf(kv.Value, d.ctx)
			}
			if ints == nil {
				v, vdiags = kv.Value.Value(d.ctx)
				d.diags = append(d.diags, vdiags...)
			}
			if kdiags.HasErrors() || vdiags.HasErrors() {
				continue
			}
			ks, err := convert.Convert(k, cty.String)
			if err != nil || ks.IsNull() || !ks.IsKnown() {
				d.diags = append(d.diags, errorAt(kv.Key.Range(), "Invalid sweep value name", "A sweep value name must be a string."))
				continue
			}
			entries = append(entries, entry{ks.AsString(), kv.Key.Range(), kv.Value.Range(), v, ints})
		}
	} else {
		v, ok := d.value(a)
		if !ok {
			return nil
		}
		if !v.Type().IsObjectType() && !v.Type().IsMapType() {
			d.errorf(a, "Invalid sweep values", "values must be an object of lists, such as { lr = [0.1, 0.01], batch = [32, 64] }.")
			return nil
		}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			entries = append(entries, entry{k.AsString(), a.Expr.Range(), a.Expr.Range(), e, nil})
		}
	}

	var lists []sweepList
	seen := map[string]bool{}
	for _, e := range entries {
		if !sweepKeyRE().MatchString(e.key) {
			d.diags = append(d.diags, errorAt(e.keyRng, "Invalid sweep value name",
				"%q cannot name a sweep value: use letters, digits and '_', not starting with a digit, so that sweep.%s and NAI_SWEEP_%s work.", e.key, e.key, strings.ToUpper(e.key)))
			continue
		}
		if seen[strings.ToUpper(e.key)] {
			d.diags = append(d.diags, errorAt(e.keyRng, "Duplicate sweep value",
				"%q is listed twice (names are compared ignoring case, since each becomes NAI_SWEEP_%s).", e.key, strings.ToUpper(e.key)))
			continue
		}
		seen[strings.ToUpper(e.key)] = true
		if e.ints != nil {
			lists = append(lists, sweepList{key: e.key, rng: e.rng, ints: e.ints, strs: e.ints.strings()})
			continue
		}
		ty := e.val.Type()
		if e.val.IsNull() || !e.val.IsWhollyKnown() || !(ty.IsListType() || ty.IsTupleType() || ty.IsSetType()) {
			d.diags = append(d.diags, errorAt(e.rng, "Invalid sweep values",
				"%s must be a list of values, such as [0.1, 0.01].", e.key))
			continue
		}
		l := sweepList{key: e.key, rng: e.rng}
		bad := false
		for it := e.val.ElementIterator(); it.Next(); {
			_, v := it.Element()
			s, err := stringify(v)
			if err != nil {
				d.diags = append(d.diags, errorAt(e.rng, "Invalid sweep values",
					"Each value of %s must be a string, a number or a bool.", e.key))
				bad = true
				break
			}
			l.vals = append(l.vals, v)
			l.strs = append(l.strs, s)
			l.huge = l.huge || hugeNumber(v)
		}
		if bad {
			continue
		}
		if len(l.vals) == 0 {
			d.diags = append(d.diags, errorAt(e.rng, "Empty sweep list", "%s has no values; a sweep list needs at least one.", e.key))
			continue
		}
		lists = append(lists, l)
	}
	return lists
}

func ctyString(v cty.Value) (string, error) {
	if v.Type() == cty.Number && v.IsKnown() && !v.IsNull() {
		if s, ok := intString(v); ok {
			return s, nil
		}
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", err
	}
	return s.AsString(), nil
}

// intRange is a sweep list written range(...) with whole numbers: the
// common way to sweep over an index. Its values are made only when a
// member needs them as HCL values, and printed without HCL: range(1000)
// through cty's list functions and number printing took most of the time
// of parsing a 1000-member sweep.
type intRange struct {
	start, step int64
	n           int
	first       cty.Value // the first value: range's start, as range returns it
	prec        uint      // the precision of the others' big.Float, as range's additions give it
}

// intRangeOf reads expr as a call of range with whole-number arguments, in
// ctx. It returns nil for anything else, and for any call that range
// would refuse or that would give no value, leaving those to HCL.
func (p *parser) intRangeOf(expr hcl.Expression, ctx *hcl.EvalContext) *intRange {
	call, ok := expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "range" || call.ExpandFinal || len(call.Args) == 0 || len(call.Args) > 3 {
		return nil
	}
	var vals [3]cty.Value
	var ints [3]int64
	for i, x := range call.Args {
		v, diags := x.Value(ctx)
		if len(diags) > 0 || v.Type() != cty.Number || v.IsNull() || !v.IsKnown() || v.IsMarked() {
			return nil
		}
		bf := v.AsBigFloat()
		n, acc := bf.Int64()
		// -0 prints as "-0"; beyond 2^53 the arithmetic below could
		// overflow. HCL does those.
		if !bf.IsInt() || acc != big.Exact || (n == 0 && bf.Signbit()) || n < -(1<<53) || n > 1<<53 {
			return nil
		}
		vals[i], ints[i] = v, n
	}
	// As stdlib.RangeFunc chooses them.
	r := &intRange{}
	var end int64
	stepVal := cty.NumberIntVal(1)
	switch len(call.Args) {
	case 1:
		r.first, r.start, end, r.step = cty.Zero, 0, ints[0], 1
		if ints[0] < 0 {
			r.step = -1
		}
	case 2:
		r.first, r.start, end, r.step = vals[0], ints[0], ints[1], 1
		if ints[1] < ints[0] {
			r.step = -1
		}
	case 3:
		r.first, r.start, end, r.step = vals[0], ints[0], ints[1], ints[2]
		stepVal = vals[2]
	}
	var span int64
	switch {
	case r.step > 0 && end > r.start:
		span = end - r.start
	case r.step < 0 && end < r.start:
		span = r.start - end
	default:
		// No value, a zero step, or an end on the wrong side: range's
		// own answer (an empty list or an error) is the one to give.
		return nil
	}
	step := r.step
	if step < 0 {
		step = -step
	}
	n := (span + step - 1) / step
	if n > 1024 { // range's own limit, with its own error
		return nil
	}
	r.n = int(n)
	r.prec = max(r.first.AsBigFloat().Prec(), stepVal.AsBigFloat().Prec())
	return r
}

// value is the j-th value, as range makes it: its start, then the sums of
// the one before and the step.
func (r *intRange) value(j int) cty.Value {
	if j == 0 {
		return r.first
	}
	return cty.NumberVal(new(big.Float).SetPrec(r.prec).SetInt64(r.start + int64(j)*r.step))
}

// strings prints every value as stringify does.
func (r *intRange) strings() []string {
	out := make([]string, r.n)
	for j := range out {
		out[j] = strconv.FormatInt(r.start+int64(j)*r.step, 10)
	}
	return out
}
