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
	"slices"
	"strings"
)

// FileName is the name of the ignore file at the top of a folder.
const FileName = ".naiignore"

// GitFileName is git's ignore file; code folders honour every one of them.
const GitFileName = ".gitignore"

// CodeDefaults are left out of every code folder before any ignore file is
// read: version-control metadata, bytecode caches and virtual
// environments are never code a job needs, nor are the folders `nai job
// outputs` unpacks a job's outputs into by default (job-ID-outputs,
// job-ID-rank-N-outputs). A .naiignore line such as "!.venv/" brings one
// back.
var CodeDefaults = []string{".git", ".hg/", ".svn/", "__pycache__/", ".venv/", "job-*-outputs/"}

// Matcher decides which paths are ignored. The zero value (and a nil
// *Matcher) ignores nothing.
type Matcher struct {
	// patterns, lowest priority first: the last one that matches a path
	// decides.
	patterns []pattern
}

func newMatcher(ps []pattern) *Matcher {
	return &Matcher{patterns: ps}
}

// pattern is one line of an ignore file, as git reads it.
type pattern struct {
	// domain is the folder of the file the pattern comes from, relative
	// to the top with a trailing "/", or "" for the top: the pattern
	// applies to the paths below it and is matched against what follows.
	domain string
	// glob is the pattern without its "!", its trailing "/" and, when
	// anchored, its leading "/", matched with wildmatch.
	glob string
	// negate: a "!" line, which brings back what an earlier one left out.
	negate bool
	// dirOnly: a trailing "/", which matches directories only.
	dirOnly bool
	// basename: no "/" (a trailing one aside), so the pattern matches the
	// last element of a path at any depth below domain. Otherwise it is
	// anchored to domain and matched against the whole rest of the path.
	basename bool
}

// parsePattern reads one line, already stripped of its trailing spaces and
// known to be neither blank nor a comment, as git's parse_path_pattern
// does. domain is the folder of its file, as path segments.
func parsePattern(line string, domain []string) pattern {
	var p pattern
	if len(domain) > 0 {
		p.domain = strings.Join(domain, "/") + "/"
	}
	if strings.HasPrefix(line, "!") {
		p.negate = true
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		p.dirOnly = true
		line = line[:len(line)-1]
	}
	if strings.Contains(line, "/") {
		line = strings.TrimPrefix(line, "/")
	} else {
		p.basename = true
	}
	p.glob = line
	return p
}

// match reports whether the pattern matches name (slash-separated,
// relative to the top, cleaned), itself and not through a parent.
func (p *pattern) match(name string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	if len(name) <= len(p.domain) || !strings.HasPrefix(name, p.domain) {
		return false
	}
	rel := name[len(p.domain):]
	if p.basename {
		rel = rel[strings.LastIndexByte(rel, '/')+1:]
	}
	return wildmatch(p.glob, rel)
}

// trimTrailingSpaces drops the spaces at the end of a line, but not one
// escaped with a backslash (nor any before it), as git's
// trim_trailing_spaces does. Tabs stay, as in git.
func trimTrailingSpaces(s string) string {
	lastSpace := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if lastSpace < 0 {
				lastSpace = i
			}
		case '\\':
			i++
			if i >= len(s) {
				return s
			}
			lastSpace = -1
		default:
			lastSpace = -1
		}
	}
	if lastSpace >= 0 {
		return s[:lastSpace]
	}
	return s
}

// readPatterns reads patterns in .gitignore syntax that apply below domain
// (the folder holding the file, as path segments). Comments and blank
// lines are skipped; a pattern that can never match (an empty one, a bad
// bracket expression, a backslash at the end) is an error naming its
// line, where git would ignore it silently.
func readPatterns(r io.Reader, domain []string) ([]pattern, error) {
	var ps []pattern
	sc := bufio.NewScanner(r) // drops "\r" before "\n", as git does
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := raw
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF") // a UTF-8 byte order mark
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = trimTrailingSpaces(line)
		if line == "" {
			continue
		}
		body := strings.TrimPrefix(line, "!")
		if strings.Trim(body, "/") == "" {
			return nil, fmt.Errorf("line %d: empty pattern %q", n, raw)
		}
		p := parsePattern(line, domain)
		if err := checkGlob(p.glob); err != nil {
			return nil, fmt.Errorf("line %d: bad pattern %q: %w", n, raw, err)
		}
		ps = append(ps, p)
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
func readFile(name string, domain []string) ([]pattern, error) {
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
//
// extra are more patterns with the defaults' priority, for what nai
// itself writes into the folder (a job's log files): a .gitignore or the
// .naiignore can bring them back.
func LoadCode(dir string, extra ...string) (*Matcher, error) {
	var base []pattern
	for _, p := range append(slices.Clone(CodeDefaults), extra...) {
		base = append(base, parsePattern(p, nil))
	}
	top, err := readFile(filepath.Join(dir, FileName), nil)
	if err != nil {
		return nil, err
	}
	var git []pattern
	// combined is the matcher known so far, used to skip ignored folders
	// while looking for more .gitignore files.
	combined := func() *Matcher {
		ps := append(append(append([]pattern{}, base...), git...), top...)
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
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && m.excluded(rel[:i], true) {
			return true
		}
	}
	return m.excluded(rel, isDir)
}

// excluded reports whether the last pattern that matches name itself
// leaves it out. Match adds the parent directories.
func (m *Matcher) excluded(name string, isDir bool) bool {
	for i := len(m.patterns) - 1; i >= 0; i-- {
		if p := &m.patterns[i]; p.match(name, isDir) {
			return !p.negate
		}
	}
	return false
}
