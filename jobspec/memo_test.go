package jobspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nai-project/nai/structs"
)

// plainParse parses HCL as Parse does, remembering nothing between the
// members of a sweep: what the parser did before it memoized.
func plainParse(filename string, src []byte, opts Options) (*Result, error) {
	p := newParser(filename, opts)
	p.memo, p.contents, p.fastSweeps = nil, nil, false
	return p.parse(src)
}

// checkMemo fails when Parse's answer (res, err) differs from plainParse's.
func checkMemo(t *testing.T, filename string, src []byte, opts Options, res *Result, err error) {
	t.Helper()
	if IsScript(filename, src) || len(src) > MaxFileSize {
		return
	}
	if b := bytes.TrimLeft(src, " \t\r\n"); len(b) > 0 && b[0] == '{' {
		return
	}
	want, wantErr := plainParse(filename, src, opts)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("memoized parse: error %v\nplain parse: error %v", err, wantErr)
	}
	if err != nil {
		// The formatted diagnostics too: they show the values of the
		// variables an expression refers to (with sweep.gpus as 2000).
		var got, exp strings.Builder
		var gotDE, expDE *DiagError
		if errors.As(err, &gotDE) && errors.As(wantErr, &expDE) {
			_ = gotDE.Format(&got, 100, false)
			_ = expDE.Format(&exp, 100, false)
		}
		if got.String() != exp.String() {
			t.Fatalf("memoized parse's diagnostics:\n%s\nplain parse's:\n%s", got.String(), exp.String())
		}
		return
	}
	if want.SweepFields != nil {
		t.Fatalf("plain parse claims sweep fields %q", want.SweepFields)
	}
	checkSweepFields(t, res)
	if d := cmp.Diff(want, res, cmpopts.IgnoreFields(Result{}, "SweepFields")); d != "" {
		t.Fatalf("memoized parse differs from the plain one (-plain +memoized):\n%s", d)
	}
}

// checkSweepFields fails when res.SweepFields leaves out a field in which
// the members differ: the spec NewSweepSpecFields writes from it must be
// the one NewSweepSpec writes comparing every field.
func checkSweepFields(t *testing.T, res *Result) {
	t.Helper()
	if res.SweepFields == nil || len(res.Jobs) < 2 {
		return
	}
	full, err := structs.NewSweepSpec(res.Jobs)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := structs.NewSweepSpecFields(res.Jobs, res.SweepFields)
	if err != nil {
		t.Fatal(err)
	}
	a, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fast)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("SweepFields %q leaves out a difference:\nall fields compared: %s\nthose compared:      %s", res.SweepFields, a, b)
	}
}

// Remembering what does not depend on the member changes nothing: every
// job file of the tests, and sweeps whose members differ in each part of
// the job, parse as they did when each member was decoded afresh.
func TestParseMemoMatchesPlain(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cases[path] = src
	}
	cases["members differ everywhere"] = []byte(`
variable "epochs" { default = 3 }
locals { base = "/data" }
job "train" {
  priority    = 40 + sweep.seed
  description = "lr ${sweep.lr}, seed ${sweep.seed}"
  labels      = { lr = sweep.lr, team = "vision" }
  time_limit  = "${sweep.seed}h"
  sweep {
    values = { lr = [0.1, 0.01, 1e-3], seed = [1, 2] }
  }
  resources {
    cpu    = sweep.seed * 2
    memory = "${sweep.seed * 4}GiB"
    gpu {
      count = sweep.seed
    }
  }
  task {
    command = "python3"
    args    = ["train.py", "--lr", sweep.lr, "--epochs", var.epochs, "--seed=${sweep.seed}", local.base, -0, 2.5]
    env     = { SEED = sweep.seed, DATA = local.base, LR = "${sweep.lr}" }
  }
}
`)
	cases["a member that is invalid"] = []byte(`
job "train" {
  sweep {
    values = { gpus = [1, 2, 99] }
  }
  resources {
    gpu {
      count = sweep.gpus
    }
  }
  task {
    command = "python3"
    args    = [true, null]
  }
}
`)
	cases["big and odd numbers in args"] = []byte(`
job "train" {
  sweep {
    values = { n = [1e30, -5, 0.5, 9223372036854775807, 9223372036854775808] }
  }
  task {
    command = "echo"
    args    = [sweep.n, sweep.n * 1]
  }
}
`)
	opts := Options{Now: testNow, Vars: map[string]string{}}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := Parse(name, src, opts)
			checkMemo(t, name, src, opts, res, err)
			if name == "members differ everywhere" && (err != nil || len(res.Jobs) != 6) {
				t.Fatalf("want 6 members: %v", err)
			}
		})
	}
}
