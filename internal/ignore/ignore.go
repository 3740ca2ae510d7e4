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
)

// FileName is the name of the ignore file at the top of a folder.
const FileName = ".naiignore"

type rule struct {
	segs     []string
	negate   bool
	dirOnly  bool
	anchored bool
}

// Matcher decides which paths are ignored. The zero value (and a nil
// *Matcher) ignores nothing.
type Matcher struct {
	rules []rule
}

// Parse reads patterns in .gitignore syntax. A malformed pattern is an
// error naming its line.
func Parse(r io.Reader) (*Matcher, error) {
	m := &Matcher{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var ru rule
		if strings.HasPrefix(line, "!") {
			ru.negate, line = true, line[1:]
		} else if strings.HasPrefix(line, `\!`) || strings.HasPrefix(line, `\#`) {
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			ru.dirOnly, line = true, strings.TrimRight(line, "/")
		}
		if strings.Contains(line, "/") {
			ru.anchored = true
			line = strings.TrimPrefix(line, "/")
		}
		if line == "" {
			return nil, fmt.Errorf("line %d: empty pattern", n)
		}
		ru.segs = strings.Split(line, "/")
		for _, s := range ru.segs {
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("line %d: bad pattern %q: %w", n, sc.Text(), err)
			}
		}
		m.rules = append(m.rules, ru)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ignore patterns: %w", err)
	}
	return m, nil
}

// Load reads dir/.naiignore; a folder without one ignores nothing.
func Load(dir string) (*Matcher, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return &Matcher{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, FileName), err)
	}
	return m, nil
}

// Match reports whether rel (slash-separated, relative to the folder) is
// ignored, itself or through an ignored parent directory.
func (m *Matcher) Match(rel string, isDir bool) bool {
	if m == nil || len(m.rules) == 0 {
		return false
	}
	rel = strings.Trim(path.Clean("/"+rel), "/")
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		if m.matchOne(parts[:i], true) {
			return true
		}
	}
	return m.matchOne(parts, isDir)
}

func (m *Matcher) matchOne(parts []string, isDir bool) bool {
	ignored := false
	for _, r := range m.rules {
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			ok = matchSegs(r.segs, parts)
		} else {
			ok, _ = path.Match(r.segs[0], parts[len(parts)-1])
		}
		if ok {
			ignored = !r.negate
		}
	}
	return ignored
}

// matchSegs matches pattern segments against path segments; "**" stands
// for any number of segments.
func matchSegs(p, s []string) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	if p[0] == "**" {
		for i := 0; i <= len(s); i++ {
			if matchSegs(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	if len(s) == 0 {
		return false
	}
	if ok, _ := path.Match(p[0], s[0]); !ok {
		return false
	}
	return matchSegs(p[1:], s[1:])
}
