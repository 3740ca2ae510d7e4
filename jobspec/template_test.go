package jobspec

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// sweepCase is a job file for the differential tests: Parse (members made
// from a template, range() read without HCL) against plainParse (every
// member decoded in full, as the parser once did).
type sweepCase struct {
	name string
	src  string
	vars map[string]string
	// fields are the SweepFields a valid file must give, in any order;
	// nil for a file that must fail, with errs in its message.
	fields []string
	errs   []string
}

// sweepCases are sweeps whose members differ in each part of a job, and
// sweeps of which one member is invalid.
var sweepCases = []sweepCase{
	{name: "args", src: `
job "a" {
  sweep { values = { i = range(5) } }
  task {
    command = "echo"
    args    = ["--i", sweep.i, "${sweep.i}", "--i=${sweep.i}x", 2.5, -0, true, 7]
  }
}`, fields: []string{"task.args"}},
	{name: "env, labels and description", src: `
job "a" {
  description = "run ${sweep.lr} / ${sweep.tag}"
  labels      = { lr = sweep.lr, "team" = "vision", tag = "t-${sweep.tag}" }
  sweep { values = { lr = [0.1, 0.01, 1e-3], tag = ["a<b", "c&d", "\"q\""] } }
  task {
    command = "python3"
    env     = { LR = sweep.lr, TAG = "${sweep.tag}", FIXED = "1", LR = "again ${sweep.lr}" }
  }
}`, fields: []string{"description", "labels", "task.env"}},
	{name: "resources in nested blocks", src: `
job "a" {
  sweep {
    mode   = "zip"
    values = { gpus = [1, 2, 4], mem = ["4GiB", "8GiB", "16GiB"], cpu = [0.5, 1, 2] }
  }
  resources {
    cpu    = sweep.cpu
    memory = sweep.mem
    disk   = "${sweep.gpus}GiB"
    gpu {
      count  = sweep.gpus
      model  = sweep.gpus > 2 ? "H100" : "A100"
      memory = "${sweep.gpus * 10}GiB"
    }
  }
  task { command = "train" }
}`, fields: []string{"resources"}},
	{name: "names and scalars", src: `
job "a" {
  queue       = "q-${sweep.q}"
  group       = sweep.q == "x" ? "g1" : "g2"
  priority    = 40 + sweep.n
  time_limit  = "${sweep.n}h"
  begin_after = "${sweep.n}m"
  preemptible = sweep.n > 1
  singleton   = sweep.n == 2
  depends_on  = ["afterok:${sweep.n}", "afterany:9"]
  sweep { values = { q = ["x", "y"], n = [1, 2, 3] } }
  task {
    command        = "run-${sweep.q}"
    workdir        = "/w/${sweep.q}"
    user           = sweep.q
    nproc_per_node = sweep.n
  }
}`, fields: []string{"queue", "group", "priority", "time_limit", "begin_time", "preemptible", "singleton", "depends_on", "task.command", "task.workdir", "task.user", "task.nproc_per_node"}},
	{name: "script heredoc", src: `
job "a" {
  sweep { values = { seed = [1, 2, 3] } }
  task {
    script = <<-EOT
      echo seed ${sweep.seed}
      %{ if sweep.seed > 1 }echo more%{ endif }
      python3 train.py --seed=${sweep.seed}
    EOT
  }
}`, fields: []string{"task.script"}},
	{name: "ternary, null and functions", src: `
variable "epochs" {
  type    = number
  default = 3
}
locals {
  base  = "/data"
  extra = ["--epochs", var.epochs]
}
job "a" {
  sweep { values = { i = range(1, 9, 2), flag = [true, false] } }
  task {
    command = "echo"
    args    = sweep.flag ? concat(["-i", format("%03d", sweep.i)], local.extra) : null
    env     = sweep.i > 4 ? { BIG = "1", BASE = local.base } : { BASE = local.base }
  }
  output {
    model = "m-${sweep.i}"
    keep  = ["*.pt", "ckpt-${sweep.i}/*"]
  }
}`, fields: []string{"task.args", "task.env", "output"}},
	{name: "for expression and splat", src: `
job "a" {
  sweep { values = { n = [1, 2], w = ["a", "b"] } }
  task {
    command = "echo"
    args    = [for x in ["p", "q"] : "${x}-${sweep.n}-${sweep.w}"]
  }
  retry {
    attempts = sweep.n
    on       = sweep.n > 1 ? ["failed"] : ["node-lost", "preempted"]
  }
  logs {
    stdout = "out-${sweep.w}-%j.log"
  }
}`, fields: []string{"task.args", "retry", "log_paths"}},
	{name: "datasets and models", src: `
job "a" {
  sweep { values = { v = [1, 2, 3] } }
  dataset "d1" { version = sweep.v }
  dataset "d2" { version = "latest" }
  model "m" { version = "latest" }
  task { command = "echo" }
}`, fields: []string{"datasets"}},
	{name: "grid of three", src: `
job "a" {
  sweep {
    max_parallel = 4
    values = { a = ["x", "y"], b = [1, 2, 3], c = [true, false] }
  }
  task {
    command = "echo"
    args    = [sweep.a, sweep.b, sweep.c, "${sweep.a}${sweep.b}${sweep.c}"]
  }
}`, fields: []string{"task.args"}},
	{name: "nothing refers to the sweep", src: `
job "a" {
  sweep { values = { i = range(3) } }
  task { command = "echo" }
}`, fields: []string{}},
	{name: "ranges", src: `
variable "n" { default = 4 }
job "a" {
  sweep {
    mode   = "zip"
    values = {
      a = range(var.n)
      b = range(-4)
      c = range(10, 6)
      d = range(3, 11, 2)
      e = range(0, -8, -2)
      f = range(2, 6)
      g = [for x in range(4) : x * 1.5]
      h = range(0.5, 4.5)
    }
  }
  task {
    command = "echo"
    args    = [sweep.a, sweep.b, sweep.c, sweep.d, sweep.e, sweep.f, sweep.g, sweep.h, sweep.a / 3, sweep.c / 3, sweep.e * 0.1]
  }
}`, fields: []string{"task.args"}},
	{name: "numbers as HCL prints them", src: `
job "a" {
  sweep { values = { n = [1e30, -5, 0.5, 9223372036854775807, 9223372036854775808, 1/3] } }
  task {
    command = "echo"
    args    = [sweep.n, "${sweep.n}", sweep.n * 1]
  }
}`, fields: []string{"task.args"}},
	{name: "values written as one expression", src: `
locals { v = { lr = [0.1, 0.2], seed = range(2) } }
job "a" {
  sweep { values = local.v }
  task {
    command = "echo"
    args    = [sweep.lr, sweep.seed]
  }
}`, fields: []string{"task.args"}},

	// Members that fail: the error names the first failing member, as
	// it did when every member was decoded in full.
	{name: "member 3 asks too many GPUs", src: `
job "a" {
  sweep { values = { i = range(6) } }
  resources {
    gpu { count = sweep.i == 3 ? 5000 : 1 }
  }
  task { command = "echo" }
}`, errs: []string{"Invalid count", "In sweep member 3: i=3"}},
	{name: "member fails validation only", src: `
job "a" {
  sweep { values = { i = [1, 2, 3, 4] } }
  description = sweep.i == 3 ? format("%9000s", "long") : "short"
  task { command = "echo" }
}`, errs: []string{"description is 9000 bytes long", "In sweep member 2: i=3"}},
	{name: "member's command empty", src: `
job "a" {
  sweep { values = { c = ["echo", " ", "true"] } }
  task { command = sweep.c }
}`, errs: []string{"Empty command", "In sweep member 1: c="}},
	{name: "member without command or script", src: `
job "a" {
  sweep { values = { i = [1, 2] } }
  task {
    command = sweep.i == 2 ? null : "echo"
  }
}`, errs: []string{"task needs a command or a script", "In sweep member 1: i=2"}},
	{name: "member's value of the wrong type", src: `
job "a" {
  sweep { values = { m = ["4GiB", 8] } }
  resources { memory = sweep.m }
  task { command = "echo" }
}`, errs: []string{"Size needs a unit", "In sweep member 1: m=8"}},
	{name: "member's env name invalid", src: `
job "a" {
  sweep { values = { k = ["OK", "1BAD"] } }
  task {
    command = "echo"
    env     = { (sweep.k) = "v" }
  }
}`, errs: []string{"Invalid environment variable name", "In sweep member 1: k=1BAD"}},
	{name: "member's type unknown", src: `
job "a" {
  type = sweep.t
  sweep { values = { t = ["batch", "nope"] } }
  task { command = "echo" }
}`, errs: []string{"Unknown job type", "In sweep member 1: t=nope"}},
	{name: "member's dependency invalid", src: `
job "a" {
  depends_on = [sweep.d]
  sweep { values = { d = ["12", "bogus:1"] } }
  task { command = "echo" }
}`, errs: []string{"Unknown dependency type", "In sweep member 1: d=bogus:1"}},
	{name: "member's dataset version invalid", src: `
job "a" {
  sweep { values = { v = [1, "x"] } }
  dataset "d" { version = sweep.v }
  task { command = "echo" }
}`, errs: []string{"Invalid version", "In sweep member 1: v=x"}},
	{name: "unknown sweep value", src: `
job "a" {
  sweep { values = { i = [1, 2] } }
  task {
    command = "echo"
    args    = [sweep.j]
  }
}`, errs: []string{"Unknown sweep value"}},
	{name: "sweep in locals", src: `
locals { x = sweep.i }
job "a" {
  sweep { values = { i = [1, 2] } }
  task { command = "echo" }
}`, errs: []string{"Sweep values not available here"}},
	{name: "range too long", src: `
job "a" {
  sweep { values = { i = range(2000) } }
  task { command = "echo" }
}`, errs: []string{"more than 1024 values"}},
	{name: "range empty", src: `
job "a" {
  sweep { values = { i = range(0) } }
  task { command = "echo" }
}`, errs: []string{"Empty sweep list"}},
	{name: "range the wrong way", src: `
job "a" {
  sweep { values = { i = range(0, 10, -1) } }
  task { command = "echo" }
}`, errs: []string{"end must be less than start"}},
	{name: "huge value", src: `
job "a" {
  sweep { values = { n = [1, 1e19000 * 1e19000] } }
  task {
    command = "echo"
    args    = [sweep.n]
  }
}`, errs: []string{"Number too large", "In sweep member 1"}},
}

// The members made from a template are the members a full decode makes,
// and a bad member gets the same diagnostics; SweepFields names every
// field in which the members differ.
func TestSweepTemplateMatchesFullDecode(t *testing.T) {
	for _, tc := range sweepCases {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Now: testNow, Vars: tc.vars}
			src := []byte(tc.src)
			res, err := Parse("sweep.hcl", src, opts)
			checkMemo(t, "sweep.hcl", src, opts, res, err) // against plainParse
			if tc.fields == nil {
				if err == nil {
					t.Fatalf("no error; want one with %q", tc.errs)
				}
				for _, want := range tc.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Jobs) < 2 {
				t.Fatalf("%d members", len(res.Jobs))
			}
			got, want := slices.Sorted(slices.Values(res.SweepFields)), slices.Sorted(slices.Values(tc.fields))
			if res.SweepFields == nil || !slices.Equal(got, want) {
				t.Errorf("SweepFields %q, want %q (nil: a member was decoded in full)", res.SweepFields, tc.fields)
			}
		})
	}
}

// A range() list read without HCL holds the values stdlib's range makes,
// down to each big.Float's precision (which the precision of arithmetic
// on them follows), and prints them as stringify does.
func TestIntRangeMatchesRange(t *testing.T) {
	p := newParser("range.hcl", Options{Now: testNow})
	ctx := p.evalContext(cty.NilVal)
	read := []string{
		"range(5)", "range(-5)", "range(1)", "range(1024)", "range(2, 9)", "range(9, 2)", "range(-3, 3)",
		"range(0, 10, 3)", "range(10, 0, -3)", "range(-10, -1, 4)", "range(5, 6, 100)", "range(9007199254740980, 9007199254740992)",
		"range(9007199254740990, 9007199254740992)", "range(-9007199254740992, -9007199254740990)",
	}
	left := []string{ // to HCL: not whole numbers, no value, an error, too many
		"range(0)", "range(3, 3)", "range(0, 5, 0)", "range(0, 5, -1)", "range(1.5)", "range(0, 2, 0.5)",
		"range(-0)", "range(1025)", "range(2000)", "range(9007199254740994)", "range()", "range(1, 2, 3, 4)", "range(\"3\")",
	}
	for i, call := range append(read, left...) {
		expr, diags := hclsyntax.ParseExpression([]byte(call), "range.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", call, diags)
		}
		want, wdiags := expr.Value(ctx)
		r := p.intRangeOf(expr, ctx)
		if (r != nil) != (i < len(read)) {
			t.Errorf("%s: read without HCL: %v", call, r != nil)
		}
		if r == nil {
			continue
		}
		if wdiags.HasErrors() || !want.Type().IsListType() || want.LengthInt() != r.n {
			t.Errorf("%s: read as %d values; HCL gives %#v %s", call, r.n, want, wdiags)
			continue
		}
		strs := r.strings()
		for j, w := range want.AsValueSlice() {
			got := r.value(j)
			gf, wf := got.AsBigFloat(), w.AsBigFloat()
			if gf.Cmp(wf) != 0 || gf.Prec() != wf.Prec() || gf.Mode() != wf.Mode() || !got.RawEquals(w) {
				t.Errorf("%s: value %d is %s (precision %d), range gives %s (precision %d)", call, j, gf.Text('g', 20), gf.Prec(), wf.Text('g', 20), wf.Prec())
			}
			if s, err := stringify(w); err != nil || s != strs[j] {
				t.Errorf("%s: value %d prints as %q, stringify gives %q (%v)", call, j, strs[j], s, err)
			}
		}
	}
}
