package jobspec

import (
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// member is one job of a sweep: the values it gets.
type member struct {
	obj         cty.Value // the `sweep` object in the file; cty.NilVal without a sweep
	keys        []string  // value names in the order the file wrote them
	strs        map[string]string
	maxParallel int
}

func (m member) describe() string {
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
	vals []cty.Value
	strs []string
}

// decodeSweep expands a sweep block into its members; without one, the job
// is a single member with no sweep values.
func (p *parser) decodeSweep(b *hcl.Block) ([]member, hcl.Diagnostics) {
	if b == nil {
		return []member{{obj: cty.NilVal}}, nil
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
		count = int64(len(lists[0].vals))
		for _, l := range lists[1:] {
			if len(l.vals) != len(lists[0].vals) {
				d.diags = append(d.diags, errorAt(l.rng, "Sweep lists differ in length",
					"In a zip sweep every list has the same length: %s has %d values but %s has %d.", l.key, len(l.vals), lists[0].key, len(lists[0].vals)))
			}
		}
	} else {
		total := big.NewInt(1)
		for _, l := range lists {
			total.Mul(total, big.NewInt(int64(len(l.vals))))
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
	members := make([]member, 0, count)
	idx := make([]int, len(lists)) // odometer: the last list turns fastest
	for n := int64(0); n < count; n++ {
		m := member{keys: keys, strs: map[string]string{}, maxParallel: maxParallel}
		obj := map[string]cty.Value{}
		for i, l := range lists {
			j := idx[i]
			if mode == "zip" {
				j = int(n)
			}
			obj[l.key] = l.vals[j]
			m.strs[l.key] = l.strs[j]
		}
		m.obj = cty.ObjectVal(obj)
		members = append(members, m)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(lists[i].vals) {
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
	}
	var entries []entry
	if pairs, diags := hcl.ExprMap(a.Expr); !diags.HasErrors() {
		for _, kv := range pairs {
			k, kdiags := kv.Key.Value(d.ctx)
			d.diags = append(d.diags, kdiags...)
			v, vdiags := kv.Value.Value(d.ctx)
			d.diags = append(d.diags, vdiags...)
			if kdiags.HasErrors() || vdiags.HasErrors() {
				continue
			}
			ks, err := convert.Convert(k, cty.String)
			if err != nil || ks.IsNull() || !ks.IsKnown() {
				d.diags = append(d.diags, errorAt(kv.Key.Range(), "Invalid sweep value name", "A sweep value name must be a string."))
				continue
			}
			entries = append(entries, entry{ks.AsString(), kv.Key.Range(), kv.Value.Range(), v})
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
			entries = append(entries, entry{k.AsString(), a.Expr.Range(), a.Expr.Range(), e})
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
