package ignore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// FileName is the name of the ignore file at the top of a folder.
const FileName = ".naiignore"

// GitFileName is git's ignore file; code folders honour every one of them.
const GitFileName = ".gitignore"

// CodeDefaults are left out of every code folder before any ignore file is
// read: version-control metadata, bytecode caches and virtual
// environments are never code a job needs. A .naiignore line such as
// "!.venv/" brings one back.
var CodeDefaults = []string{".git", ".hg/", ".svn/", "__pycache__/", ".venv/"}

// Matcher decides which paths are ignored. The zero value (and a nil
// *Matcher) ignores nothing.
type Matcher struct {
	patterns []gitignore.Pattern
	m        gitignore.Matcher
}

func newMatcher(ps []gitignore.Pattern) *Matcher {
	return &Matcher{patterns: ps, m: gitignore.NewMatcher(ps)}
}

// readPatterns reads patterns in .gitignore syntax that apply below domain
// (the folder holding the file, as path segments). Comments and blank
// lines are skipped; a pattern that can never match (an empty one, a bad
// bracket expression) is an error naming its line, where git would ignore
// it silently.
func readPatterns(r io.Reader, domain []string) ([]gitignore.Pattern, error) {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimRight(raw, "\r")
		if !strings.HasSuffix(line, `\ `) {
			line = strings.TrimRight(line, " \t")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		body := strings.TrimPrefix(line, "!")
		body = strings.Trim(body, "/")
		if body == "" {
			return nil, fmt.Errorf("line %d: empty pattern %q", n, raw)
		}
		for _, s := range strings.Split(body, "/") {
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("line %d: bad pattern %q: %w", n, raw, err)
			}
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ignore patterns: %w", err)
	}
	return ps, nil
}

// Parse reads patterns in .gitignore syntax that apply from the top of a
// folder. A malformed pattern is an error naming its line.
func Parse(r io.Reader) (*Matcher, error) {
	ps, err := readPatterns(r, nil)
	if err != nil {
		return nil, err
	}
	return newMatcher(ps), nil
}

// readFile reads one ignore file; a missing file has no patterns.
func readFile(name string, domain []string) ([]gitignore.Pattern, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps, err := readPatterns(f, domain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ps, nil
}

// Load reads dir/.naiignore; a folder without one ignores nothing. This is
// what a dataset or model push honours.
func Load(dir string) (*Matcher, error) {
	ps, err := readFile(filepath.Join(dir, FileName), nil)
	if err != nil {
		return nil, err
	}
	return newMatcher(ps), nil
}

// LoadCode is what a job's code folder honours, lowest priority first:
// CodeDefaults, every .gitignore in the folder (each for the paths below
// its own folder, deeper files winning, as git reads them), then the
// .naiignore at the top, which has the last word. A .gitignore inside an
// ignored folder is not read, as git does not read it either.
// .git/info/exclude and the user's global excludes file are not read:
// they are one person's settings, not the project's.
func LoadCode(dir string) (*Matcher, error) {
	var base []gitignore.Pattern
	for _, p := range CodeDefaults {
		base = append(base, gitignore.ParsePattern(p, nil))
	}
	top, err := readFile(filepath.Join(dir, FileName), nil)
	if err != nil {
		return nil, err
	}
	var git []gitignore.Pattern
	// combined is the matcher known so far, used to skip ignored folders
	// while looking for more .gitignore files.
	combined := func() *Matcher {
		ps := append(append(append([]gitignore.Pattern{}, base...), git...), top...)
		return newMatcher(ps)
	}
	cur := combined()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // an unreadable folder: the packer reports it
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		var domain []string
		if rel != "." {
			if cur.Match(filepath.ToSlash(rel), true) {
				return filepath.SkipDir
			}
			domain = strings.Split(filepath.ToSlash(rel), "/")
		}
		ps, err := readFile(filepath.Join(p, GitFileName), domain)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			git = append(git, ps...)
			cur = combined()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read ignore files of %s: %w", dir, err)
	}
	return cur, nil
}

// Match reports whether rel (slash-separated, relative to the folder) is
// ignored, itself or through an ignored parent directory: as with git,
// nothing inside an ignored directory can be re-included.
func (m *Matcher) Match(rel string, isDir bool) bool {
	if m == nil || len(m.patterns) == 0 {
		return false
	}
	rel = strings.Trim(path.Clean("/"+rel), "/")
	if rel == "" {
		return false
	}
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		if m.m.Match(parts[:i], true) {
			return true
		}
	}
	return m.m.Match(parts, isDir)
}
