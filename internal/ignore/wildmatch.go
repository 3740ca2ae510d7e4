package ignore

import (
	"errors"
	"strings"
)

// This file is git's wildmatch (wildmatch.c, from rsync) in Go, with the
// WM_PATHNAME flag git uses for .gitignore patterns and without case
// folding: "*" and "?" and a bracket expression never match "/", "**"
// matches across "/" only as a whole path element ("**/" at the start,
// "/**" at the end, "/**/" in the middle), and anywhere else it is a
// plain "*". Like git it works on bytes: "?" matches one byte, so a
// character of several bytes in UTF-8 needs as many. The structure follows
// the C code, so that its results are git's.

// Results of dowild. wmAbortAll and wmAbortToStarStar let a "*" stop
// trying longer matches early, exactly as in git; only wmMatch is a match.
const (
	wmMatch = iota
	wmNoMatch
	wmAbortAll
	wmAbortToStarStar
)

// wildmatch reports whether text, a slash-separated path, matches glob.
func wildmatch(glob, text string) bool {
	w := wild{pat: glob, text: text}
	return w.dowild(0, 0) == wmMatch
}

// wild is one run of wildmatch. Each "*" tries the rest of the pattern at
// every place in the text, so patterns with many of them (a row of "**/")
// take exponential time in git; here, past a few calls, the result for
// each place in the pattern and text is remembered, which bounds the work
// by their lengths multiplied, without changing any result.
type wild struct {
	pat, text string
	calls     int
	memo      map[int]int8 // by pi*(len(text)+1)+ti
}

// memoAfter is the number of calls a run makes before it remembers
// results: ordinary patterns never get there, and never allocate.
const memoAfter = 256

func (w *wild) dowild(pi, ti int) int {
	w.calls++
	if w.calls <= memoAfter {
		return w.match(pi, ti)
	}
	if w.memo == nil {
		w.memo = map[int]int8{}
	}
	key := pi*(len(w.text)+1) + ti
	if r, ok := w.memo[key]; ok {
		return int(r)
	}
	r := w.match(pi, ti)
	w.memo[key] = int8(r)
	return r
}

func isGlobSpecial(c byte) bool {
	return c == '*' || c == '?' || c == '[' || c == '\\'
}

// match is git's dowild: the pattern from pat[pi] against the text from
// text[ti]. Its result depends on pi and ti alone, which the memo relies
// on. (git checks whether a "**" starts its own piece of the pattern, not
// the whole pattern; the two are the same, as every recursive call starts
// after a "/" or at a character other than "*".)
func (w *wild) match(pi, ti int) int {
	pat, text := w.pat, w.text
	for ; pi < len(pat); pi, ti = pi+1, ti+1 {
		pc := pat[pi]
		if ti >= len(text) && pc != '*' {
			return wmAbortAll
		}
		switch pc {
		case '\\':
			// A literal match with the next byte; a backslash at the end
			// of the pattern matches nothing.
			pi++
			if pi >= len(pat) || text[ti] != pat[pi] {
				return wmNoMatch
			}
		case '?':
			if text[ti] == '/' {
				return wmNoMatch
			}
		case '*':
			matchSlash := false
			pi++
			if pi < len(pat) && pat[pi] == '*' {
				prev := pi - 2
				for pi++; pi < len(pat) && pat[pi] == '*'; pi++ {
				}
				if (prev < 0 || pat[prev] == '/') &&
					(pi == len(pat) || pat[pi] == '/' ||
						(pat[pi] == '\\' && pi+1 < len(pat) && pat[pi+1] == '/')) {
					// "**" as a whole path element. Before "/", first
					// try it matching no directories at all: "a/**/b"
					// matches "a/b".
					if pi < len(pat) && pat[pi] == '/' && w.dowild(pi+1, ti) == wmMatch {
						return wmMatch
					}
					matchSlash = true
				}
			}
			if pi == len(pat) {
				// A trailing "**" matches everything; a trailing "*" only
				// what has no more slashes.
				if !matchSlash && strings.IndexByte(text[ti:], '/') >= 0 {
					return wmNoMatch
				}
				return wmMatch
			}
			if !matchSlash && pat[pi] == '/' {
				// One "*" and a slash match the rest of this element;
				// the loop's step consumes the slash in both.
				slash := strings.IndexByte(text[ti:], '/')
				if slash < 0 {
					return wmNoMatch
				}
				ti += slash
				continue
			}
			for ti < len(text) {
				tc := text[ti]
				if !isGlobSpecial(pat[pi]) {
					// A literal follows: skip to where it occurs, not
					// past a slash unless this is "**".
					lit := pat[pi]
					for ti < len(text) && (matchSlash || text[ti] != '/') && text[ti] != lit {
						ti++
					}
					if ti >= len(text) || text[ti] != lit {
						return wmNoMatch
					}
					tc = text[ti]
				}
				if m := w.dowild(pi, ti); m != wmNoMatch {
					if !matchSlash || m != wmAbortToStarStar {
						return m
					}
				} else if !matchSlash && tc == '/' {
					return wmAbortToStarStar
				}
				ti++
			}
			return wmAbortAll
		case '[':
			matched, next, ok := matchClass(pat, pi, text[ti])
			if !ok {
				return wmAbortAll
			}
			if !matched || text[ti] == '/' {
				return wmNoMatch
			}
			pi = next
		default:
			if text[ti] != pc {
				return wmNoMatch
			}
		}
	}
	if ti < len(text) {
		return wmNoMatch
	}
	return wmMatch
}

// matchClass reads the bracket expression that starts at pat[pi] ("[")
// as git does and reports whether it matches c (negation included), the
// index of its closing "]", and false for ok when it is malformed (no
// closing "]", a backslash at the end, an unknown [:class:]): git's
// pattern then matches nothing. "!" or "^" first negates; a "]" first (or
// right after the negation) is a member; "-" first or last is a member;
// a range ends a run, so "a-c-e" is a-c, "-" and "e"; a range from high
// to low matches nothing.
func matchClass(pat string, pi int, c byte) (matched bool, end int, ok bool) {
	pi++
	if pi >= len(pat) {
		return false, pi, false
	}
	negated := false
	if pat[pi] == '!' || pat[pi] == '^' {
		negated = true
		pi++
	}
	prev := -1 // the previous member, -1 after a range or at the start
	for {
		if pi >= len(pat) {
			return false, pi, false
		}
		pc := int(pat[pi])
		switch {
		case pc == '\\':
			pi++
			if pi >= len(pat) {
				return false, pi, false
			}
			pc = int(pat[pi])
			if int(c) == pc {
				matched = true
			}
		case pc == '-' && prev >= 0 && pi+1 < len(pat) && pat[pi+1] != ']':
			pi++
			hi := pat[pi]
			if hi == '\\' {
				pi++
				if pi >= len(pat) {
					return false, pi, false
				}
				hi = pat[pi]
			}
			if int(c) >= prev && c <= hi {
				matched = true
			}
			pc = -1
		case pc == '[' && pi+1 < len(pat) && pat[pi+1] == ':':
			s := pi + 2
			e := s
			for e < len(pat) && pat[e] != ']' {
				e++
			}
			if e >= len(pat) {
				return false, e, false
			}
			if e-s-1 < 0 || pat[e-1] != ':' {
				// No ":]": a plain "[" member.
				if c == '[' {
					matched = true
				}
				break
			}
			in, known := posixClass(pat[s:e-1], c)
			if !known {
				return false, e, false
			}
			if in {
				matched = true
			}
			pi = e
			pc = -1
		default:
			if int(c) == pc {
				matched = true
			}
		}
		prev = pc
		pi++
		if pi < len(pat) && pat[pi] == ']' {
			return matched != negated, pi, true
		}
	}
}

// posixClass reports whether c is in the [:name:] class, and whether name
// is one git knows. Like git's, the classes are ASCII only.
func posixClass(name string, c byte) (in, known bool) {
	isUpper := 'A' <= c && c <= 'Z'
	isLower := 'a' <= c && c <= 'z'
	isDigit := '0' <= c && c <= '9'
	isAlpha := isUpper || isLower
	isGraph := '!' <= c && c <= '~'
	switch name {
	case "alnum":
		return isAlpha || isDigit, true
	case "alpha":
		return isAlpha, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < ' ' || c == 0x7f, true
	case "digit":
		return isDigit, true
	case "graph":
		return isGraph, true
	case "lower":
		return isLower, true
	case "print":
		return isGraph || c == ' ', true
	case "punct":
		return isGraph && !isAlpha && !isDigit, true
	case "space":
		// git's own isspace: no \v or \f.
		return c == ' ' || c == '\t' || c == '\n' || c == '\r', true
	case "upper":
		return isUpper, true
	case "xdigit":
		return isDigit || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F'), true
	}
	return false, false
}

// checkGlob reports why glob can never match anything, or nil: a
// backslash at the end, a bracket expression without its "]", an unknown
// [:class:]. git takes such a pattern silently and matches nothing with
// it.
func checkGlob(glob string) error {
	for i := 0; i < len(glob); i++ {
		switch glob[i] {
		case '\\':
			i++
			if i >= len(glob) {
				return errors.New("backslash at the end")
			}
		case '[':
			_, end, ok := matchClass(glob, i, 0)
			if !ok {
				if end < len(glob) {
					return errors.New("unknown character class in [...]")
				}
				return errors.New("[ without its ]")
			}
			i = end
		}
	}
	return nil
}
