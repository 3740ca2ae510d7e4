package ignore

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// The package once used go-git's gitignore matcher. These tests compare
// the two on the patterns where go-git follows git (goGitAgrees), so that
// the change kept what worked; go-git stays a dependency of the tests
// only, never of the binaries (internal/archtest).
//
// go-git's Pattern.Match answers for a path or any directory above it
// (a path below a matched directory matches too), so it is compared with
// matchSelfOrParent, not with pattern.match alone.
//
// Where go-git is not git, this package follows git; the cases are in
// TestGitignoreRules and TestGoGitDeviations:
//   - "[!...]" is a negated class in git, a class holding "!" in Go's
//     path.Match; "]" first, "-" first or last and a run after a range
//     ("[]a]", "[-a]", "[a-c-e]") are members in git, errors in Go (so no
//     match); "[[:digit:]]" is a POSIX class in git; in "[z-a]" git takes
//     "z" as a member;
//   - a trailing "/**" matches the directory itself in go-git, only what
//     is inside it in git (so "abc/**" then "!abc/keep" keeps abc/keep);
//     "/**" matches nothing in go-git, everything in git;
//   - "**/" in the middle does not backtrack in go-git: "a/**/b/c"
//     misses "a/b/x/b/c";
//   - "**" that is not a whole path element ("a/b**") never matches in
//     go-git; in git it is "*"; "***" as an element is "**" in git;
//   - "//" in a pattern, or at its end ("a//"), is skipped by go-git; in
//     git it matches nothing;
//   - a "\/" is an escaped slash in git, an error in go-git;
//   - a negated pattern in go-git also brings back everything below what
//     it matches ("*.txt" then "!docs" keeps docs/a.txt); in git it
//     brings back only what it matches;
//   - "?" and classes match a byte in git, a UTF-8 character in Go;
//   - go-git drops trailing spaces in ParsePattern; here readPatterns does,
//     as git does, keeping an escaped one.

// matchSelfOrParent is go-git's notion of a pattern matching a path.
func (p *pattern) matchSelfOrParent(parts []string, isDir bool) gitignore.MatchResult {
	for i := 1; i <= len(parts); i++ {
		if p.match(strings.Join(parts[:i], "/"), i < len(parts) || isDir) {
			if p.negate {
				return gitignore.Include
			}
			return gitignore.Exclude
		}
	}
	return gitignore.NoMatch
}

// goGitAgrees reports whether line is a pattern on which go-git follows
// git, for ASCII paths: see the list above.
func goGitAgrees(line string) bool {
	for i := 0; i < len(line); i++ {
		if line[i] <= ' ' || line[i] > '~' {
			return false
		}
	}
	body := strings.TrimPrefix(line, "!")
	body = strings.TrimSuffix(body, "/")
	if body == "" || strings.Contains(body, "//") || strings.HasSuffix(body, "/") || strings.Contains(body, "[!") ||
		strings.Contains(body, "[:") || strings.Contains(body, `\/`) {
		return false
	}
	segs := strings.Split(strings.TrimPrefix(body, "/"), "/")
	for _, s := range segs {
		if _, err := filepath.Match(s, ""); err != nil {
			return false
		}
		// "[z-a]": git takes z as a member, Go matches nothing.
		for j := 1; j+1 < len(s); j++ {
			if s[j] != '-' {
				continue
			}
			hi := s[j+1]
			if hi == '\\' && j+2 < len(s) {
				hi = s[j+2]
			}
			if s[j-1] > hi {
				return false
			}
		}
	}
	if !strings.Contains(body, "/") {
		// Matched on the name alone by both.
		return true
	}
	if segs[len(segs)-1] == "**" {
		return false
	}
	run := 0 // elements after the last "**"
	starred := false
	for _, s := range segs {
		switch {
		case s == "**":
			starred, run = true, 0
		case strings.Contains(s, "**"):
			return false
		default:
			run++
			if starred && run > 1 {
				return false
			}
		}
	}
	return true
}

// genPattern makes a random pattern from pieces both matchers know.
func genPattern(r *rand.Rand) string {
	pieces := []string{"a", "b", "c", "ab", "*", "?", "[ab]", "[a-c]", "[^a]", `\a`, "a*", "*b", "x", ".", "-"}
	n := 1 + r.IntN(4)
	var segs []string
	for range n {
		if r.IntN(5) == 0 {
			segs = append(segs, "**")
			continue
		}
		var s string
		for range 1 + r.IntN(3) {
			s += pieces[r.IntN(len(pieces))]
		}
		segs = append(segs, s)
	}
	p := strings.Join(segs, "/")
	if r.IntN(4) == 0 {
		p = "/" + p
	}
	if r.IntN(4) == 0 {
		p += "/"
	}
	if r.IntN(4) == 0 {
		p = "!" + p
	}
	return p
}

// genPath makes a random path of one to five elements.
func genPath(r *rand.Rand) []string {
	names := []string{"a", "b", "c", "ab", "ba", "abc", "x", "bb", "a.b", "-", "aab", "cab"}
	parts := make([]string, 1+r.IntN(5))
	for i := range parts {
		parts[i] = names[r.IntN(len(names))]
	}
	return parts
}

var domains = [][]string{nil, {"a"}, {"a", "b"}, {"x"}}

// compareWithGoGit fails the test where this package and go-git disagree
// on line (which goGitAgrees) for the path.
func compareWithGoGit(t *testing.T, line string, domain, parts []string, isDir bool) {
	t.Helper()
	mine := parsePattern(line, domain)
	theirs := gitignore.ParsePattern(line, domain)
	got := mine.matchSelfOrParent(parts, isDir)
	want := theirs.Match(parts, isDir)
	if got != want {
		t.Errorf("pattern %q in %q, path %q dir=%v: %v, go-git %v", line, domain, strings.Join(parts, "/"), isDir, got, want)
	}
}

func TestDifferentialGoGit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	compared := 0
	for range 20000 {
		line := genPattern(r)
		if !goGitAgrees(line) {
			continue
		}
		domain := domains[r.IntN(len(domains))]
		for range 20 {
			parts := genPath(r)
			if r.IntN(2) == 0 && len(domain) > 0 {
				parts = append(append([]string{}, domain...), parts...)
			}
			compareWithGoGit(t, line, domain, parts, r.IntN(2) == 0)
			compared++
		}
		if t.Failed() {
			return
		}
	}
	if compared < 100000 {
		t.Errorf("only %d comparisons", compared)
	}
}

// Without negations a set of patterns ignores a path when one of them
// matches it or a directory above it, which both Matchers do.
func TestDifferentialGoGitMatcher(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var lines []string
		var theirs []gitignore.Pattern
		for len(lines) < 1+r.IntN(5) {
			line := strings.TrimPrefix(genPattern(r), "!")
			if !goGitAgrees(line) {
				continue
			}
			lines = append(lines, line)
			theirs = append(theirs, gitignore.ParsePattern(line, nil))
		}
		m, err := Parse(strings.NewReader(strings.Join(lines, "\n")))
		if err != nil {
			t.Fatalf("Parse(%q): %v", lines, err)
		}
		gm := gitignore.NewMatcher(theirs)
		for range 20 {
			parts := genPath(r)
			isDir := r.IntN(2) == 0
			if got, want := m.Match(strings.Join(parts, "/"), isDir), gm.Match(parts, isDir); got != want {
				t.Fatalf("patterns %q, path %q dir=%v: %v, go-git %v", lines, strings.Join(parts, "/"), isDir, got, want)
			}
		}
	}
}

// Where go-git is not git this package follows git. Each case says what
// go-git answers instead; the test checks that the difference is real, so
// a go-git that changes shows up here.
func TestGoGitDeviations(t *testing.T) {
	tests := []struct {
		patterns []string
		path     string
		dir      bool
		git      bool
		why      string
	}{
		{[]string{"[!a]x"}, "bx", false, true, "[!...] is a negated class in git"},
		{[]string{"[]a]x"}, "]x", false, true, "] first is a member in git, a bad pattern in Go"},
		{[]string{"[-a]x"}, "-x", false, true, "- first is a member in git"},
		{[]string{"[[:digit:]]x"}, "1x", false, true, "POSIX classes"},
		{[]string{"[z-a]x"}, "zx", false, true, "in git the first end of a range is a member"},
		{[]string{"abc/**"}, "abc", true, false, "trailing /** matches only inside the directory"},
		{[]string{"/**"}, "a", false, true, "/** matches everything in git"},
		{[]string{"a/**/b/c"}, "a/b/x/b/c", false, true, "/**/ backtracks in git"},
		{[]string{"x/a**b"}, "x/aab", false, true, "** inside an element is * in git"},
		{[]string{"a/***/b"}, "a/x/b", false, true, "*** as an element is ** in git"},
		{[]string{"a//b"}, "a/b", false, false, "// matches nothing in git"},
		{[]string{`a\/b`}, "a/b", false, true, `\/ is an escaped slash in git`},
		{[]string{"*.txt", "!docs"}, "docs/a.txt", false, true, "a negation brings back only what it matches"},
		{[]string{"?"}, "é", false, false, "? matches one byte in git"},
	}
	for _, tt := range tests {
		m, err := Parse(strings.NewReader(strings.Join(tt.patterns, "\n")))
		if err != nil {
			t.Fatalf("%s: %v", tt.why, err)
		}
		parts := strings.Split(tt.path, "/")
		if got := m.Match(tt.path, tt.dir); got != tt.git {
			t.Errorf("%s: patterns %q, Match(%q, dir=%v) = %v, git says %v", tt.why, tt.patterns, tt.path, tt.dir, got, tt.git)
		}
		var ps []gitignore.Pattern
		for _, p := range tt.patterns {
			ps = append(ps, gitignore.ParsePattern(p, nil))
		}
		if gitignore.NewMatcher(ps).Match(parts, tt.dir) == tt.git {
			t.Errorf("%s: go-git now agrees with git on %q for %q; move the case out of the deviations", tt.why, tt.patterns, tt.path)
		}
	}
}

// FuzzGoGit checks that no pattern and path make the matcher panic or
// loop, and that it agrees with go-git where go-git follows git. The seed
// corpus is the f.Add calls; go test runs them, go test -fuzz explores
// from them.
func FuzzGoGit(f *testing.F) {
	seeds := []struct {
		pattern, path string
		isDir         bool
	}{
		{"*.pyc", "pkg/a.pyc", false},
		{"__pycache__/", "pkg/__pycache__", true},
		{"/data", "data/x", false},
		{"docs/**/*.tmp", "docs/a/b/c.tmp", false},
		{"!logs/keep.txt", "logs/keep.txt", false},
		{`\#notes`, "#notes", false},
		{"**/foo/bar", "x/foo/bar", false},
		{"abc/**", "abc", true},
		{"a/**/b", "a/x/y/b", false},
		{"[a-c]x", "bx", false},
		{"[^a]", "b", false},
		{"[!a]", "b", false},
		{"[", "[", false},
		{"[z-a]", "z", false},
		{"[]", "]", false},
		{"[[:alpha:]", "a", false},
		{"[[:nope:]]", "a", false},
		{`a\`, `a\`, false},
		{"a//b", "a/b", true},
		{"***/x", "a/x", false},
		{"*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"**/**/**/**/**/x", "a/a/a/a/a/a/a/a/a/a/a/a/y", false},
		{"!", "a", false},
		{"/", "a", true},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.path, s.isDir)
	}
	f.Fuzz(func(t *testing.T, line, name string, isDir bool) {
		if len(line)+len(name) > 512 {
			// Long inputs find nothing short ones do not, and the fuzzer
			// spends minutes shrinking them.
			return
		}
		// Nothing may panic, whatever the input.
		m, err := Parse(strings.NewReader(line))
		if err == nil {
			m.Match(name, isDir)
		}
		p := parsePattern(line, nil)
		_ = checkGlob(p.glob)
		p.match(name, isDir)

		var parts []string
		for _, e := range strings.Split(name, "/") {
			if e == "" || e == "." || e == ".." {
				continue
			}
			for i := 0; i < len(e); i++ {
				if e[i] < ' ' || e[i] > '~' {
					return
				}
			}
			parts = append(parts, e)
		}
		if len(parts) == 0 || strings.ContainsAny(line, "\n\r") || !goGitAgrees(line) {
			return
		}
		compareWithGoGit(t, line, nil, parts, isDir)
		compareWithGoGit(t, line, []string{parts[0]}, parts, isDir)
	})
}
