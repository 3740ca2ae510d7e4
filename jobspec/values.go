package jobspec

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nai-project/nai/structs"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decoder turns attributes into Go values in one evaluation context,
// collecting every problem rather than stopping at the first.
type decoder struct {
	p     *parser
	ctx   *hcl.EvalContext
	sc    scope
	diags hcl.Diagnostics
	// tmpl is set while the first member of a sweep is decoded: it
	// collects the units the other members decode again.
	tmpl *template
	// member is set while a member is made from a template: its values
	// are then read from it (evalCtx, sweepStr); objSet says its sweep
	// object is in ctx.
	member *member
	objSet bool
}

func (d *decoder) errorf(a *hcl.Attribute, summary, format string, args ...any) {
	diag := errorAt(a.Expr.Range(), summary, format, args...)
	diag.Context = a.Range.Ptr()
	diag.Expression = a.Expr
	diag.EvalContext = d.evalCtx()
	d.diags = append(d.diags, diag)
}

// value evaluates an attribute. ok is false when it failed (the problem is
// recorded) or is null, which means "not set".
func (d *decoder) value(a *hcl.Attribute) (cty.Value, bool) {
	m := d.memo(a.Expr)
	if m != nil && m.val != cty.NilVal {
		return m.val, true
	}
	var refDiags hcl.Diagnostics
	if m != nil {
		refDiags = m.refDiags
	} else {
		refDiags = d.p.checkRefs(a.Expr, d.sc)
	}
	if refDiags.HasErrors() {
		d.diags = append(d.diags, refDiags...)
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(d.evalCtx())
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		d.errorf(a, "Value not known", "The value of %q cannot be known when the file is parsed.", a.Name)
		return cty.NilVal, false
	}
	if hugeNumber(v) {
		d.diags = append(d.diags, hugeNumberDiag(a.Expr.Range()))
		return cty.NilVal, false
	}
	if m != nil && !m.sweep && len(diags) == 0 {
		m.val = v
	}
	return v, true
}

// memo is what the parser remembers of an expression of the job body, nil
// outside the job body: the same for every member of a sweep unless it
// refers to sweep.*.
func (d *decoder) memo(expr hcl.Expression) *exprMemo {
	if d.sc != scopeJob || d.p.memo == nil {
		return nil
	}
	m := d.p.memo[expr]
	if m == nil {
		m = &exprMemo{refDiags: d.p.checkRefs(expr, d.sc)}
		for _, tr := range expr.Variables() {
			if tr.RootName() == "sweep" {
				m.sweep = true
			}
		}
		d.p.memo[expr] = m
	}
	return m
}

// typed evaluates an attribute and converts it to ty, with HCL's usual
// conversions (a number where a string is expected, and so on).
func (d *decoder) typed(a *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, ok := d.value(a)
	if !ok {
		return cty.NilVal, false
	}
	return d.convert(a, v, ty)
}

// convert is typed's conversion of a's value v.
func (d *decoder) convert(a *hcl.Attribute, v cty.Value, ty cty.Type) (cty.Value, bool) {
	m := d.memo(a.Expr)
	if m != nil && m.val != cty.NilVal {
		for _, c := range m.conv {
			if c.ty.Equals(ty) {
				return c.val, true
			}
		}
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(a, "Incorrect attribute value type", "Inappropriate value for attribute %q: %s.", a.Name, err)
		return cty.NilVal, false
	}
	if cv.IsNull() || !cv.IsWhollyKnown() {
		return cty.NilVal, false
	}
	if m != nil && m.val != cty.NilVal {
		m.conv = append(m.conv, convMemo{ty: ty, val: cv})
	}
	return cv, true
}

func (d *decoder) str(a *hcl.Attribute) (string, bool) {
	if s, ok := d.sweepStr(a); ok {
		return s, true
	}
	v, ok := d.typed(a, cty.String)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// name reads a string that names something (a queue, a group, a model):
// the same rules as a job name.
func (d *decoder) name(a *hcl.Attribute, what string) (string, bool) {
	s, ok := d.str(a)
	if !ok {
		return "", false
	}
	if !structs.ValidName(s) {
		d.errorf(a, "Invalid "+what, "%q is not a valid %s: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters.", s, what, structs.MaxNameLen)
		return "", false
	}
	return s, true
}

func (d *decoder) boolean(a *hcl.Attribute) (bool, bool) {
	v, ok := d.typed(a, cty.Bool)
	if !ok {
		return false, false
	}
	return v.True(), true
}

func (d *decoder) float(a *hcl.Attribute) (float64, bool) {
	v, ok := d.typed(a, cty.Number)
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	return f, true
}

// integer reads a whole number in [lo, hi].
func (d *decoder) integer(a *hcl.Attribute, lo, hi int64) (int, bool) {
	v, ok := d.typed(a, cty.Number)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact || i < lo || i > hi {
		d.errorf(a, "Invalid "+a.Name, "%s must be a whole number from %d to %d; got %s.", a.Name, lo, hi, bf.Text('g', 10))
		return 0, false
	}
	return int(i), true
}

func (d *decoder) stringList(a *hcl.Attribute) ([]string, bool) {
	if out, ok := d.sweepStrings(a); ok {
		return out, true
	}
	v, ok := d.value(a)
	if !ok {
		return nil, false
	}
	if out, ok := primitiveStrings(v); ok {
		return out, true
	}
	v, ok = d.convert(a, v, cty.List(cty.String))
	if !ok {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.errorf(a, "Invalid "+a.Name, "%s must not contain null.", a.Name)
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// elemRange is the source range of element i of a list attribute when the
// file writes the list out literally, else the attribute's whole value.
func elemRange(a *hcl.Attribute, i, n int) hcl.Range {
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() || len(exprs) != n {
		return a.Expr.Range()
	}
	return exprs[i].Range()
}

func (d *decoder) stringMap(a *hcl.Attribute) (map[string]string, bool) {
	if out, ok := d.sweepMap(a); ok {
		return out, true
	}
	v, ok := d.typed(a, cty.Map(cty.String))
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			d.errorf(a, "Invalid "+a.Name, "The value of %q in %s must not be null.", k.AsString(), a.Name)
			return nil, false
		}
		out[k.AsString()] = e.AsString()
	}
	return out, true
}

// size reads "512MiB"-style sizes in [lo, hi] bytes. A bare number is
// refused: "memory = 4" is far more likely to mean 4 GiB than 4 bytes.
func (d *decoder) size(a *hcl.Attribute, lo, hi int64) (int64, bool) {
	v, ok := d.value(a)
	if !ok {
		return 0, false
	}
	if v.Type() == cty.Number {
		d.errorf(a, "Size needs a unit", "%s is a size: write it as a string with a unit, such as \"%sGiB\" or \"%sMiB\".", a.Name, v.AsBigFloat().Text('g', 10), v.AsBigFloat().Text('g', 10))
		return 0, false
	}
	s, ok := d.str(a)
	if !ok {
		return 0, false
	}
	n, err := structs.ParseSize(s)
	if err != nil {
		d.errorf(a, "Invalid size", "%s: %s.", a.Name, err)
		return 0, false
	}
	if n < lo && unitless(s) {
		// "10" is 10 bytes to ParseSize, but surely meant something else.
		d.errorf(a, "Size needs a unit", "%s %q has no unit, so it is %s, below the %s it can be: write the unit, such as \"%sMiB\" or \"%sGiB\".", a.Name, s, structs.FormatSize(n), structs.FormatSize(lo), strings.TrimSpace(s), strings.TrimSpace(s))
		return 0, false
	}
	if n < lo || n > hi {
		d.errorf(a, "Invalid "+a.Name, "%s %s is out of range: expected %s to %s.", a.Name, s, structs.FormatSize(lo), structs.FormatSize(hi))
		return 0, false
	}
	return n, true
}

// unitless reports whether a size is a bare number ("10", "1.5").
func unitless(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) < 0
}

// duration reads a Go duration string ("90s", "2h30m") in [0, hi].
func (d *decoder) duration(a *hcl.Attribute, hi time.Duration) (time.Duration, bool) {
	v, ok := d.value(a)
	if !ok {
		return 0, false
	}
	if v.Type() == cty.Number {
		d.errorf(a, "Duration needs a unit", "%s is a duration: write it as a string with a unit, such as \"%ss\", \"%sm\" or \"%sh\".", a.Name, v.AsBigFloat().Text('g', 10), v.AsBigFloat().Text('g', 10), v.AsBigFloat().Text('g', 10))
		return 0, false
	}
	s, ok := d.str(a)
	if !ok {
		return 0, false
	}
	dur, err := parseDuration(s)
	if err != nil {
		d.errorf(a, "Invalid duration", "%s %q is not a duration: %s.", a.Name, s, err)
		return 0, false
	}
	if dur < 0 || dur > hi {
		d.errorf(a, "Invalid "+a.Name, "%s %s is out of range: expected 0 to %s.", a.Name, s, hi)
		return 0, false
	}
	return dur, true
}

func parseDuration(s string) (time.Duration, error) {
	dur, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("expected a number with a unit (h, m, s, ms) such as \"90s\" or \"2h30m\"")
	}
	return dur, nil
}

// beginTime reads begin_after: an RFC 3339 time, or a duration from now.
func (d *decoder) beginTime(a *hcl.Attribute) (time.Time, bool) {
	s, ok := d.str(a)
	if !ok {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur < 0 || dur > structs.MaxTimeLimit {
		d.errorf(a, "Invalid begin_after", "begin_after %q is neither an RFC 3339 time (\"2026-03-01T09:00:00Z\") nor a duration from now (\"2h\", at most %s).", s, structs.MaxTimeLimit)
		return time.Time{}, false
	}
	return d.p.opts.Now.Add(dur).UTC(), true
}

// finite guards against values such as 1/0 that cty can represent.
func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// ParseTimeLimit reads a time limit as people type it on a command line
// (`nai job run -time`): a Go duration ("90m", "2h30m") or a Slurm time
// ("90" minutes, "1:30:00", "1-12:00:00"). It is never negative or over
// structs.MaxTimeLimit; UNLIMITED and 0 mean no limit (0).
func ParseTimeLimit(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		switch {
		case d < 0:
			return 0, fmt.Errorf("time limit %q is negative: expected a duration such as \"2h\"", s)
		case d > structs.MaxTimeLimit:
			return 0, fmt.Errorf("time limit %s is longer than nai's limit of %d days", s, structs.MaxTimeLimit/(24*time.Hour))
		}
		return d, nil
	}
	d, err := parseSlurmTime(s)
	if err != nil {
		return 0, fmt.Errorf("time limit %q: expected a duration such as \"90m\" or \"2h30m\", or a Slurm time such as \"1:30:00\" or \"1-12:00:00\"", s)
	}
	return d, nil
}

// primitiveStrings is a list or tuple of strings and whole numbers as
// strings, the way a conversion to list(string) makes them, without going
// through one: args = ["--lr", "${sweep.lr}"] is converted for every
// member of a sweep, and cty prints each number with big.Float's shortest
// formatting. ok is false for anything else (the caller converts).
func primitiveStrings(v cty.Value) ([]string, bool) {
	ty := v.Type()
	if !ty.IsTupleType() && !ty.IsListType() {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || !e.IsKnown() {
			return nil, false
		}
		switch e.Type() {
		case cty.String:
			out = append(out, e.AsString())
		case cty.Number:
			s, ok := intString(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		default:
			return nil, false
		}
	}
	return out, true
}

// intString prints a whole number that fits an int64 as cty's conversion
// to string does (big.Float's Text('f', -1)); ok is false for any other
// number, and for -0, which cty prints as "-0".
func intString(v cty.Value) (string, bool) {
	bf := v.AsBigFloat()
	if !bf.IsInt() || (bf.Sign() == 0 && bf.Signbit()) {
		return "", false
	}
	i, acc := bf.Int64()
	if acc != big.Exact {
		return "", false
	}
	return strconv.FormatInt(i, 10), true
}
