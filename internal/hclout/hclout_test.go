package hclout

import (
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// nasty are strings that take every escaping and layout path.
var nasty = []string{
	"", "plain", "with space", `quote"inside`, `back\slash`, `\"`, "new\nline", "cr\rlf\r\n", "tab\there",
	"${var.x}", "%{ if x }", "$${", "%%{", "$$${", "$", "%", "${", "%{", "a$b%c", "}", "{", "\x00\x01\x1f\x7f",
	"\u0085\u2028\u2029", "\u200b\ufeff", "ключ", "e\u0301", "é", "日本語", "🙂", "👩‍👩‍👧", "🇫🇷", "\U000e0001",
	"\xff\xfe", "a\xffb", "EOT", "<<EOT", "# not a comment", "// nor this", "a = b", "=", "-1", "1e9", "null", "true",
	"for", "in", "if", "a-b", "_x", "0x", "x.y", "x[0]", strings.Repeat("long", 40),
}

func strVals(ss []string) []cty.Value {
	var vs []cty.Value
	for _, s := range ss {
		vs = append(vs, cty.StringVal(s))
	}
	return vs
}

// hclwriteKey reports whether hclwrite writes key as an object key that
// reads back: it writes "for" bare, which HCL reads as a for expression.
// Value quotes it.
func hclwriteKey(k string) bool { return k != "for" }

func values(t testing.TB) []cty.Value {
	t.Helper()
	vs := []cty.Value{
		cty.NullVal(cty.String), cty.NullVal(cty.DynamicPseudoType), cty.True, cty.False,
		cty.Zero, cty.NumberIntVal(-5), cty.NumberIntVal(math.MaxInt64), cty.NumberIntVal(math.MinInt64),
		cty.NumberFloatVal(0.1), cty.NumberFloatVal(-2.5e-300), cty.NumberFloatVal(1e21),
		cty.MustParseNumberVal("123456789012345678901234567890.000000000000000001"),
		cty.NumberVal(new(big.Float).SetMantExp(big.NewFloat(1), 5000)),
		cty.ListValEmpty(cty.String), cty.EmptyTupleVal, cty.EmptyObjectVal, cty.MapValEmpty(cty.Number),
		cty.ListVal(strVals(nasty)), cty.TupleVal(strVals(nasty)),
		cty.SetVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a")}),
		cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(-1), cty.StringVal("x"), cty.True, cty.NullVal(cty.Bool)}),
		cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(1)}), cty.ObjectVal(map[string]cty.Value{"bb": cty.NumberIntVal(2), "c": cty.EmptyTupleVal})}),
		cty.ObjectVal(map[string]cty.Value{
			"short": cty.True, "a_much_longer_key": cty.StringVal("v"), "nested": cty.ObjectVal(map[string]cty.Value{"x": cty.NumberIntVal(1), "yy": cty.ListVal([]cty.Value{cty.NumberIntVal(2)})}),
			"list": cty.TupleVal([]cty.Value{cty.EmptyObjectVal, cty.ObjectVal(map[string]cty.Value{"k": cty.StringVal("v")})}),
			"z":    cty.NullVal(cty.String),
		}),
	}
	for _, s := range nasty {
		vs = append(vs, cty.StringVal(s))
	}
	keys := map[string]cty.Value{}
	for i, s := range nasty {
		if hclwriteKey(s) {
			keys[s] = cty.NumberIntVal(int64(i))
		}
	}
	vs = append(vs, cty.ObjectVal(keys), cty.MapVal(keys))
	return vs
}

// TestValueAsHCLWrite checks Value against hclwrite.TokensForValue.
func TestValueAsHCLWrite(t *testing.T) {
	vs := values(t)
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		vs = append(vs, randomValue(r, 3))
	}
	for _, v := range vs {
		want := string(hclwrite.TokensForValue(v).Bytes())
		e, err := Value(v)
		if err != nil {
			t.Errorf("Value(%#v): %v", v, err)
			continue
		}
		if got := e.String(); got != want {
			t.Errorf("Value(%#v):\n got %q\nwant %q", v, got, want)
		}
	}
}

func TestValueRefusesWhatHasNoLiteral(t *testing.T) {
	for _, v := range []cty.Value{
		cty.UnknownVal(cty.String), cty.DynamicVal, cty.StringVal("x").Mark("secret"),
		cty.TupleVal([]cty.Value{cty.True, cty.UnknownVal(cty.Bool)}),
		cty.ObjectVal(map[string]cty.Value{"a": cty.UnknownVal(cty.Number)}),
		cty.PositiveInfinity, cty.NegativeInfinity,
		cty.CapsuleVal(cty.Capsule("thing", reflect.TypeFor[int]()), new(int)),
	} {
		if e, err := Value(v); err == nil {
			t.Errorf("Value(%#v) = %q, want an error", v, e.String())
		}
	}
}

// op is one step of building a body, done to an hclout.Body and to an
// hclwrite.Body alike.
type op struct {
	name   string // "" with no block: a blank line
	labels []string
	block  []op // non-nil: a block
	v      cty.Value
}

func build(ours *Body, theirs *hclwrite.Body, ops []op) error {
	for _, o := range ops {
		switch {
		case o.block != nil:
			build(ours.Block(o.name, o.labels...), theirs.AppendNewBlock(o.name, o.labels).Body(), o.block)
		case o.name == "":
			ours.Blank()
			theirs.AppendNewline()
		default:
			e, err := Value(o.v)
			if err != nil {
				return err
			}
			ours.Set(o.name, e)
			theirs.SetAttributeValue(o.name, o.v)
		}
	}
	return nil
}

func attr(name string, v cty.Value) op { return op{name: name, v: v} }

func block(name string, labels []string, ops ...op) op {
	return op{name: name, labels: labels, block: append([]op{}, ops...)}
}

// TestBodyAsHCLWrite checks files against hclwrite.Format of the same
// body built with hclwrite.
func TestBodyAsHCLWrite(t *testing.T) {
	cases := map[string][]op{
		"empty":                  nil,
		"aligned":                {attr("a", cty.True), attr("longer_name", cty.NumberIntVal(1)), attr("b", cty.StringVal("x"))},
		"blank breaks alignment": {attr("a", cty.True), {}, attr("longer_name", cty.True)},
		"object breaks alignment": {
			attr("a", cty.True), attr("env", cty.MapVal(map[string]cty.Value{"K": cty.StringVal("v"), "LONGER": cty.StringVal("w")})), attr("bbb", cty.False),
		},
		"replaced in place": {attr("a", cty.True), attr("bb", cty.True), attr("a", cty.False)},
		"blocks": {
			block("job", []string{"train"},
				attr("queue", cty.StringVal("gpu")), attr("priority", cty.NumberIntVal(10)),
				block("dataset", []string{"mnist"}),
				block("model", []string{`we"ird\name`, "é"}, attr("version", cty.NumberIntVal(3))),
				op{},
				block("resources", nil, attr("cpu", cty.NumberFloatVal(0.5)), block("gpu", nil, attr("count", cty.NumberIntVal(2)))),
				op{}, op{},
				block("task", nil, attr("args", cty.TupleVal(strVals(nasty))), attr("env", cty.ObjectVal(map[string]cty.Value{"ключ": cty.StringVal("v"), "a b": cty.StringVal("w"), "x": cty.EmptyObjectVal}))),
			),
			block("second", nil),
		},
	}
	for i, v := range values(t) {
		cases["value "+string(rune('A'+i%26))+strings.Repeat("'", i/26)] = []op{attr("x", cty.True), attr("value", v), attr("after_it", cty.True)}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		cases["random "+string(rune('a'+i%26))+strings.Repeat("'", i/26)] = randomOps(r, 3)
	}
	for name, ops := range cases {
		t.Run(name, func(t *testing.T) {
			ours, f := &Body{}, hclwrite.NewEmptyFile()
			if err := build(ours, f.Body(), ops); err != nil {
				t.Fatal(err)
			}
			want := string(hclwrite.Format(f.Bytes()))
			if got := string(ours.Bytes()); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestExprsAsHCLWrite checks the expressions that are not values: tuples,
// objects and calls of other expressions, and heredocs, against the
// hclwrite tokens jobspec used to write.
func TestExprsAsHCLWrite(t *testing.T) {
	num := func(n int64) hclwrite.Tokens { return hclwrite.TokensForValue(cty.NumberIntVal(n)) }
	cases := []struct {
		ours   Expr
		theirs hclwrite.Tokens
	}{
		{Call("range", Int(0), Int(10)), hclwrite.TokensForFunctionCall("range", num(0), num(10))},
		{Call("range", Int(-3), Int(10), Int(2)), hclwrite.TokensForFunctionCall("range", num(-3), num(10), num(2))},
		{Call("f"), hclwrite.TokensForFunctionCall("f")},
		{Tuple(Int(1), Int(-2), Int(3)), hclwrite.TokensForTuple([]hclwrite.Tokens{num(1), num(-2), num(3)})},
		{Tuple(), hclwrite.TokensForTuple(nil)},
		{Object(Attr{"ARRAY_TASK_ID", Call("range", Int(1), Int(5))}), hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{{Name: hclwrite.TokensForIdentifier("ARRAY_TASK_ID"), Value: hclwrite.TokensForFunctionCall("range", num(1), num(5))}})},
		{Object(Attr{"k", Tuple(Int(1), Int(2))}, Attr{"longer", Object()}), hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{
			{Name: hclwrite.TokensForIdentifier("k"), Value: hclwrite.TokensForTuple([]hclwrite.Tokens{num(1), num(2)})},
			{Name: hclwrite.TokensForIdentifier("longer"), Value: hclwrite.TokensForObject(nil)},
		})},
		{Strings([]string{"a", "b\n"}), hclwrite.TokensForValue(cty.TupleVal(strVals([]string{"a", "b\n"})))},
		{StringMap(map[string]string{"b": "1", "a b": "2", "e\u0301": "3"}), hclwrite.TokensForValue(cty.MapVal(map[string]cty.Value{"b": cty.StringVal("1"), "a b": cty.StringVal("2"), "e\u0301": cty.StringVal("3")}))},
		{Bool(false), hclwrite.TokensForValue(cty.False)},
	}
	for _, s := range nasty {
		cases = append(cases, struct {
			ours   Expr
			theirs hclwrite.Tokens
		}{String(s), hclwrite.TokensForValue(cty.StringVal(s))})
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.5, 1.0 / 3, 2, 1e22, 5e-324, math.MaxFloat64, -123.456, math.Inf(-1)} {
		cases = append(cases, struct {
			ours   Expr
			theirs hclwrite.Tokens
		}{Float(f), hclwrite.TokensForValue(cty.NumberFloatVal(f))})
	}
	for _, s := range []string{"echo hi\n", "a\nEOT\n  EOT1 \nb\n", "${x} %{y} $${z}\n", "tab\tand é\n", "\n"} {
		e, ok := Heredoc(s)
		if !ok {
			t.Fatalf("Heredoc(%q) refused", s)
		}
		cases = append(cases, struct {
			ours   Expr
			theirs hclwrite.Tokens
		}{e, jobspecHeredoc(s)})
	}
	for _, c := range cases {
		ours, f := &Body{}, hclwrite.NewEmptyFile()
		ours.Set("x", c.ours)
		ours.Set("longer", Bool(true))
		f.Body().SetAttributeRaw("x", c.theirs)
		f.Body().SetAttributeValue("longer", cty.True)
		want := string(hclwrite.Format(f.Bytes()))
		if got := string(ours.Bytes()); got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
	}
}

// jobspecHeredoc is the heredoc jobspec built with hclwrite tokens.
func jobspecHeredoc(s string) hclwrite.Tokens {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	delim := "EOT"
	for n := 1; containsTrimmed(lines, delim); n++ {
		delim = "EOT" + string(rune('0'+n))
	}
	return hclwrite.Tokens{
		{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<" + delim + "\n")},
		{Type: hclsyntax.TokenStringLit, Bytes: []byte(strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s))},
		{Type: hclsyntax.TokenCHeredoc, Bytes: []byte(delim)},
	}
}

func containsTrimmed(lines []string, s string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}

func TestHeredocRefusesWhatItCannotSayExactly(t *testing.T) {
	for _, s := range []string{"", "no newline", "cr\r\n", "bad \xff\n"} {
		if _, ok := Heredoc(s); ok {
			t.Errorf("Heredoc(%q) accepted", s)
		}
	}
}

// FuzzRoundTrip writes strings (as quoted strings, object keys and
// heredocs) and numbers, and checks that HCL reads back the same values,
// and that hclwrite writes the same bytes.
func FuzzRoundTrip(f *testing.F) {
	for i, s := range nasty {
		f.Add(s, float64(i)/7, int64(i)*-1000003)
	}
	f.Add("line\n", math.SmallestNonzeroFloat64, int64(math.MinInt64))
	f.Add("EOT\n", math.MaxFloat64, int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, s string, fl float64, n int64) {
		sv := cty.StringVal(s)
		want := map[string]cty.Value{
			"s":   sv,
			"k":   cty.ObjectVal(map[string]cty.Value{s: cty.True}),
			"n":   cty.NumberIntVal(n),
			"all": cty.TupleVal([]cty.Value{sv, cty.MapVal(map[string]cty.Value{s: sv})}),
		}
		b, f := &Body{}, hclwrite.NewEmptyFile()
		for _, name := range []string{"s", "k", "n", "all"} {
			e, err := Value(want[name])
			if err != nil {
				t.Fatal(err)
			}
			b.Set(name, e)
			f.Body().SetAttributeValue(name, want[name])
		}
		if !math.IsNaN(fl) && !math.IsInf(fl, 0) {
			want["f"] = cty.NumberFloatVal(fl)
			b.Set("f", Float(fl))
			f.Body().SetAttributeValue("f", want["f"])
		}
		if e, ok := Heredoc(s); ok {
			want["h"] = sv
			b.Set("h", e)
			f.Body().SetAttributeRaw("h", jobspecHeredoc(s))
		}
		src := b.Bytes()
		if hclwriteKey(cty.NormalizeString(s)) {
			if theirs := hclwrite.Format(f.Bytes()); string(src) != string(theirs) {
				t.Errorf("differs from hclwrite:\n%s\nhclwrite:\n%s", src, theirs)
			}
		}

		file, diags := hclsyntax.ParseConfig(src, "fuzz.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("parse: %s\n%s", diags.Error(), src)
		}
		attrs, diags := file.Body.JustAttributes()
		if diags.HasErrors() {
			t.Fatalf("attributes: %s\n%s", diags.Error(), src)
		}
		if !utf8.ValidString(s) {
			return // written as U+FFFD, so not the same string
		}
		for name, w := range want {
			a := attrs[name]
			if a == nil {
				t.Fatalf("attribute %s missing in\n%s", name, src)
			}
			got, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("%s: %s\n%s", name, diags.Error(), src)
			}
			switch name {
			case "all": // read back as a tuple of a string and an object
				w = cty.TupleVal([]cty.Value{sv, cty.ObjectVal(map[string]cty.Value{s: sv})})
			case "f": // the fewest digits that make fl as a float64 (HCL reads more bits)
				if got.Type() == cty.Number {
					if g, _ := got.AsBigFloat().Float64(); g == fl {
						continue
					}
				}
			}
			if !got.Equals(w).True() {
				t.Errorf("%s: read back %#v, wrote %#v\n%s", name, got, w, src)
			}
		}
	})
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return nasty[r.IntN(len(nasty))]
	}
	const alphabet = "ab_-1 \"\\\n\t$%{}é日\u0301\x01"
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteString(string([]rune(alphabet)[r.IntN(utf8.RuneCountInString(alphabet))]))
	}
	return b.String()
}

func randomValue(r *rand.Rand, depth int) cty.Value {
	switch k := r.IntN(8); {
	case depth == 0 || k < 2:
		return cty.StringVal(randomString(r))
	case k == 2:
		return cty.NumberFloatVal(r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)))
	case k == 3:
		return cty.BoolVal(r.IntN(2) == 0)
	case k == 4 || k == 5:
		var elems []cty.Value
		for range r.IntN(4) {
			elems = append(elems, randomValue(r, depth-1))
		}
		return cty.TupleVal(elems)
	default:
		attrs := map[string]cty.Value{}
		for range r.IntN(4) {
			if k := randomString(r); hclwriteKey(k) {
				attrs[k] = randomValue(r, depth-1)
			}
		}
		return cty.ObjectVal(attrs)
	}
}

func randomOps(r *rand.Rand, depth int) []op {
	var ops []op
	for range r.IntN(6) {
		switch k := r.IntN(6); {
		case k == 0:
			ops = append(ops, op{})
		case k == 1 && depth > 0:
			var labels []string
			for range r.IntN(3) {
				labels = append(labels, randomString(r))
			}
			ops = append(ops, block([]string{"b", "block", "a_longer_block"}[r.IntN(3)], labels, randomOps(r, depth-1)...))
		default:
			ops = append(ops, attr([]string{"a", "bb", "ccc_ccc", "d"}[r.IntN(4)], randomValue(r, 2)))
		}
	}
	return ops
}
