package jobspec

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nai-project/nai/structs"
)

func mustParse(t *testing.T, src string, opts Options) *Result {
	t.Helper()
	res, err := Parse("test.hcl", []byte(src), opts)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return res
}

func TestSweepOrder(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []map[string]string
	}{
		{
			name: "grid follows the written order, last list fastest",
			src: `job "g" {
  sweep { values = { z = [1, 2], a = ["x", "y"] } }
  task { command = "true" }
}`,
			want: []map[string]string{
				{"z": "1", "a": "x"}, {"z": "1", "a": "y"}, {"z": "2", "a": "x"}, {"z": "2", "a": "y"},
			},
		},
		{
			name: "zip pairs the i-th values",
			src: `job "z" {
  sweep {
    mode   = "zip"
    values = { lr = [0.5, 0.25], on = [true, false] }
  }
  task { command = "true" }
}`,
			want: []map[string]string{{"lr": "0.5", "on": "true"}, {"lr": "0.25", "on": "false"}},
		},
		{
			name: "values from an expression are taken in name order",
			src: `locals { v = { b = [1], a = [2, 3] } }
job "e" {
  sweep { values = local.v }
  task { command = "true" }
}`,
			want: []map[string]string{{"a": "2", "b": "1"}, {"a": "3", "b": "1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustParse(t, tt.src, Options{})
			if !res.Sweep {
				t.Error("Sweep is false")
			}
			var got []map[string]string
			for i, j := range res.Jobs {
				if j.ArrayIndex != i {
					t.Errorf("job %d has ArrayIndex %d", i, j.ArrayIndex)
				}
				for k, v := range j.SweepValues {
					if env := j.Task.Env["NAI_SWEEP_"+strings.ToUpper(k)]; env != v {
						t.Errorf("job %d: env for %s is %q, want %q", i, k, env, v)
					}
				}
				got = append(got, j.SweepValues)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSweepLimit(t *testing.T) {
	// Exactly the limit is fine; one more is refused.
	ok := `job "s" {
  sweep { values = { a = range(100), b = range(100) } }
  task { command = "true" }
}`
	if res := mustParse(t, ok, Options{}); len(res.Jobs) != MaxSweepJobs {
		t.Errorf("got %d jobs, want %d", len(res.Jobs), MaxSweepJobs)
	}
	tooMany := `job "s" {
  sweep {
    mode   = "zip"
    values = { a = flatten([for i in range(11) : range(1000)]) }
  }
  task { command = "true" }
}`
	_, err := Parse("zip.hcl", []byte(tooMany), Options{})
	if err == nil || !strings.Contains(err.Error(), "Sweep too large") {
		t.Errorf("err = %v, want Sweep too large", err)
	}
}

func TestVarPrecedence(t *testing.T) {
	dir := t.TempDir()
	file1 := filepath.Join(dir, "a.vars")
	file2 := filepath.Join(dir, "b.vars")
	if err := os.WriteFile(file1, []byte("n = 1\ns = \"file1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file2, []byte("n = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `variable "n" { type = number }
variable "s" { default = "default" }
variable "l" {
  type    = list(string)
  default = []
}
job "p" {
  description = "${var.n} ${var.s} ${join(",", var.l)}"
  task { command = "true" }
}`
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"later var-file wins", Options{VarFiles: []string{file1, file2}}, "2 file1 "},
		{"-var wins over files", Options{VarFiles: []string{file1, file2}, Vars: map[string]string{"n": "3", "s": "cli"}}, "3 cli "},
		{"typed -var is an HCL value", Options{Vars: map[string]string{"n": "4", "l": `["a", "b"]`}}, "4 default a,b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustParse(t, src, tt.opts)
			if got := res.Jobs[0].Description; got != tt.want {
				t.Errorf("description = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBeginAfter(t *testing.T) {
	src := `job "b" {
  begin_after = "90m"
  task { command = "true" }
}`
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	res := mustParse(t, src, Options{Now: now})
	if want := now.Add(90 * time.Minute); !res.Jobs[0].BeginTime.Equal(want) {
		t.Errorf("BeginTime = %v, want %v", res.Jobs[0].BeginTime, want)
	}
	// A zero Now means the wall clock.
	before := time.Now()
	res = mustParse(t, src, Options{})
	if bt := res.Jobs[0].BeginTime; bt.Before(before.Add(90*time.Minute)) || bt.After(time.Now().Add(90*time.Minute)) {
		t.Errorf("BeginTime = %v, want about now + 90m", bt)
	}
}

func TestCodePath(t *testing.T) {
	src := []byte(`job "c" {
  code = "./src"
  task { command = "true" }
}`)
	dir := t.TempDir()
	res, err := Parse(filepath.Join(dir, "job.hcl"), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "src"); res.CodePath != want {
		t.Errorf("CodePath = %q, want %q", res.CodePath, want)
	}
	if res.Jobs[0].Code != "" {
		t.Errorf("Code = %q; the digest is set by whoever uploads the folder", res.Jobs[0].Code)
	}
	// From standard input, the path is relative to the working directory.
	res, err = Parse(StdinName, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "src"); res.CodePath != want {
		t.Errorf("CodePath from stdin = %q, want %q", res.CodePath, want)
	}
	res = mustParse(t, "job \"n\" {\n  task {\n    command = \"true\"\n  }\n}\n", Options{})
	if res.CodePath != "" {
		t.Errorf("CodePath = %q without code", res.CodePath)
	}
}

func TestParseFileStdin(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("job \"piped\" {\n  task {\n    command = \"true\"\n  }\n}\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })

	res, err := ParseFile("-", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Jobs[0].Name != "piped" {
		t.Errorf("name = %q", res.Jobs[0].Name)
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "nope.hcl"), Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a wrapped not-exist error", err)
	}
}

func TestJSONInput(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    *structs.Job
		wantErr string
	}{
		{
			name: "API object, state dropped",
			src: `  {"id": "17", "name": "from-api", "user": "alice", "status": "failed", "priority": 70,
  "time_limit": "1h", "resources": {"cpu": 0.5, "memory_bytes": 8388608, "gpu": {"count": 2}},
  "task": {"command": "python3", "args": ["t.py"]}, "exit_code": 3, "gpus": [0, 1], "array_id": "9"}`,
			want: &structs.Job{
				Name: "from-api", Priority: 70, Queue: "default", TimeLimit: structs.Duration(time.Hour),
				Resources: structs.Resources{CPU: 0.5, MemoryBytes: 8 << 20, Nodes: 1, GPU: structs.GPURequest{Count: 2}},
				Task:      structs.Task{Command: "python3", Args: []string{"t.py"}},
			},
		},
		{name: "syntax error has a position", src: "{\n  \"name\": \"x\",\n  oops\n}", wantErr: "test.hcl:3:3: Invalid JSON"},
		{name: "unknown field", src: `{"name": "x", "priorty": 3}`, wantErr: `unknown field "priorty"`},
		{name: "wrong type", src: `{"name": "x", "priority": "high"}`, wantErr: `Field "priority" must be a int`},
		{name: "fails validation", src: `{"name": "x", "task": {"command": "a", "script": "b"}}`, wantErr: "task has both command and script"},
		{name: "memory in bytes no task starts in", src: `{"name": "x", "resources": {"memory_bytes": 10}, "task": {"command": "a"}}`, wantErr: "resources.memory 10B is below the 4MiB a task needs"},
		{name: "two objects", src: `{"name": "x", "task": {"command": "a"}} {}`, wantErr: "one job object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse("test.hcl", []byte(tt.src), Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				var de *DiagError
				if !errors.As(err, &de) {
					t.Fatalf("err is %T, not *DiagError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*structs.Job{tt.want}, res.Jobs); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiagErrorText(t *testing.T) {
	src := "job \"x\" {\n  priority = 500\n  task { command = \"true\" }\n}\n"
	_, err := Parse("x.hcl", []byte(src), Options{})
	if err == nil {
		t.Fatal("want an error")
	}
	want := "x.hcl:2:14: Invalid priority; priority must be a whole number from 0 to 100; got 500."
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	var de *DiagError
	errors.As(err, &de)
	var buf bytes.Buffer
	if err := de.Format(&buf, 0, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\x1b[") || !strings.Contains(buf.String(), "priority = ") {
		t.Errorf("colored Format lacks colour or source:\n%s", buf.String())
	}
}

// TestExamples parses every job file and sbatch script under examples/, so
// examples never rot; a script there must not need a warning either.
func TestExamples(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no repository root above the package: %v", err)
	}
	var files []string
	err = filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".hcl") && isJobFile(path) || isSbatchScript(path)) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read examples/: %v", err)
	}
	// A test that finds nothing to check must fail: a moved examples/
	// would otherwise turn it green without parsing a file.
	if len(files) == 0 {
		t.Fatalf("no job files or sbatch scripts under %s", filepath.Join(root, "examples"))
	}
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		t.Run(rel, func(t *testing.T) {
			if filepath.Base(path) == PluginFile {
				// A plugin's template: TestShippedPlugins builds it.
				src, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := CheckPlugin(path, src); err != nil {
					t.Fatal(err)
				}
				return
			}
			res, err := ParseFile(path, Options{})
			if err == nil && len(res.Warnings) > 0 {
				t.Errorf("%s needs warnings: %v", rel, res.Warnings)
			}
			if err != nil {
				var de *DiagError
				if errors.As(err, &de) {
					var buf bytes.Buffer
					de.Format(&buf, 100, false)
					t.Fatalf("%s does not parse:\n%s", rel, buf.String())
				}
				t.Fatal(err)
			}
		})
	}
}

// isSbatchScript tells sbatch scripts from the other shell scripts under
// examples/ (run.sh and friends): it has #SBATCH lines.
func isSbatchScript(path string) bool {
	if !strings.HasSuffix(path, ".sh") {
		return false
	}
	src, err := os.ReadFile(path)
	return err == nil && bytes.Contains(src, []byte("\n#SBATCH"))
}

// isJobFile tells job files from the other HCL files under examples/
// (agent configurations): a job file has a top-level job block. A file
// that does not even parse counts as a job file, so that it fails.
func isJobFile(path string) bool {
	src, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return true
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "job" {
			return true
		}
	}
	return false
}

func TestEmptyInput(t *testing.T) {
	for name, src := range map[string]string{"empty": "", "blank": " \n\t\n", "comment only": "# nothing\n"} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("e.hcl", []byte(src), Options{})
			if err == nil || !strings.Contains(err.Error(), "Missing job block") {
				t.Errorf("err = %v, want Missing job block", err)
			}
		})
	}
}

func TestFunctionPanicHasNoStack(t *testing.T) {
	src := "job \"x\" {\n  description = log(-1, 2)\n  task {\n    command = \"true\"\n  }\n}\n"
	_, err := Parse("x.hcl", []byte(src), Options{})
	if err == nil {
		t.Fatal("want an error")
	}
	if msg := err.Error(); strings.Contains(msg, "goroutine") || !strings.Contains(msg, `"log"`) {
		t.Errorf("error = %q, want the failed call named and no stack trace", msg)
	}
}

func TestParseTimeLimit(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90m", 90 * time.Minute, false},
		{"2h30m", 150 * time.Minute, false},
		{"90", 90 * time.Minute, false},
		{"1:30:00", 90 * time.Minute, false},
		{"1-12:00:00", 36 * time.Hour, false},
		{"UNLIMITED", 0, false},
		{"-1h", 0, true},
		{"bogus", 0, true},
		{"100000h", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseTimeLimit(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseTimeLimit(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCodeDigest(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	res, err := Parse("job.hcl", []byte(`job "x" {
  code = "sha256:`+digest+`"
  task { command = "true" }
}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.CodePath != "" || res.CodeDigest != digest || res.Jobs[0].Code != digest {
		t.Errorf("CodePath %q, CodeDigest %q, job.Code %q; want no path and the digest", res.CodePath, res.CodeDigest, res.Jobs[0].Code)
	}
	_, err = Parse("job.hcl", []byte("job \"x\" {\n  code = \"sha256:abc\"\n  task { command = \"true\" }\n}\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "job.hcl:2:") || !strings.Contains(err.Error(), "64 lower-case hex digits") {
		t.Errorf("a short digest: %v, want an error at job.hcl:2 saying what a digest is", err)
	}
}

// A -var value of the wrong kind says what kind was expected.
func TestVarValueMessages(t *testing.T) {
	src := `variable "epochs" { type = number }
variable "fp16" { type = bool }
variable "lrs" { type = list(number) }
variable "tags" { type = list(string) }
variable "opts" { type = map(string) }
job "v" {
  task { command = "true" }
}
`
	ok := map[string]string{"epochs": "3", "fp16": "true", "lrs": "[0.1]", "tags": `["a"]`, "opts": `{a = "b"}`}
	for _, tc := range []struct{ name, value, want string }{
		{"epochs", "abc", `-var epochs=abc: variable "epochs" has type number: expected a number, such as 3 or 0.001.`},
		{"epochs", "1e", `-var epochs=1e: variable "epochs" has type number: expected a number, such as 3 or 0.001.`},
		{"epochs", `"x"`, `-var epochs="x": variable "epochs" has type number: expected a number, such as 3 or 0.001 (a number is required).`},
		{"fp16", "yes", `-var fp16=yes: variable "fp16" has type bool: expected true or false.`},
		{"lrs", "[fast]", `-var lrs=[fast]: variable "lrs" has type list(number): expected a list of numbers, such as [1, 2], with the strings in it in quotes.`},
		{"tags", "[a, b]", `-var tags=[a, b]: variable "tags" has type list(string): expected a list of strings, such as ["a", "b"], with the strings in it in quotes.`},
		{"opts", "{a = b}", `-var opts={a = b}: variable "opts" has type map(string): expected an object, such as {a = 1, b = "x"}, with the strings in it in quotes.`},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			vars := maps.Clone(ok)
			vars[tc.name] = tc.value
			_, err := Parse("v.hcl", []byte(src), Options{Vars: vars})
			var de *DiagError
			if !errors.As(err, &de) || len(de.Diags) != 1 || de.Diags[0].Detail != tc.want {
				t.Fatalf("error %v\nwant the one message %s", err, tc.want)
			}
		})
	}
	if _, err := Parse("v.hcl", []byte(src), Options{Vars: ok}); err != nil {
		t.Fatalf("good values: %v", err)
	}
}
