package hclout

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Body is the body of a file or of a block: attributes, blocks and blank
// lines in the order they were added. The zero value is an empty body.
type Body struct {
	items []item
}

type item struct {
	name   string   // attribute name or block type; "" for a blank line
	labels []string // block labels
	block  *Body    // nil for an attribute
	expr   Expr
}

// Set sets the attribute name to e: in place if the body has it already
// (as hclwrite's SetAttributeValue does), else at the end.
func (b *Body) Set(name string, e Expr) {
	for i, it := range b.items {
		if it.block == nil && it.name == name {
			b.items[i].expr = e
			return
		}
	}
	b.items = append(b.items, item{name: name, expr: e})
}

// Block appends a block and returns its body, to fill in now or later.
func (b *Body) Block(typ string, labels ...string) *Body {
	nb := &Body{}
	b.items = append(b.items, item{name: typ, labels: labels, block: nb})
	return nb
}

// Blank appends an empty line.
func (b *Body) Blank() { b.items = append(b.items, item{}) }

// Bytes writes the body as a file.
func (b *Body) Bytes() []byte { return layout(b.tokens(nil), true) }

func (b *Body) tokens(ts []token) []token {
	for _, it := range b.items {
		switch {
		case it.block != nil:
			ts = append(ts, token{kind: tIdent, text: it.name})
			for _, l := range it.labels {
				ts = appendQuoted(ts, cty.NormalizeString(l))
			}
			ts = append(ts, token{kind: tOBrace, text: "{"}, newline)
			ts = it.block.tokens(ts)
			ts = append(ts, token{kind: tCBrace, text: "}"}, newline)
		case it.name == "":
			ts = append(ts, newline)
		default:
			ts = append(ts, token{kind: tIdent, text: it.name}, token{kind: tEqual, text: "="})
			ts = append(ts, it.expr.toks...)
			ts = append(ts, newline)
		}
	}
	return ts
}

// Expr is an expression: an attribute's value or a part of one.
type Expr struct {
	toks []token
}

// String writes the expression on its own, laid out as in a file at the
// top level (what hclwrite.TokensForValue(v).Bytes() gives).
func (e Expr) String() string { return string(layout(slices.Clone(e.toks), false)) }

// String is a quoted string, NFC-normalised as a cty string is.
func String(s string) Expr { return Expr{appendQuoted(nil, cty.NormalizeString(s))} }

// Int is an integer literal.
func Int(n int64) Expr { return Expr{[]token{{kind: tNumber, text: strconv.FormatInt(n, 10)}}} }

// Float is a number literal in the fewest digits that read back as f at
// its 53 bits, as cty.NumberFloatVal(f) is written. NaN and the
// infinities have no literal: they come out as "NaN", "+Inf" and "-Inf",
// which do not read back as numbers.
func Float(f float64) Expr {
	text := "NaN"
	if !math.IsNaN(f) {
		text = new(big.Float).SetFloat64(f).Text('f', -1)
	}
	return Expr{[]token{{kind: tNumber, text: text}}}
}

// Bool is true or false.
func Bool(v bool) Expr { return Expr{[]token{{kind: tIdent, text: strconv.FormatBool(v)}}} }

// Strings is a tuple of quoted strings.
func Strings(list []string) Expr {
	elems := make([]Expr, len(list))
	for i, s := range list {
		elems[i] = String(s)
	}
	return Tuple(elems...)
}

// StringMap is an object of quoted strings, keys in order (as cty orders a
// map's normalised keys), so the output is stable.
func StringMap(m map[string]string) Expr {
	norm := make(map[string]string, len(m))
	for k, v := range m {
		norm[cty.NormalizeString(k)] = v
	}
	attrs := make([]Attr, 0, len(norm))
	for _, k := range slices.Sorted(maps.Keys(norm)) {
		attrs = append(attrs, Attr{Name: k, Value: String(norm[k])})
	}
	return Object(attrs...)
}

// Tuple is [a, b, ...].
func Tuple(elems ...Expr) Expr {
	ts := []token{{kind: tOBrack, text: "["}}
	for i, e := range elems {
		if i > 0 {
			ts = append(ts, token{kind: tComma, text: ","})
		}
		ts = append(ts, e.toks...)
	}
	return Expr{append(ts, token{kind: tCBrack, text: "]"})}
}

// Attr is one attribute of an object constructor.
type Attr struct {
	Name  string // written bare when it is an identifier, else quoted
	Value Expr
}

// Object is an object constructor, one attribute a line.
func Object(attrs ...Attr) Expr {
	ts := []token{{kind: tOBrace, text: "{"}}
	if len(attrs) > 0 {
		ts = append(ts, newline)
	}
	for _, a := range attrs {
		ts = appendKey(ts, a.Name)
		ts = append(ts, token{kind: tEqual, text: "="})
		ts = append(ts, a.Value.toks...)
		ts = append(ts, newline)
	}
	return Expr{append(ts, token{kind: tCBrace, text: "}"})}
}

// Call is a function call, name(args...).
func Call(name string, args ...Expr) Expr {
	ts := []token{{kind: tIdent, text: name}, {kind: tOParen, text: "("}}
	for i, a := range args {
		if i > 0 {
			ts = append(ts, token{kind: tComma, text: ","})
		}
		ts = append(ts, a.toks...)
	}
	return Expr{append(ts, token{kind: tCParen, text: ")"})}
}

// Heredoc writes s as a heredoc (<<EOT ... EOT) when one reads back as
// exactly s: s is valid UTF-8, ends with a newline and has no carriage
// returns (which HCL would read as line ends). The delimiter is EOT, or
// EOT1, EOT2, ... when a line of s is EOT. Template sequences are escaped
// ("$${", "%%{"); nothing else is, as a heredoc has no other escapes.
func Heredoc(s string) (Expr, bool) {
	if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\r") || !utf8.ValidString(s) {
		return Expr{}, false
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	delim := "EOT"
	for n := 1; slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == delim }); n++ {
		delim = "EOT" + strconv.Itoa(n)
	}
	body := strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
	return Expr{[]token{
		{kind: tOHeredoc, text: "<<" + delim + "\n"},
		{kind: tStringLit, text: body},
		{kind: tCHeredoc, text: delim},
	}}, true
}

// Value writes a known, unmarked cty value as a literal: null, bools,
// numbers, strings, lists, sets and tuples as [...], maps and objects as
// {...}. Other values (unknown, marked, capsules, infinities) have no
// literal, and are an error.
func Value(v cty.Value) (Expr, error) {
	ts, err := appendValue(nil, v)
	if err != nil {
		return Expr{}, err
	}
	return Expr{ts}, nil
}

var errNoLiteral = errors.New("no HCL literal")

func appendValue(ts []token, v cty.Value) ([]token, error) {
	ty := v.Type()
	switch {
	case v.IsMarked():
		return nil, fmt.Errorf("marked value: %w", errNoLiteral)
	case !v.IsKnown():
		return nil, fmt.Errorf("unknown value of type %s: %w", ty.FriendlyName(), errNoLiteral)
	case v.IsNull():
		return append(ts, token{kind: tIdent, text: "null"}), nil
	case ty == cty.Bool:
		return append(ts, Bool(v.True()).toks...), nil
	case ty == cty.Number:
		f := v.AsBigFloat()
		if f.IsInf() {
			return nil, fmt.Errorf("infinite number: %w", errNoLiteral)
		}
		return append(ts, token{kind: tNumber, text: f.Text('f', -1)}), nil
	case ty == cty.String:
		return appendQuoted(ts, v.AsString()), nil
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		ts = append(ts, token{kind: tOBrack, text: "["})
		first := true
		for it := v.ElementIterator(); it.Next(); {
			if !first {
				ts = append(ts, token{kind: tComma, text: ","})
			}
			first = false
			_, ev := it.Element()
			var err error
			if ts, err = appendValue(ts, ev); err != nil {
				return nil, err
			}
		}
		return append(ts, token{kind: tCBrack, text: "]"}), nil
	case ty.IsMapType() || ty.IsObjectType():
		ts = append(ts, token{kind: tOBrace, text: "{"})
		if v.LengthInt() > 0 {
			ts = append(ts, newline)
		}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			ts = appendKey(ts, k.AsString())
			ts = append(ts, token{kind: tEqual, text: "="})
			var err error
			if ts, err = appendValue(ts, ev); err != nil {
				return nil, err
			}
			ts = append(ts, newline)
		}
		return append(ts, token{kind: tCBrace, text: "}"}), nil
	}
	return nil, fmt.Errorf("value of type %s: %w", ty.FriendlyName(), errNoLiteral)
}

// appendKey writes an object key: bare when it is an identifier, else
// quoted. "for" is quoted too: HCL reads { for = 1 } as the start of a
// for expression. (hclwrite writes it bare, and its file does not parse.)
func appendKey(ts []token, name string) []token {
	if hclsyntax.ValidIdentifier(name) && name != "for" {
		return append(ts, token{kind: tIdent, text: name})
	}
	return appendQuoted(ts, name)
}

// appendQuoted writes s as a quoted string. Escapes are hclwrite's: \n,
// \r, \t, \" and \\; other unprintable runes as \uNNNN or \UNNNNNNNN;
// template introducers doubled ("$${", "%%{") so they stay literal. A
// byte that is not UTF-8 becomes U+FFFD, as ranging over s reads it.
func appendQuoted(ts []token, s string) []token {
	ts = append(ts, token{kind: tOQuote, text: `"`})
	if s != "" {
		var b strings.Builder
		b.Grow(len(s) + 2)
		for i, r := range s {
			switch r {
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '$', '%':
				b.WriteRune(r)
				if strings.HasPrefix(s[i+1:], "{") {
					b.WriteRune(r)
				}
			default:
				switch {
				case unicode.IsPrint(r):
					b.WriteRune(r)
				case r < 0x10000:
					fmt.Fprintf(&b, `\u%04x`, r)
				default:
					fmt.Fprintf(&b, `\U%08x`, r)
				}
			}
		}
		ts = append(ts, token{kind: tQuotedLit, text: b.String()})
	}
	return append(ts, token{kind: tCQuote, text: `"`})
}
