// Package metricline reads the lines of NAI_METRICS_FILE: one JSON object
// a line, as a training script writes them. Python's json.dumps writes a
// float that is not finite as the bare tokens NaN, Infinity and -Infinity,
// which are not JSON; a run that diverged writes exactly those, so they are
// accepted here rather than losing the line. Go's encoding/json cannot
// hold them in a float64 either, so such a value travels as the string
// "NaN", "Infinity" or "-Infinity": in a line's JSON, and in NonFinite
// beside the finite Values.
//
// The client tails the file with Parse (last values), the servers read the
// shipped file with it (the history and its Summary); it imports only the
// standard library and structs.
package metricline

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"

	"github.com/nai-project/nai/structs"
)

// The non-finite values as Python writes them; a top-level string value
// that is one of these counts as that value too.
const (
	NaN    = "NaN"
	PosInf = "Infinity"
	NegInf = "-Infinity"
)

// ErrNotJSON is returned for a line that is not a JSON object, even with
// NaN, Infinity and -Infinity allowed.
var ErrNotJSON = errors.New("not a JSON object")

// Line is one parsed line.
type Line struct {
	// JSON is the line as valid JSON: the line itself, or with each bare
	// NaN, Infinity and -Infinity outside strings, at any depth, quoted.
	JSON []byte
	// Values holds the top-level keys whose values are numbers.
	Values map[string]float64
	// NonFinite holds the top-level keys whose value is NaN, Infinity or
	// -Infinity, as one of those strings.
	NonFinite map[string]string
}

// Parse reads one line (without its newline). A blank line gives nil and
// no error; a line that is not a JSON object gives ErrNotJSON.
func Parse(line []byte) (*Line, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, nil
	}
	if line[0] != '{' {
		return nil, ErrNotJSON
	}
	js := line
	if !json.Valid(js) {
		js = quoteNonFinite(line)
		if js == nil || !json.Valid(js) {
			return nil, ErrNotJSON
		}
	}
	var obj map[string]any
	if err := json.Unmarshal(js, &obj); err != nil {
		// Valid JSON that still does not decode: a number too large for
		// a float64 (1e999).
		return nil, ErrNotJSON
	}
	l := &Line{JSON: js}
	for k, v := range obj {
		if k == "" {
			continue
		}
		switch v := v.(type) {
		case float64:
			if l.Values == nil {
				l.Values = map[string]float64{}
			}
			l.Values[k] = v
		case string:
			if v == NaN || v == PosInf || v == NegInf {
				if l.NonFinite == nil {
					l.NonFinite = map[string]string{}
				}
				l.NonFinite[k] = v
			}
		}
	}
	return l, nil
}

// quoteNonFinite quotes the bare tokens NaN, Infinity and -Infinity that
// are outside strings; nil when there are none (the line is just bad).
// Whether a token stands where a value may is left to json.Valid after.
func quoteNonFinite(line []byte) []byte {
	var out []byte
	copied := 0 // line[:copied] is in out
	inString, escaped := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if c != 'N' && c != 'I' && c != '-' {
			continue
		}
		for _, tok := range []string{NaN, PosInf, NegInf} {
			if bytes.HasPrefix(line[i:], []byte(tok)) {
				out = append(out, line[copied:i]...)
				out = append(out, '"')
				out = append(out, tok...)
				out = append(out, '"')
				i += len(tok) - 1
				copied = i + 1
				break
			}
		}
	}
	if out == nil {
		return nil
	}
	return append(out, line[copied:]...)
}

// Scanner follows a whole metrics file, line by line in order: how many
// lines were not JSON, and which keys' last value is not finite and since
// which line.
type Scanner struct {
	line      int
	skipped   int
	nonFinite map[string]structs.NonFiniteMetric
}

// Add reads the next line of the file (blank ones too, so line numbers
// hold) and returns it parsed, or nil when it is blank or not JSON.
func (s *Scanner) Add(raw []byte) *Line {
	s.line++
	l, err := Parse(raw)
	if err != nil {
		s.skipped++
		return nil
	}
	if l == nil {
		return nil
	}
	for k := range l.Values {
		delete(s.nonFinite, k)
	}
	for k, v := range l.NonFinite {
		if old, ok := s.nonFinite[k]; ok {
			// Not finite since an earlier line: where it diverged stays
			// what matters; the value is the newest.
			old.Value = v
			s.nonFinite[k] = old
			continue
		}
		m := structs.NonFiniteMetric{Value: v, First: v, Line: s.line}
		if st, ok := l.Values["step"]; ok {
			m.Step = &st
		}
		if s.nonFinite == nil {
			s.nonFinite = map[string]structs.NonFiniteMetric{}
		}
		s.nonFinite[k] = m
	}
	return l
}

// Lines is the number of lines read.
func (s *Scanner) Lines() int { return s.line }

// Skipped is the number of lines that were not JSON objects.
func (s *Scanner) Skipped() int { return s.skipped }

// NonFinite is the keys whose last value is not finite; nil when none.
func (s *Scanner) NonFinite() map[string]structs.NonFiniteMetric {
	if len(s.nonFinite) == 0 {
		return nil
	}
	return maps.Clone(s.nonFinite)
}
