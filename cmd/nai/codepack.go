package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/ignore"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// biggestFiles names the n largest files packCode would take, for the
// message that refuses a folder over the limit.
func biggestFiles(dir string, m *ignore.Matcher, n int) string {
	type file struct {
		name string
		size int64
	}
	var files []file
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		if m.Match(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			files = append(files, file{filepath.ToSlash(rel), info.Size()})
		}
		return nil
	})
	slices.SortFunc(files, func(a, b file) int { return cmp.Compare(b.size, a.size) })
	var parts []string
	for _, f := range files[:min(n, len(files))] {
		parts = append(parts, fmt.Sprintf("%s (%s)", f.name, structs.FormatSize(f.size)))
	}
	return strings.Join(parts, ", ")
}

// jobMetricsAll prints every metrics line a job wrote, in order.
func jobMetricsAll(c *cli.Context, cl *api.Client, id string) error {
	m, err := cl.MetricsHistory(c.Context, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, m)
	}
	defer printMetricNotes(c.App.ErrWriter, m)
	if len(m.History) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "Job %s has no metric history (it is kept when the job ends).\n", id)
		return nil
	}
	for _, line := range m.History {
		var obj map[string]any
		if json.Unmarshal(line, &obj) != nil {
			continue
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range obj {
				if !yield(k) {
					return
				}
			}
		})
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, jobtext.Printable(k)+"="+historyValue(obj[k]))
		}
		fmt.Fprintln(c.App.Writer, strings.Join(parts, " "))
	}
	return nil
}

// historyValue is one value of a metrics line as -all prints it: numbers
// and text as they are (text made printable), anything nested as its JSON
// ({"a":1}, not Go's map[a:1]).
func historyValue(v any) string {
	switch x := v.(type) {
	case string:
		return jobtext.Printable(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', -1, 64) // a step of 1000000, not 1e+06
		}
		return formatFloat(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return jobtext.Printable(string(b))
}
