package jobspec

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nai-project/nai/internal/suggest"
)

// DiagError is every problem found in a job file. Error gives one line per
// problem ("file:line:col: summary; detail"); Format prints them the way
// HCL's diagnostic writer does, with the offending source and a caret.
type DiagError struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

func (e *DiagError) Error() string {
	var b strings.Builder
	for i, d := range e.Diags {
		if i > 0 {
			b.WriteByte('\n')
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString("; ")
			b.WriteString(strings.Join(strings.Fields(d.Detail), " "))
		}
	}
	return b.String()
}

// Format writes the diagnostics with their source context. width wraps the
// detail text (0: no wrapping); color adds terminal colour codes.
func (e *DiagError) Format(w io.Writer, width uint, color bool) error {
	return hcl.NewDiagnosticTextWriter(w, e.Files, width, color).WriteDiagnostics(e.Diags)
}

// newDiagError keeps only real problems, in source order: hclsyntax reports
// unknown arguments in map order, and people read files top to bottom.
func newDiagError(diags hcl.Diagnostics, files map[string]*hcl.File) *DiagError {
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		// cty turns a panicking function into an error carrying a stack
		// trace: the user needs to know which call failed, not our stack.
		if before, _, found := strings.Cut(d.Detail, "\ngoroutine "); found {
			d.Detail = strings.TrimSpace(before) + " (the function cannot handle these arguments)"
		}
		errs = append(errs, d)
	}
	slices.SortStableFunc(errs, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil && b.Subject == nil:
			return 0
		case a.Subject == nil:
			return -1
		case b.Subject == nil:
			return 1
		}
		if c := cmp.Compare(a.Subject.Filename, b.Subject.Filename); c != 0 {
			return c
		}
		return cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte)
	})
	return &DiagError{Diags: errs, Files: files}
}

// errorAt builds an error diagnostic pointing at rng.
func errorAt(rng hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	}
}

// didYouMean returns ` Did you mean "x"?` for the closest of options, or ""
// when none is close enough to be a plausible typo.
func didYouMean(given string, options []string) string {
	if best := closestName(given, options); best != "" {
		return fmt.Sprintf(" Did you mean %q?", best)
	}
	return ""
}

// closestName is the option a typo probably meant, or "".
func closestName(given string, options []string) string { return suggest.Closest(given, options) }
