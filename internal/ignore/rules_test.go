package ignore

import (
	"strings"
	"testing"
)

// pathCase is one path checked against a set of patterns.
type pathCase struct {
	path string
	dir  bool
	want bool
}

// The rules of gitignore(5), one group each, checked through Parse and
// Match as the packer uses them.
func TestGitignoreRules(t *testing.T) {
	tests := []struct {
		rule     string
		patterns string
		paths    []pathCase
	}{
		{"blank lines and comments match nothing", "\n\n# a comment\n   \n#*\n", []pathCase{
			{"a", false, false}, {"# a comment", false, false}, {"#x", false, false},
		}},
		{"a hash not at the start is a character", "a#b\n", []pathCase{
			{"a#b", false, true}, {"a", false, false},
		}},
		{`\# starts a pattern with a hash`, `\#notes` + "\n", []pathCase{
			{"#notes", false, true}, {"notes", false, false}, {"sub/#notes", false, true},
		}},
		{`\! starts a pattern with "!", not a negation`, "*.txt\n" + `\!keep.txt` + "\n", []pathCase{
			{"!keep.txt", false, true}, {"keep.txt", false, true}, {"a.txt", false, true},
		}},
		{"trailing spaces are dropped", "a  \n", []pathCase{
			{"a", false, true}, {"a ", false, false}, {"a  ", false, false},
		}},
		{"an escaped trailing space stays", `a\ ` + "\n" + `b\  ` + "\n", []pathCase{
			{"a ", false, true}, {"a", false, false}, {"b ", false, true}, {"b", false, false}, {"b  ", false, false},
		}},
		{"spaces inside a pattern stay", "my file\n", []pathCase{
			{"my file", false, true}, {"my", false, false},
		}},
		{"a trailing tab stays, as in git", "a\t\n", []pathCase{
			{"a\t", false, true}, {"a", false, false},
		}},
		{"CRLF line ends", "a\r\nb\r\n", []pathCase{
			{"a", false, true}, {"b", false, true}, {"a\r", false, false},
		}},
		{"a byte order mark at the start is not part of the pattern", "\uFEFFa\n", []pathCase{
			{"a", false, true},
		}},
		{"negation: the last matching line wins", "*.log\n!keep.log\n", []pathCase{
			{"x.log", false, true}, {"keep.log", false, false}, {"d/keep.log", false, false},
		}},
		{"negation before the pattern it would undo does nothing", "!keep.log\n*.log\n", []pathCase{
			{"keep.log", false, true},
		}},
		{"nothing below an excluded directory comes back", "build/\n!build/keep\n!keep2\n", []pathCase{
			{"build", true, true}, {"build/keep", false, true}, {"build/keep2", false, true},
		}},
		{"but the contents of a directory can be excluded and some brought back", "build/*\n!build/keep\n", []pathCase{
			{"build", true, false}, {"build/x", false, true}, {"build/keep", false, false}, {"build/keep/x", false, false},
		}},
		{"a negated directory does not bring back what a later line leaves out", "*.txt\n!docs/\n", []pathCase{
			{"docs", true, false}, {"docs/a.txt", false, true},
		}},
		{"a negated pattern brings back only what it matches, not below", "*.txt\n!/docs\n", []pathCase{
			{"docs/a.txt", false, true}, {"docs", true, false},
		}},
		{"no slash: the name at any depth", "foo\n", []pathCase{
			{"foo", false, true}, {"a/foo", false, true}, {"a/b/foo", true, true}, {"a/foo/x", false, true}, {"foobar", false, false},
		}},
		{"a leading slash anchors to the top", "/foo\n", []pathCase{
			{"foo", false, true}, {"foo", true, true}, {"a/foo", false, false}, {"foo/x", false, true},
		}},
		{"a middle slash anchors too", "a/b\n", []pathCase{
			{"a/b", false, true}, {"x/a/b", false, false}, {"a/b/c", false, true}, {"a", true, false},
		}},
		{"a trailing slash: directories only", "out/\n", []pathCase{
			{"out", true, true}, {"out", false, false}, {"x/out", true, true}, {"x/out", false, false}, {"out/f", false, true},
		}},
		{"a trailing slash with a middle one", "a/out/\n", []pathCase{
			{"a/out", true, true}, {"a/out", false, false}, {"b/a/out", true, false},
		}},
		{"star", "*.c\n", []pathCase{
			{"x.c", false, true}, {".c", false, true}, {"d/x.c", false, true}, {"x.cc", false, false},
		}},
		{"star does not match a slash", "a/*.c\n", []pathCase{
			{"a/x.c", false, true}, {"a/b/x.c", false, false}, {"a/.c", false, true},
		}},
		{"star alone", "*\n!keep\n", []pathCase{
			{"x", false, true}, {"keep", false, false}, {"d", true, true},
		}},
		{"question mark", "a?c\nd/?\n", []pathCase{
			{"abc", false, true}, {"ac", false, false}, {"abbc", false, false}, {"d/x", false, true}, {"d/xy", false, false},
		}},
		{"question mark does not match a slash", "x/a?c\n", []pathCase{
			{"x/abc", false, true}, {"x/a/c", false, false},
		}},
		{"question mark matches one byte, as in git", "?\n", []pathCase{
			{"a", false, true}, {"é", false, false},
		}},
		{"bracket expression", "[abc].txt\n", []pathCase{
			{"a.txt", false, true}, {"d.txt", false, false}, {"ab.txt", false, false},
		}},
		{"range", "[a-c]x\n", []pathCase{
			{"bx", false, true}, {"cx", false, true}, {"dx", false, false},
		}},
		{"negated with !", "[!a]x\n", []pathCase{
			{"bx", false, true}, {"ax", false, false}, {"!x", false, true},
		}},
		{"negated with ^", "[^a-c]x\n", []pathCase{
			{"dx", false, true}, {"bx", false, false},
		}},
		{"] first is a member", "[]a]x\n[!]]y\n", []pathCase{
			{"]x", false, true}, {"ax", false, true}, {"bx", false, false}, {"]y", false, false}, {"zy", false, true},
		}},
		{"- first or last is a member", "[-a]x\n[b-]y\n", []pathCase{
			{"-x", false, true}, {"ax", false, true}, {"-y", false, true}, {"by", false, true}, {"cy", false, false},
		}},
		{"a range ends a run", "[a-c-e]x\n", []pathCase{
			{"bx", false, true}, {"-x", false, true}, {"ex", false, true}, {"dx", false, false},
		}},
		{"escapes in a class", `[\]]x` + "\n" + `[a\-c]y` + "\n", []pathCase{
			{"]x", false, true}, {"-y", false, true}, {"by", false, false},
		}},
		{"a high-to-low range matches nothing (its first end is a member, as in git)", "[z-a]x\n[y-ab]y\n", []pathCase{
			{"mx", false, false}, {"ax", false, false}, {"zx", false, true}, {"by", false, true}, {"yy", false, true}, {"my", false, false},
		}},
		{"POSIX classes", "[[:digit:]]x\n[[:upper:][:punct:]]y\n", []pathCase{
			{"1x", false, true}, {"ax", false, false}, {"Ay", false, true}, {"_y", false, true}, {"ay", false, false},
		}},
		{"a [: without :] is a plain [", "[[:a]x\n", []pathCase{
			{"[x", false, true}, {":x", false, true}, {"ax", false, true}, {"bx", false, false},
		}},
		{"a class never matches a slash", "a[/]b\na[!x]c\n", []pathCase{
			{"a/b", false, false}, {"a/c", false, false}, {"ayc", false, true},
		}},
		{"leading **/ matches in every directory", "**/foo\n", []pathCase{
			{"foo", false, true}, {"a/foo", false, true}, {"a/b/foo", false, true}, {"foox", false, false},
		}},
		{"leading **/ with more after it", "**/foo/bar\n", []pathCase{
			{"foo/bar", false, true}, {"a/foo/bar", false, true}, {"a/foo/b/bar", false, false}, {"foo/foo/bar", false, true},
		}},
		{"trailing /** matches everything inside, not the directory", "abc/**\n!abc/keep\n", []pathCase{
			{"abc", true, false}, {"abc/x", false, true}, {"abc/x/y", false, true}, {"abc/keep", false, false}, {"x/abc/y", false, false},
		}},
		{"/**/ matches zero or more directories", "a/**/b\n", []pathCase{
			{"a/b", false, true}, {"a/x/b", false, true}, {"a/x/y/b", false, true}, {"a/xb", false, false}, {"x/a/b", false, false},
		}},
		{"/**/ backtracks", "a/**/b/c\n", []pathCase{
			{"a/b/x/b/c", false, true}, {"a/b/c", false, true}, {"a/b/x/c", false, false},
		}},
		{"** not a whole element is a star", "a**b\nx/y**\n", []pathCase{
			{"ab", false, true}, {"axxb", false, true}, {"x/yz", false, true}, {"x/y/z", false, true}, {"x/yz/w", false, true},
		}},
		{"** not a whole element does not cross a slash", "x/a**b\n", []pathCase{
			{"x/ab", false, true}, {"x/a/b", false, false},
		}},
		{"*** as a whole element is **", "a/***/b\n", []pathCase{
			{"a/b", false, true}, {"a/x/y/b", false, true},
		}},
		{"** alone matches everything", "**\n", []pathCase{
			{"a", false, true}, {"a/b", false, true},
		}},
		{"a backslash escapes a glob character", `\*.c` + "\n" + `a\?` + "\n", []pathCase{
			{"*.c", false, true}, {"x.c", false, false}, {"a?", false, true}, {"ab", false, false},
		}},
		{"dot files are not special", "*\n", []pathCase{
			{".hidden", false, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.patterns))
			if err != nil {
				t.Fatal(err)
			}
			for _, pc := range tt.paths {
				if got := m.Match(pc.path, pc.dir); got != pc.want {
					t.Errorf("patterns %q: Match(%q, dir=%v) = %v, want %v", tt.patterns, pc.path, pc.dir, got, pc.want)
				}
			}
		})
	}
}

// Patterns in a .gitignore below the top are relative to its folder.
func TestNestedGitignore(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".gitignore", "*.tmp\n")
	write(t, dir, "sub/.gitignore", "/x\ny/z\n*.o\nd/\n!keep.tmp\n**/deep\n")
	write(t, dir, "sub/inner/.gitignore", "!*.o\n")
	m, err := LoadCode(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range []pathCase{
		{"sub/x", false, true},
		{"x", false, false},
		{"sub/a/x", false, false},
		{"sub/y/z", false, true},
		{"y/z", false, false},
		{"sub/a/y/z", false, false},
		{"sub/a/b.o", false, true},
		{"b.o", false, false},
		{"sub/inner/b.o", false, false}, // a deeper file wins
		{"sub/d", true, true},
		{"sub/d", false, false},
		{"d", true, false},
		{"sub/keep.tmp", false, false},
		{"keep.tmp", false, true},
		{"sub/deep", false, true},
		{"sub/a/b/deep", false, true},
		{"deep", false, false},
		{"sub", true, false}, // a file's patterns are for what is below its folder
	} {
		if got := m.Match(pc.path, pc.dir); got != pc.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", pc.path, pc.dir, got, pc.want)
		}
	}
}

// Patterns that can never match are errors; some that Go's path.Match
// rejects are fine in git.
func TestPatternErrors(t *testing.T) {
	bad := []string{"[", "a[", "[abc", "[!", "[]", "[!]", `a\`, `[a\`, "[[:foo:]]x", "[[:alpha:]", "!", "/", "//", "!/"}
	for _, p := range bad {
		if _, err := Parse(strings.NewReader(p + "\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Parse(%q) = %v, want an error on line 1", p, err)
		}
	}
	good := []string{"[]a]", "[-a]", "[a-]", "[z-a]", "[[:a]", "[!]]", `\[`, `a\ `, "[[:space:]]", "a//b", "**", "***"}
	for _, p := range good {
		if _, err := Parse(strings.NewReader(p + "\n")); err != nil {
			t.Errorf("Parse(%q): %v", p, err)
		}
	}
}

// Cases from git's own tests of wildmatch (t/t3070-wildmatch.sh), with
// WM_PATHNAME as .gitignore uses it: glob, text, match.
func TestWildmatch(t *testing.T) {
	tests := []struct {
		glob, text string
		want       bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"", "", true},
		{"???", "foo", true},
		{"??", "foo", false},
		{"*", "foo", true},
		{"f*", "foo", true},
		{"*f", "foo", false},
		{"*foo*", "foo", true},
		{"*ob*a*r*", "foobar", true},
		{"*ab", "aaaaaaabababab", true},
		{`foo\*`, "foo*", true},
		{`foo\*bar`, "foobar", false},
		{`f\\oo`, `f\oo`, true},
		{"*[al]?", "ball", true},
		{"[ten]", "ten", false},
		{"**[!te]", "ten", true},
		{"**[!ten]", "ten", false},
		{"t[a-g]n", "ten", true},
		{"t[!a-g]n", "ten", false},
		{"t[!a-g]n", "ton", true},
		{"t[^a-g]n", "ton", true},
		{"a[]]b", "a]b", true},
		{"a[]-]b", "a-b", true},
		{"a[]-]b", "a]b", true},
		{"a[]-]b", "aab", false},
		{"a[]a-]b", "aab", true},
		{"]", "]", true},
		{"foo*bar", "foo/baz/bar", false},
		{"foo**bar", "foo/baz/bar", false},
		{"foo**bar", "foobazbar", true},
		{"foo/**/bar", "foo/baz/bar", true},
		{"foo/**/**/bar", "foo/baz/bar", true},
		{"foo/**/bar", "foo/b/a/z/bar", true},
		{"foo/**/bar", "foo/bar", true},
		{"foo/**/**/bar", "foo/bar", true},
		{"foo?bar", "foo/bar", false},
		{"foo[/]bar", "foo/bar", false},
		{"foo[^a-z]bar", "foo/bar", false},
		{"f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "f/////r", false},
		{"f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", true},
		{"**/foo", "foo", true},
		{"**/foo", "XXX/foo", true},
		{"**/foo", "bar/baz/foo", true},
		{"*/foo", "bar/baz/foo", false},
		{"**/bar*", "foo/bar/baz", false},
		{"**/bar/*", "deep/foo/bar/baz", true},
		{"**/bar/*", "deep/foo/bar/baz/", false},
		{"**/bar/**", "deep/foo/bar/baz/", true},
		{"**/bar/*", "deep/foo/bar", false},
		{"**/bar/**", "deep/foo/bar/", true},
		{"**/bar**", "foo/bar/baz", false},
		{"*/bar/**", "deep/foo/bar/baz/x", false},
		{"**/bar/*/*", "deep/foo/bar/baz/x", true},
		{"**/**/*", "deep/foo/bar/baz/x", true},
		{"a/**/**/b", "a/b", true},
		{"*/bar/**", "foo/bar/baz/x", true},
		{"**/*", "XXX/foo", true},
		{"*", "foo/bar", false},
		{"*/*", "foo/bar", true},
		{"[[:alpha:]][[:digit:]][[:upper:]]", "a1B", true},
		{"[[:digit:][:upper:][:space:]]", "a", false},
		{"[[:digit:][:upper:][:space:]]", "A", true},
		{"[[:digit:][:upper:][:space:]]", "1", true},
		{"[[:digit:][:upper:][:spaci:]]", "1", false},
		{"[[:xdigit:]]", "5", true},
		{"[[:xdigit:]]", "f", true},
		{"[[:xdigit:]]", "D", true},
		{"[[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:graph:][:lower:][:print:][:punct:][:space:][:upper:][:xdigit:]]", ".", true},
		{"[a-c[:digit:]x-z]", "5", true},
		{"[a-c[:digit:]x-z]", "b", true},
		{"[a-c[:digit:]x-z]", "y", true},
		{"[a-c[:digit:]x-z]", "q", false},
		{`[\\-^]`, "]", true},
		{`[\\-^]`, "[", false},
		{`[\-_]`, "-", true},
		{`[\]]`, "]", true},
		{`[\]]`, `\]`, false},
		{`[\]]`, `\`, false},
		{"a[]b", "ab", false},
		{"a[]b", "a[]b", false},
		{"ab[", "ab[", false},
		{"[!", "ab", false},
		{"[-", "ab", false},
		{"[-]", "-", true},
		{"[a-", "-", false},
		{"[!a-", "-", false},
		{"[--A]", "-", true},
		{"[--A]", "5", true},
		{"[ --]", " ", true},
		{"[ --]", "$", true},
		{"[ --]", "-", true},
		{"[ --]", "0", false},
		{"[---]", "-", true},
		{"[------]", "-", true},
		{"[a-e-n]", "j", false},
		{"[a-e-n]", "-", true},
		{"[!------]", "a", true},
		{"[]-a]", "[", false},
		{"[]-a]", "^", true},
		{"[!]-a]", "^", false},
		{"[!]-a]", "[", true},
		{"[a^bc]", "^", true},
		{"[a-]b]", "-b]", true},
		{`[\]`, `\`, false},
		{`[\\]`, `\`, true},
		{`[!\\]`, `\`, false},
		{"[A-\\\\]", "G", true},
		{"b*a", "aaabbb", false},
		{"*ba*", "aabcaa", false},
		{"[,]", ",", true},
		{`[\\,]`, ",", true},
		{`[\\,]`, `\`, true},
		{"[,-.]", "-", true},
		{"[,-.]", "+", false},
		{"[,-.]", "-.]", false},
		{`[\1-\3]`, "2", true},
		{`[\1-\3]`, "3", true},
		{`[\1-\3]`, "4", false},
		{`[[-\]]`, `\`, true},
		{`[[-\]]`, "[", true},
		{`[[-\]]`, "]", true},
		{`[[-\]]`, "-", false},
		{"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", true},
		{"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", false},
		{"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1", false},
		{"XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", true},
		{"XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1", false},
		{"**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", true},
		{"**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", false},
		{"*/*/*", "foo", false},
		{"*/*/*", "foo/bar", false},
		{"*/*/*", "foo/bba/arr", true},
		{"*/*/*", "foo/bb/aa/rr", false},
		{"**/**/**", "foo/bb/aa/rr", true},
		{"*X*i", "abcXdefXghi", true},
		{"*X*i", "ab/cXd/efXg/hi", false},
		{"*/*X*/*/*i", "ab/cXd/efXg/hi", true},
		{"**/*X*/**/*i", "ab/cXd/efXg/hi", true},
	}
	for _, tt := range tests {
		if got := wildmatch(tt.glob, tt.text); got != tt.want {
			t.Errorf("wildmatch(%q, %q) = %v, want %v", tt.glob, tt.text, got, tt.want)
		}
	}
}

// Patterns that make git's wildmatch take exponential time finish here in
// time bounded by the lengths of pattern and path, with git's results.
func TestWildmatchPathological(t *testing.T) {
	tests := []struct {
		glob, text string
		want       bool
	}{
		{strings.Repeat("**/", 20) + "x", strings.Repeat("a/", 40) + "y", false},
		{strings.Repeat("**/", 20) + "x", strings.Repeat("a/", 40) + "x", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 80), false},
		{strings.Repeat("**a", 30) + "b", strings.Repeat("a/", 40), false},
		{strings.Repeat("a*/", 20) + "x", strings.Repeat("a/", 40) + "y", false},
	}
	for _, tt := range tests {
		w := wild{pat: tt.glob, text: tt.text}
		if got := w.dowild(0, 0) == wmMatch; got != tt.want {
			t.Errorf("wildmatch(%q, %q) = %v, want %v", tt.glob, tt.text, got, tt.want)
		}
		if bound := memoAfter + (len(tt.glob)+1)*(len(tt.text)+1)*(len(tt.text)+2); w.calls > bound {
			t.Errorf("wildmatch(%q, %q) took %d calls, more than %d", tt.glob, tt.text, w.calls, bound)
		}
	}
}
