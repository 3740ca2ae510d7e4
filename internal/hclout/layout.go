package hclout

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/apparentlymart/go-textseg/v15/textseg"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The layout below is hclwrite's format (hclwrite/format.go), kept to the
// tokens this package writes: no comments, operators, traversals or
// templates. Like hclwrite, it decides every space in the output from the
// token kinds alone, so the same tokens come out byte for byte the same.

type kind uint8

const (
	tNil kind = iota // stands in for "no token" at the start of a line
	tIdent
	tNumber
	tOQuote
	tQuotedLit
	tCQuote
	tOHeredoc // "<<EOT\n": its newline does not end a line for layout
	tStringLit
	tCHeredoc
	tOBrack
	tCBrack
	tOBrace
	tCBrace
	tOParen
	tCParen
	tComma
	tEqual
	tNewline
)

type token struct {
	kind   kind
	text   string
	spaces int // spaces before the token, set by layout
}

var newline = token{kind: tNewline, text: "\n"}

// bracket is +1 for a token that opens a bracket, -1 for one that closes.
func (k kind) bracket() int {
	switch k {
	case tOBrace, tOBrack, tOParen:
		return 1
	case tCBrace, tCBrack, tCParen:
		return -1
	}
	return 0
}

func brackets(ts []token) int {
	n := 0
	for _, t := range ts {
		n += t.kind.bracket()
	}
	return n
}

// line is one line of tokens, split in two cells: lead, and assign from a
// "=" on when the rest of the line is a whole expression. Both are slices
// of the one token slice, so setting spaces in them sets it there.
type line struct {
	lead, assign []token
}

// layout sets the spaces of ts and writes them out. A file is laid out
// as hclwrite.Format lays it out, after reading it back into tokens; an
// expression alone as hclwrite.TokensForValue does, from its own tokens.
// The two differ only in how wide some quoted object keys are (columns).
func layout(ts []token, file bool) []byte {
	lines := splitLines(ts)
	indent(lines)
	for _, l := range lines {
		spaceCell(l.lead)
		if len(l.assign) > 0 {
			l.assign[0].spaces = 1 // the "="
			spaceCell(l.assign)
		}
	}
	align(lines, file)

	var b bytes.Buffer
	for _, t := range ts {
		b.WriteString(strings.Repeat(" ", t.spaces))
		b.WriteString(t.text)
	}
	return b.Bytes()
}

func splitLines(ts []token) []line {
	var lines []line
	start := 0
	for i, t := range ts {
		if t.kind == tNewline {
			lines = append(lines, line{lead: ts[start : i+1]})
			start = i + 1
		}
	}
	if start < len(ts) {
		lines = append(lines, line{lead: ts[start:]})
	}
	for i := range lines {
		l := &lines[i]
		for j := 1; j < len(l.lead); j++ {
			if l.lead[j].kind == tEqual {
				// A "=" that opens a multi-line value ({ or [ left open)
				// is not aligned with its neighbours.
				if brackets(l.lead[j:]) == 0 {
					l.lead, l.assign = l.lead[:j], l.lead[j:]
				}
				break
			}
		}
	}
	return lines
}

// indent gives each line two spaces for each bracket left open by the
// lines above it, counting a line that opens several as one level.
func indent(lines []line) {
	var open []int // brackets opened by each indenting line
	for i := range lines {
		l := &lines[i]
		if l.lead[0].kind == tNewline {
			l.lead[0].spaces = 0
			continue
		}
		net := 0
		for _, t := range l.lead {
			net += t.kind.bracket()
			if t.kind == tOHeredoc {
				break
			}
		}
		net += brackets(l.assign)
		if net > 0 {
			l.lead[0].spaces = 2 * len(open)
			open = append(open, net)
			continue
		}
		for closed := -net; closed > 0 && len(open) > 0; {
			top := &open[len(open)-1]
			switch {
			case closed > *top:
				closed -= *top
				open = open[:len(open)-1]
			case closed < *top:
				*top -= closed
				closed = 0
			default:
				open = open[:len(open)-1]
				closed = 0
			}
		}
		l.lead[0].spaces = 2 * len(open)
	}
}

// spaceCell sets the spaces between the tokens of a cell.
func spaceCell(cell []token) {
	for i := 0; i+1 < len(cell); i++ {
		cell[i+1].spaces = 0
		if spaceAfter(cell[i].kind, cell[i+1].kind) {
			cell[i+1].spaces = 1
		}
	}
}

// spaceAfter is hclwrite's spaceAfterToken for the tokens written here.
func spaceAfter(subject, after kind) bool {
	switch {
	case after == tNewline || after == tNil:
		return false
	case subject == tIdent && after == tOParen: // f(x)
		return false
	case after == tComma:
		return false
	case subject == tComma:
		return true
	case subject == tQuotedLit || subject == tStringLit || subject == tOQuote || subject == tOHeredoc ||
		after == tQuotedLit || after == tStringLit || after == tCQuote || after == tCHeredoc:
		return false // inside strings
	case after == tOBrack && (subject == tIdent || subject == tNumber || subject.bracket() < 0):
		return false
	case subject == tOBrace || after == tCBrace: // { a = 1 }, but {}
		return !(subject == tOBrace && after == tCBrace)
	case subject.bracket() > 0 || after.bracket() < 0: // [a], (a)
		return false
	}
	return true
}

// align lines up the "=" of consecutive lines that have one, a space after
// the longest lead.
func align(lines []line, file bool) {
	start, widest := -1, 0
	for i := 0; i <= len(lines); i++ {
		if i < len(lines) && lines[i].assign != nil {
			if start < 0 {
				start = i
			}
			widest = max(widest, columns(lines[i].lead, file))
			continue
		}
		if start >= 0 {
			for _, l := range lines[start:i] {
				l.assign[0].spaces = widest - columns(l.lead, file) + 1
			}
		}
		start, widest = -1, 0
	}
}

// columns is how wide tokens are on screen as hclwrite counts it: spaces
// and grapheme clusters (so a quoted key "ключ" is 6 wide, not 10). In a
// file, hclwrite counts a quoted string in the pieces HCL's lexer reads
// it in, which can split a cluster ("$" and a combining accent after it):
// so is it counted here.
func columns(ts []token, file bool) int {
	n := 0
	for _, t := range ts {
		n += t.spaces
		if t.kind != tQuotedLit || !file || isASCII(t.text) {
			n += graphemes(t.text)
			continue
		}
		lexed, _ := hclsyntax.LexExpression([]byte(`"`+t.text+`"`), "", hcl.InitialPos)
		for _, lt := range lexed {
			if lt.Type == hclsyntax.TokenQuotedLit {
				n += graphemes(string(lt.Bytes))
			}
		}
	}
	return n
}

// isASCII is true when s is printable ASCII, one column a byte.
func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func graphemes(s string) int {
	if isASCII(s) {
		return len(s)
	}
	b, n := []byte(s), 0
	for len(b) > 0 {
		adv, _, err := textseg.ScanGraphemeClusters(b, true)
		if err != nil || adv <= 0 {
			return n + utf8.RuneCount(b) // cannot happen at EOF; count runes rather than loop
		}
		b, n = b[adv:], n+1
	}
	return n
}
