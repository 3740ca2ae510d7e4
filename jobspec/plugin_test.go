package jobspec

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

const splitPlugin = `plugin "split" {
  version     = "1.0.0"
  kind        = "dataset"
  description = "split files"
}

variable "fraction" {
  type        = number
  default     = 0.8
  description = "share for train"
}

variable "seed" {
  type    = number
  default = 0
}

job "split" {
  resources {
    cpu    = 1
    memory = "512MiB"
  }
  task {
    command = "python3"
    args    = ["split.py", "--fraction", var.fraction, "--seed", var.seed]
  }
}
`

func TestParsePlugin(t *testing.T) {
	p, err := ParsePlugin("split/plugin.hcl", []byte(splitPlugin), Options{Vars: map[string]string{"seed": "7"}, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	wantSpec := structs.PluginSpec{Name: "split", Version: "1.0.0", Kind: structs.PluginDataset, Description: "split files",
		Variables: []structs.PluginVariable{
			{Name: "fraction", Type: "number", Default: "0.8", Description: "share for train"},
			{Name: "seed", Type: "number", Default: "0"},
		}}
	if d := cmp.Diff(wantSpec, p.Spec); d != "" {
		t.Errorf("spec (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"fraction": "0.8", "seed": "7"}, p.Values); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
	if got, want := p.Job.Task.Args, []string{"split.py", "--fraction", "0.8", "--seed", "7"}; !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
	if p.Job.Name != "split" || p.Job.Resources.MemoryBytes != 512<<20 || p.Job.Code != "" {
		t.Errorf("job %+v", p.Job)
	}
}

// CheckPlugin builds the template only when every variable has a value.
func TestCheckPluginRequiredVariable(t *testing.T) {
	src := strings.Replace(splitPlugin, "default     = 0.8\n", "", 1)
	p, err := CheckPlugin("plugin.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Job != nil || !p.Spec.Variables[0].Required {
		t.Errorf("check of a plugin with a required variable: job %v, variables %+v", p.Job, p.Spec.Variables)
	}
	_, err = ParsePlugin("plugin.hcl", []byte(src), Options{})
	if err == nil || !strings.Contains(err.Error(), `Variable "fraction" has no default`) {
		t.Errorf("run without the required variable: %v", err)
	}
	p, err = ParsePlugin("plugin.hcl", []byte(src), Options{Vars: map[string]string{"fraction": "0.5"}})
	if err != nil || p.Job.Task.Args[2] != "0.5" {
		t.Errorf("run with it: %v", err)
	}
}

func TestPluginBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		vars map[string]string
		want string // in the error, which starts with file:line:col
	}{
		{"syntax error", strings.Replace(splitPlugin, `kind        = "dataset"`, `kind        = "dataset`, 1), nil, "plugin.hcl:3:"},
		{"missing plugin block", splitPlugin[strings.Index(splitPlugin, "variable"):], nil, "Missing plugin block"},
		{"missing job", splitPlugin[:strings.Index(splitPlugin, "job ")], nil, "Missing job block"},
		{"unknown kind", strings.Replace(splitPlugin, `"dataset"`, `"datset"`, 1), nil, `plugin.hcl:3:17: Invalid plugin kind; "datset" is not a plugin kind: expected "dataset" (makes a dataset version), "job" or "service". Did you mean "dataset"?`},
		{"numeric version", strings.Replace(splitPlugin, `"1.0.0"`, `"2"`, 1), nil, `plugin.hcl:2:17: Invalid plugin version; version "2" is a plain number`},
		{"no version", strings.Replace(splitPlugin, `version     = "1.0.0"`, ``, 1), nil, `Missing required argument; The argument "version" is required`},
		{"bad name", strings.Replace(splitPlugin, `plugin "split"`, `plugin "no way"`, 1), nil, `plugin.hcl:1:8: Invalid plugin name`},
		{"code", strings.Replace(splitPlugin, "job \"split\" {\n", "job \"split\" {\n  code = \"./src\"\n", 1), nil, "plugin.hcl:19:3: Code in a plugin template"},
		{"sweep", strings.Replace(splitPlugin, "job \"split\" {\n", "job \"split\" {\n  sweep {\n    lr = [1, 2]\n  }\n", 1), nil, "Sweep in a plugin template"},
		{"wrong variable type", splitPlugin, map[string]string{"fraction": "most"}, `<value for var.fraction>:1:1: Invalid -var value; -var fraction=most: variable "fraction" has type number`},
		{"undeclared variable", splitPlugin, map[string]string{"seeds": "1"}, `-var seeds=... sets a variable the job file does not declare. Did you mean "seed"?`},
		{"model output of a dataset plugin", strings.Replace(splitPlugin, "  resources {", "  output {\n    model = \"m\"\n  }\n  resources {", 1), nil, "Model output in a dataset plugin"},
		{"two plugin blocks", splitPlugin + "plugin \"x\" {\n version = \"1.0\"\n kind = \"job\"\n}\n", nil, "Duplicate plugin block"},
		{"default of the wrong type", strings.Replace(splitPlugin, "default     = 0.8", `default     = "lots"`, 1), nil, "plugin.hcl:9:17: Invalid value; Expected a value of type number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePlugin("plugin.hcl", []byte(tc.src), Options{Vars: tc.vars, Now: testNow})
			var de *DiagError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want a *DiagError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%s\nwant it to contain:\n%s", err, tc.want)
			}
			if err := de.Format(io.Discard, 80, false); err != nil {
				t.Errorf("format: %v", err)
			}
		})
	}
}

// The plugins that ship with nai parse, with their defaults, into valid
// jobs that carry no code of their own.
func TestShippedPlugins(t *testing.T) {
	dirs, err := filepath.Glob("../examples/plugins/*/" + PluginFile)
	if err != nil || len(dirs) < 3 {
		t.Fatalf("found %v (%v), want the three shipped plugins", dirs, err)
	}
	for _, path := range dirs {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := CheckPlugin(path, src)
			if err != nil {
				t.Fatal(err)
			}
			if p.Spec.Name != filepath.Base(filepath.Dir(path)) {
				t.Errorf("plugin %q lives in folder %q", p.Spec.Name, filepath.Dir(path))
			}
			if p.Job == nil {
				t.Fatal("every shipped plugin has defaults for all its variables")
			}
			if err := p.Job.Validate(); err != nil {
				t.Error(err)
			}
			for _, v := range p.Spec.Variables {
				if v.Description == "" {
					t.Errorf("variable %s has no description", v.Name)
				}
			}
		})
	}
}

// FuzzParsePlugin checks that no plugin.hcl makes the parser panic and that
// every failure is a *DiagError. Run it with -fuzzminimizetime 10x: with
// the default, the first minutes go to minimizing inputs grown from the
// shipped plugins, a few thousand bytes each. (It found numbers too large
// to write as decimals: numguard.go.)
func FuzzParsePlugin(f *testing.F) {
	f.Add([]byte(splitPlugin))
	files, _ := filepath.Glob("../examples/plugins/*/" + PluginFile)
	for _, path := range files {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, check := range []bool{false, true} {
			p, err := parsePlugin("fuzz.hcl", src, Options{Now: testNow}, check)
			if err != nil {
				var de *DiagError
				if !errors.As(err, &de) || len(de.Diags) == 0 {
					t.Fatalf("error is %T %v, want a *DiagError with diagnostics", err, err)
				}
				_ = de.Format(io.Discard, 80, false)
				continue
			}
			if err := p.Spec.Validate(); err != nil {
				t.Fatalf("returned spec does not validate: %v", err)
			}
			if p.Job != nil {
				if err := p.Job.Validate(); err != nil {
					t.Fatalf("returned job does not validate: %v", err)
				}
			}
		}
	})
}
