package jobspec

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/nai-project/nai/internal/hclstruct"
	"github.com/nai-project/nai/structs"
	"github.com/zclconf/go-cty/cty"
)

// A queue file defines queues for `nai operator queue apply`:
//
//	queue "gpu-long" {
//	  max_time_limit     = "72h"
//	  default_time_limit = "24h"
//	  max_gpus_per_job   = 16
//	  allowed_groups     = ["ml"]
//	  nodes              = ["gpu-01", "gpu-02"]
//	  priority           = 10
//	  priority_tier      = 1
//	  description        = "long training runs"
//	}
type queueFile struct {
	Queues []queueBlock `hcl:"queue,block"`
}

type queueBlock struct {
	Name             string         `hcl:"name,label"`
	Priority         *int           `hcl:"priority,optional"`
	PriorityTier     *int           `hcl:"priority_tier,optional"`
	Nodes            []string       `hcl:"nodes,optional"`
	DefaultTimeLimit hcl.Expression `hcl:"default_time_limit,optional"`
	MaxTimeLimit     hcl.Expression `hcl:"max_time_limit,optional"`
	MaxGPUsPerJob    *int           `hcl:"max_gpus_per_job,optional"`
	AllowedGroups    []string       `hcl:"allowed_groups,optional"`
	Description      *string        `hcl:"description,optional"`
	DefRange         hcl.Range      `hcl:",def_range"`
}

// ParseQueueFile reads a queue file; "-" reads standard input.
func ParseQueueFile(path string) ([]*structs.Queue, error) {
	name, src, err := readSource(path, "queue file")
	if err != nil {
		return nil, err
	}
	return ParseQueues(name, src)
}

// ParseQueues parses the contents of a queue file. Every queue is
// validated; problems come back as a *DiagError naming file, line and
// column.
func ParseQueues(filename string, src []byte) ([]*structs.Queue, error) {
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("queue file %s is larger than %d bytes", filename, MaxFileSize)
	}
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, newDiagError(diags, p.Files())
	}
	var qf queueFile
	if diags := hclstruct.DecodeBody(f.Body, nil, &qf); diags.HasErrors() {
		return nil, newDiagError(diags, p.Files())
	}
	if len(qf.Queues) == 0 {
		rng := hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
		return nil, newDiagError(hcl.Diagnostics{errorAt(rng, "No queue", `A queue file defines at least one queue "NAME" { ... } block.`)}, p.Files())
	}
	seen := map[string]bool{}
	var out []*structs.Queue
	for _, b := range qf.Queues {
		q := &structs.Queue{Name: b.Name, Nodes: b.Nodes, AllowedGroups: b.AllowedGroups}
		if b.Priority != nil {
			q.Priority = *b.Priority
		}
		if b.PriorityTier != nil {
			q.PriorityTier = *b.PriorityTier
		}
		if b.MaxGPUsPerJob != nil {
			q.MaxGPUsPerJob = *b.MaxGPUsPerJob
		}
		if b.Description != nil {
			q.Description = *b.Description
		}
		q.DefaultTimeLimit = duration(b.DefaultTimeLimit, "default_time_limit", &diags)
		q.MaxTimeLimit = duration(b.MaxTimeLimit, "max_time_limit", &diags)
		if seen[q.Name] {
			diags = append(diags, errorAt(b.DefRange, "Duplicate queue", "Queue %q is defined twice in this file.", q.Name))
		}
		seen[q.Name] = true
		if err := q.Validate(); err != nil {
			for _, e := range flatten(err) {
				diags = append(diags, errorAt(b.DefRange, "Invalid queue", "%v", e))
			}
		}
		out = append(out, q)
	}
	if diags.HasErrors() {
		return nil, newDiagError(diags, p.Files())
	}
	return out, nil
}

// duration evaluates an optional duration attribute ("72h").
func duration(expr hcl.Expression, name string, diags *hcl.Diagnostics) structs.Duration {
	if expr == nil {
		return 0
	}
	v, d := expr.Value(nil)
	if d.HasErrors() {
		*diags = append(*diags, d...)
		return 0
	}
	if v.IsNull() {
		return 0
	}
	if v.Type() != cty.String || !v.IsKnown() {
		*diags = append(*diags, errorAt(expr.Range(), "Invalid duration", "%s must be a duration string such as \"72h\".", name))
		return 0
	}
	t, err := time.ParseDuration(v.AsString())
	if err != nil || t < 0 {
		*diags = append(*diags, errorAt(expr.Range(), "Invalid duration", "%s %q is not a duration: expected a string such as \"90m\" or \"72h\".", name, v.AsString()))
		return 0
	}
	return structs.Duration(t)
}
