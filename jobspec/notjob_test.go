package jobspec

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNotJobFile(t *testing.T) {
	const python = "import os\n\nprint(os.environ['NAI_JOB_ID'])\n"
	tests := []struct {
		name, filename, src string
		want                *NotJobFileError // nil: not this error
		wantMsg             string
		diags               bool // a *DiagError instead
	}{
		{name: "a Python program", filename: "t.py", src: python,
			want:    &NotJobFileError{Filename: "t.py", Kind: "a Python program", Interpreter: "python3"},
			wantMsg: "t.py is a Python program, not a job file: nai runs HCL job files (a job block) and batch scripts with #SBATCH lines"},
		{name: "a Python program that parses as HCL is still one", filename: "src/T.PY", src: "x = 1\n",
			want: &NotJobFileError{Filename: "src/T.PY", Kind: "a Python program", Interpreter: "python3"}},
		{name: "a notebook", filename: "n.ipynb", src: `{"cells": []}`,
			want: &NotJobFileError{Filename: "n.ipynb", Kind: "a Jupyter notebook"}},
		{name: "shell commands without #! or #SBATCH", filename: "steps", src: "python3 train.py --lr 0.1\n",
			want:    &NotJobFileError{Filename: "steps"},
			wantMsg: "steps is not a job file: it is not HCL with a job block (it does not parse as HCL) and not a batch script (no #! line, no #SBATCH lines)"},
		{name: "from standard input", filename: StdinName, src: python,
			want:    &NotJobFileError{Filename: StdinName},
			wantMsg: "standard input is not a job file: it is not HCL with a job block (it does not parse as HCL) and not a batch script (no #! line, no #SBATCH lines)"},
		{name: "an HCL file with a mistake keeps its diagnostics", filename: "broken.hcl", src: python, diags: true},
		{name: "a job block with a mistake keeps its diagnostics", filename: "train", src: "job \"x\" {\n  task { command = }\n}\n", diags: true},
		{name: "HCL without a job block is told so", filename: "vars", src: "x = 1\n", diags: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.filename, []byte(tc.src), Options{Now: testNow})
			var nj *NotJobFileError
			var de *DiagError
			switch {
			case tc.diags:
				if !errors.As(err, &de) {
					t.Fatalf("error %v (%T), want diagnostics", err, err)
				}
			case !errors.As(err, &nj):
				t.Fatalf("error %v (%T), want a NotJobFileError", err, err)
			default:
				if diff := cmp.Diff(tc.want, nj); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				if tc.wantMsg != "" && err.Error() != tc.wantMsg {
					t.Errorf("message\n got %s\nwant %s", err, tc.wantMsg)
				}
			}
		})
	}
	// A program that is a batch script runs as one.
	res, err := Parse("t.py", []byte("#!/usr/bin/env python3\n#SBATCH --time=5\n"+python), Options{Now: testNow})
	if err != nil || !res.Script {
		t.Fatalf("a Python batch script: %v", err)
	}
}

// FuzzNotJobFile: a file not named .hcl fails with diagnostics or as no
// job file at all, and as no job file only when it has no job block.
func FuzzNotJobFile(f *testing.F) {
	for _, s := range []string{"import os\n", "python3 x.py\n", "job \"x\" {\n", "x = 1\n", `job "x" { task { command = "true" } }`, "{", "#SBATCH -t 5\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Parse("job", []byte(src), Options{Now: testNow})
		var nj *NotJobFileError
		var de *DiagError
		switch {
		case err == nil, errors.As(err, &de):
		case errors.As(err, &nj):
			if jobBlockLine.MatchString(src) {
				t.Fatalf("a file with a job block was called no job file: %v", err)
			}
		default:
			t.Fatalf("error is a %T: %v", err, err)
		}
	})
}
