package hclstruct

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The shapes nai's queue and agent config files decode into.
type file struct {
	Name     *string        `hcl:"name,optional"`
	Count    *int           `hcl:"count,optional"`
	Ratio    *float64       `hcl:"ratio,optional"`
	On       *bool          `hcl:"on,optional"`
	Join     *[]string      `hcl:"join,optional"`
	Tags     []string       `hcl:"tags,optional"`
	Grace    hcl.Expression `hcl:"grace,optional"`
	Server   *server        `hcl:"server,block"`
	Queues   []queue        `hcl:"queue,block"`
	Pools    []*queue       `hcl:"pool,block"`
	Untagged string
}

type server struct {
	Enabled  *bool     `hcl:"enabled,optional"`
	Reserved *reserved `hcl:"reserved,block"`
}

type reserved struct {
	CPU    *float64       `hcl:"cpu,optional"`
	Memory hcl.Expression `hcl:"memory,optional"`
}

type queue struct {
	Name     string    `hcl:"name,label"`
	Priority int       `hcl:"priority"`
	Nodes    []string  `hcl:"nodes,optional"`
	Limits   limits    `hcl:"limits,block"`
	DefRange hcl.Range `hcl:",def_range"`
}

type limits struct {
	GPUs *int `hcl:"gpus,optional"`
}

// TestDecodeAsGohcl decodes files with this package and with gohcl and
// compares what they decode and the diagnostics they give.
func TestDecodeAsGohcl(t *testing.T) {
	cases := map[string]string{
		"empty": ``,
		"attributes": `name = "n"
count = 3
ratio = 0.5
on = true
join = ["a", "b"]
tags = []
grace = "30s"`,
		"conversions": `count = "7"
ratio = 2
on = "false"
tags = [1, true]`,
		"blocks": `server {
  enabled = true
  reserved {
    cpu = 1.5
    memory = "2GiB"
  }
}
queue "a" {
  priority = 1
  limits {}
}
queue "b" {
  priority = 2
  nodes = ["x"]
  limits { gpus = 8 }
}
pool "p" {
  priority = 0
  limits {}
}`,
		"empty server":         `server {}`,
		"unsupported argument": `nmae = "x"`,
		"unsupported block":    `srever {}`,
		"duplicate block":      "server {}\nserver {}",
		"missing label":        `queue { priority = 1 }`,
		"missing required":     "queue \"a\" {\n  limits {}\n}",
		"missing block":        `queue "a" { priority = 1 }`,
		"wrong types":          `count = "many"` + "\n" + `on = [1]` + "\n" + `join = "a"` + "\n" + `ratio = {}`,
		"fractional int":       `count = 1.5`,
		"null":                 `name = null` + "\n" + `count = null`,
		"unknown variable":     `name = var.x`,
		"wrong nested":         "server {\n  reserved { cpu = \"x\" }\n}\nqueue \"q\" {\n  priority = \"high\"\n  limits { gpus = -1.5 }\n}",
	}
	exprs := cmp.Transformer("expr", func(e hcl.Expression) string {
		if e == nil {
			return "<nil>"
		}
		v, diags := e.Value(nil)
		return fmt.Sprintf("%#v %s %v", v, e.Range(), diags)
	})
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			parse := func() hcl.Body {
				f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				return f.Body
			}
			var ours, theirs file
			ourDiags := DecodeBody(parse(), nil, &ours)
			theirDiags := gohcl.DecodeBody(parse(), nil, &theirs)
			if d := cmp.Diff(theirs, ours, exprs); d != "" {
				t.Errorf("decoded differently (-gohcl +ours):\n%s", d)
			}
			if d := cmp.Diff(diagText(theirDiags), diagText(ourDiags)); d != "" {
				t.Errorf("diagnostics differ (-gohcl +ours):\n%s", d)
			}
		})
	}
}

// diagText lists diagnostics sorted: gohcl gives them in map order.
func diagText(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, fmt.Sprintf("%v %s: %s; %v %v", d.Severity, d.Summary, d.Detail, d.Subject, d.Context))
	}
	slices.Sort(out)
	return out
}

func TestDecodeRefusesWhatIsNotAStruct(t *testing.T) {
	f, _ := hclsyntax.ParseConfig([]byte(`a = 1`), "test.hcl", hcl.InitialPos)
	var n int
	var bad struct {
		A int `hcl:"a,remain"`
	}
	for _, target := range []any{n, &n, &bad} {
		if diags := DecodeBody(f.Body, nil, target); !diags.HasErrors() {
			t.Errorf("DecodeBody into %T: no error", target)
		}
	}
}
