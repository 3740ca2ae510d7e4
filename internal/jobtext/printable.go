package jobtext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable is s made safe to print in a table cell or on a one-line
// status: every control character -- C0 (tab, newline, carriage return,
// ESC...), DEL and C1 -- every Unicode bidirectional override or
// isolate, and every byte that is not UTF-8 is written as a visible
// escape the way strconv.Quote writes it (\n, \t, \x1b, \u0085, \u202e,
// \xff), and the rest is kept as it is.
//
// Descriptions, labels, metric names, messages and the like are written
// by users (or their jobs), and with ACLs one member of a group writes
// what the others read: printed raw, a newline and a few spaces draw a
// fake row in `nai dataset list`, an escape sequence recolours or clears
// the reader's terminal, and a right-to-left override reorders a cell.
// Names that structs.ValidName checks need none of this. -json output
// prints the API's strings untouched; only text meant for a terminal goes
// through here. A backslash is left alone, so "a\nb" typed with a real
// backslash reads the same as an escaped newline: a cell can look
// ambiguous, but it cannot break out of its row.
func Printable(s string) string {
	// Fast path: plain ASCII without controls is nearly every cell, and
	// the queue table calls this for thousands of jobs.
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&0xf, 16))
		case unicode.IsControl(r) || bidiControl(r):
			q := strconv.QuoteRune(r) // '\n', '\x1b', '\u0085'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// bidiControl reports whether r changes the direction of the text that
// follows it (LRE..RLO, LRI..PDI, LRM, RLM, ALM): printed raw it can make a
// cell read differently from the bytes it holds.
func bidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}
