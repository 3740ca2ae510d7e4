package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/nai-project/nai/jobspec"
)

// printDiagnostics writes each problem of a job file the way compilers do:
// "file:line:col: summary", the offending source line with a caret under
// the range, then the explanation. Editors and terminals jump to the
// first line; people read the rest.
func printDiagnostics(w io.Writer, de *jobspec.DiagError, color bool) error {
	red, bold, reset := "", "", ""
	if color {
		red, bold, reset = "\x1b[31m", "\x1b[1m", "\x1b[0m"
	}
	var b bytes.Buffer
	for i, d := range de.Diags {
		if i > 0 {
			b.WriteByte('\n')
		}
		kind := "error"
		if d.Severity == hcl.DiagWarning {
			kind = "warning"
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s%s:%d:%d:%s ", bold, d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, reset)
		}
		fmt.Fprintf(&b, "%s%s:%s %s%s%s\n", red, kind, reset, bold, d.Summary, reset)
		if d.Subject != nil {
			if f := de.Files[d.Subject.Filename]; f != nil {
				writeSourceCaret(&b, f.Bytes, *d.Subject, red, reset)
			}
		}
		if d.Detail != "" {
			for _, line := range strings.Split(strings.TrimSpace(d.Detail), "\n") {
				fmt.Fprintf(&b, "  %s\n", line)
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeSourceCaret prints the first line of rng with carets under it.
func writeSourceCaret(b *bytes.Buffer, src []byte, rng hcl.Range, red, reset string) {
	lines := bytes.Split(src, []byte("\n"))
	if rng.Start.Line < 1 || rng.Start.Line > len(lines) {
		return
	}
	line := strings.TrimRight(string(lines[rng.Start.Line-1]), "\r")
	if !utf8.ValidString(line) {
		return
	}
	runes := []rune(line)
	start := min(max(rng.Start.Column-1, 0), len(runes))
	end := len(runes)
	if rng.End.Line == rng.Start.Line {
		end = min(max(rng.End.Column-1, start+1), len(runes))
	}
	width := max(end-start, 1)
	// Keep tabs in the padding so the caret lines up under tabbed source.
	pad := []rune(strings.Repeat(" ", start))
	for i := 0; i < start; i++ {
		if runes[i] == '\t' {
			pad[i] = '\t'
		}
	}
	num := fmt.Sprint(rng.Start.Line)
	gutter := strings.Repeat(" ", len(num))
	fmt.Fprintf(b, "  %s | %s\n", num, line)
	fmt.Fprintf(b, "  %s | %s%s%s%s\n", gutter, string(pad), red, strings.Repeat("^", width), reset)
}
