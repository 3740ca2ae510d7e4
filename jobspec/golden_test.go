package jobspec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testNow is Options.Now in every golden test, so begin_after durations
// give stable times.
var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// optionsFor reads NAME.flags beside a test file: lines "var name=value"
// and "var-file PATH" (PATH relative to the test file's folder).
func optionsFor(t *testing.T, hclPath string) Options {
	t.Helper()
	opts := Options{Now: testNow}
	f, err := os.Open(strings.TrimSuffix(hclPath, ".hcl") + ".flags")
	if errors.Is(err, os.ErrNotExist) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch kind {
		case "var":
			name, value, _ := strings.Cut(arg, "=")
			if opts.Vars == nil {
				opts.Vars = map[string]string{}
			}
			opts.Vars[name] = value
		case "var-file":
			opts.VarFiles = append(opts.VarFiles, filepath.Join(filepath.Dir(hclPath), arg))
		case "":
		default:
			t.Fatalf("%s.flags: unknown line %q", hclPath, sc.Text())
		}
	}
	return opts
}

// goldenResult is what a valid file's .json golden file holds.
type goldenResult struct {
	CodePath string         `json:"code_path,omitempty"` // relative to the job file's folder
	Sweep    bool           `json:"sweep,omitempty"`
	Jobs     []*structs.Job `json:"jobs"`
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestGoldenValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid test files: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".hcl"), func(t *testing.T) {
			res, err := ParseFile(path, optionsFor(t, path))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			g := goldenResult{Sweep: res.Sweep, Jobs: res.Jobs}
			if res.CodePath != "" {
				if !filepath.IsAbs(res.CodePath) {
					t.Errorf("CodePath %q is not absolute", res.CodePath)
				}
				dir, _ := filepath.Abs(filepath.Dir(path))
				rel, err := filepath.Rel(dir, res.CodePath)
				if err != nil {
					t.Fatal(err)
				}
				g.CodePath = filepath.ToSlash(rel)
			}
			for _, j := range res.Jobs {
				if err := j.Validate(); err != nil {
					t.Errorf("job %d does not validate: %v", j.ArrayIndex, err)
				}
				if j.User != "" {
					t.Errorf("job has user %q; the owner is never in the file", j.User)
				}
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(path, ".hcl")+".json", append(got, '\n'))
		})
	}
}

// generatedInvalid are invalid inputs too large to keep as files.
var generatedInvalid = map[string]func() []byte{
	"too_large": func() []byte {
		src := []byte("job \"big\" {\n  task {\n    command = \"true\"\n  }\n}\n")
		return append(src, bytes.Repeat([]byte("# padding\n"), MaxFileSize/10+1)...)
	},
}

func formatDiags(t *testing.T, err error) []byte {
	t.Helper()
	var de *DiagError
	if !errors.As(err, &de) {
		t.Fatalf("error is a %T, not a *DiagError: %v", err, err)
	}
	if len(de.Diags) == 0 {
		t.Fatal("DiagError with no diagnostics")
	}
	var buf bytes.Buffer
	if err := de.Format(&buf, 100, false); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("--- Error() ---\n")
	buf.WriteString(de.Error())
	buf.WriteString("\n")
	return buf.Bytes()
}

func TestGoldenInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid test files: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".hcl"), func(t *testing.T) {
			res, err := ParseFile(path, optionsFor(t, path))
			if err == nil {
				t.Fatalf("parse succeeded with %d jobs; want diagnostics", len(res.Jobs))
			}
			checkGolden(t, strings.TrimSuffix(path, ".hcl")+".txt", formatDiags(t, err))
		})
	}
	for name, gen := range generatedInvalid {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name+".hcl")
			if err := os.WriteFile(path, gen(), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ParseFile(path, Options{Now: testNow})
			if err == nil {
				t.Fatal("parse succeeded; want diagnostics")
			}
			got := bytes.ReplaceAll(formatDiags(t, err), []byte(path), []byte(name+".hcl"))
			checkGolden(t, filepath.Join("testdata", "invalid", name+".txt"), got)
		})
	}
}
