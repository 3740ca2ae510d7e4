package ignore

import (
	"os"
	"path/filepath"
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

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCode(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".gitignore", "*.ckpt\n/data/\nbuild/\n")
	write(t, dir, "src/.gitignore", "generated.py\n!keep.ckpt\n")
	write(t, dir, "data/.gitignore", "!*\n") // inside an ignored folder: never read
	write(t, dir, ".naiignore", "!.venv/\nnotes.txt\n")
	m, err := LoadCode(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		dir  bool
		want bool
	}{
		{"train.py", false, false},
		{".git", true, true},
		{".git/config", false, true},
		{"sub/.git", false, true},
		{"pkg/__pycache__", true, true},
		{".venv", true, false}, // brought back by .naiignore
		{"model.ckpt", false, true},
		{"src/keep.ckpt", false, false}, // re-included below src
		{"keep.ckpt", false, true},      // but not above it
		{"src/generated.py", false, true},
		{"generated.py", false, false},
		{"data", true, true},
		{"data/x.csv", false, true},
		{"src/data", true, false}, // anchored at the top
		{"a/build", true, true},
		{"notes.txt", false, true},
		{".gitignore", false, false},
	}
	for _, tc := range tests {
		if got := m.Match(tc.path, tc.dir); got != tc.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", tc.path, tc.dir, got, tc.want)
		}
	}
}

func TestLoadCodeBadPattern(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "src/.gitignore", "ok\n[abc\n")
	if _, err := LoadCode(dir); err == nil || !strings.Contains(err.Error(), ".gitignore: line 2") {
		t.Errorf("LoadCode with a bad pattern: %v, want an error naming the file and line 2", err)
	}
}

func TestLoadIgnoresGitignore(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".gitignore", "*.csv\n")
	m, err := Load(dir)
	if err != nil || m.Match("a.csv", false) || m.Match(".git", true) {
		t.Errorf("Load (datasets) honoured .gitignore or the code defaults: %v", err)
	}
}

// What nai writes into a code folder is left out by default: the folders
// `nai job outputs` unpacks into, and the extra patterns the CLI gives
// (a job's log files); the .naiignore can bring them back.
func TestLoadCodeLeavesOutNaisOwn(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".naiignore", "!/keep-12.out\n")
	m, err := LoadCode(dir, "/slurm-*.out", "/keep-*.out")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		dir  bool
		want bool
	}{
		{"job-12-outputs", true, true},
		{"job-12_3-outputs/model.pt", false, true},
		{"job-12-rank-1-outputs", true, true},
		{"job-12-outputs", false, false}, // a file of that name is no outputs folder
		{"slurm-12.out", false, true},
		{"sub/slurm-12.out", false, false}, // anchored
		{"keep-12.out", false, false},      // brought back
		{"train.py", false, false},
	} {
		if got := m.Match(tc.path, tc.dir); got != tc.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", tc.path, tc.dir, got, tc.want)
		}
	}
}
