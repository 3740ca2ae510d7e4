package ignore

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	const patterns = `
# comment
*.pyc
__pycache__/
/data
build/out
docs/**/*.tmp
logs/
!logs/keep.txt
*.log
!important.log
\#notes
.venv/
`
	m, err := Parse(strings.NewReader(patterns))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		dir   bool
		want  bool
		about string
	}{
		{"train.py", false, false, "not listed"},
		{"a.pyc", false, true, "unanchored glob at the top"},
		{"pkg/sub/a.pyc", false, true, "unanchored glob at any depth"},
		{"pkg/__pycache__", true, true, "directory pattern"},
		{"__pycache__", false, false, "directory pattern does not match a file"},
		{"pkg/__pycache__/x.py", false, true, "inside an ignored directory"},
		{"data", true, true, "anchored at the top"},
		{"sub/data", true, false, "anchored pattern elsewhere"},
		{"build/out", false, true, "pattern with a slash in the middle is anchored"},
		{"x/build/out", false, false, "anchored: not below the top"},
		{"docs/a/b/c.tmp", false, true, "double star"},
		{"docs/c.tmp", false, true, "double star matches zero directories"},
		{"logs/keep.txt", false, true, "cannot re-include inside an ignored directory"},
		{"app.log", false, true, "glob"},
		{"important.log", false, false, "negated later"},
		{"#notes", false, true, "escaped hash"},
		{".venv/bin/python", false, true, "virtual environment"},
	}
	for _, tt := range tests {
		t.Run(tt.about, func(t *testing.T) {
			if got := m.Match(tt.path, tt.dir); got != tt.want {
				t.Errorf("Match(%q, dir=%v) = %v, want %v", tt.path, tt.dir, got, tt.want)
			}
		})
	}
}

func TestNilMatcherIgnoresNothing(t *testing.T) {
	var m *Matcher
	if m.Match("a", false) {
		t.Error("nil matcher ignored a path")
	}
}

func TestParseErrors(t *testing.T) {
	for _, p := range []string{"[abc", "/", "!/"} {
		if _, err := Parse(strings.NewReader("ok\n" + p + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Parse(%q) = %v, want an error on line 2", p, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	m, err := Load(t.TempDir())
	if err != nil || m.Match("anything", false) {
		t.Errorf("Load of a folder without %s: %v", FileName, err)
	}
}
