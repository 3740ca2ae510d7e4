package jobspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nai-project/nai/structs"
)

// parseJSON reads the API's job object. Only the spec travels: ids, owner,
// status and other state the server keeps are dropped, so the JSON of an
// existing job (`nai job inspect -json`) submits a fresh copy of it.
func parseJSON(filename string, src []byte) (*Result, error) {
	files := map[string]*hcl.File{filename: {Bytes: src}}
	fail := func(offset int64, summary, format string, args ...any) error {
		pos := posAt(src, offset)
		return newDiagError(hcl.Diagnostics{errorAt(hcl.Range{Filename: filename, Start: pos, End: pos}, summary, format, args...)}, files)
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	var in structs.Job
	if err := dec.Decode(&in); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, fail(syn.Offset-1, "Invalid JSON", "%s.", syn)
		case errors.As(err, &typ):
			return nil, fail(typ.Offset, "Invalid JSON job", "Field %q must be a %s, not a JSON %s.", typ.Field, typ.Type, typ.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return nil, fail(0, "Invalid JSON job", "%s: the job object has no such field (keys are snake_case, as in the API).", strings.TrimPrefix(err.Error(), "json: "))
		default:
			return nil, fail(dec.InputOffset(), "Invalid JSON job", "%s.", err)
		}
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, fail(dec.InputOffset(), "Invalid JSON job", "A file holds one job object; found more after it.")
	}
	job := &structs.Job{
		Name: in.Name, Group: in.Group, Queue: in.Queue, Priority: in.Priority,
		TimeLimit: in.TimeLimit, BeginTime: in.BeginTime, Preemptible: in.Preemptible,
		Description: in.Description, Labels: in.Labels, Resources: in.Resources, Task: in.Task,
		DependsOn: in.DependsOn, Retry: in.Retry, Code: in.Code, Datasets: in.Datasets,
		Models: in.Models, Output: in.Output, Singleton: in.Singleton, LogPaths: in.LogPaths, Hold: in.Hold,
		Type: in.Type, Service: in.Service,
	}
	job.Canonicalize()
	err := errors.Join(job.Validate(), job.CheckSubmit())
	var bad []error
	for _, d := range job.DependsOn {
		if d.JobID != "" && !jobIDRE().MatchString(d.JobID) {
			bad = append(bad, fmt.Errorf("depends_on job_id %q does not name a job: expected a job id or an array member, such as \"12\" or \"12_3\"", d.JobID))
		}
	}
	if err != nil || len(bad) > 0 {
		var diags hcl.Diagnostics
		if err != nil {
			bad = append(flatten(err), bad...)
		}
		for _, e := range bad {
			diags = append(diags, errorAt(hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}, "Invalid job", "%s.", strings.TrimSuffix(e.Error(), ".")))
		}
		return nil, newDiagError(diags, files)
	}
	return &Result{Jobs: []*structs.Job{job}}, nil
}

// posAt converts a byte offset into a line and column.
func posAt(src []byte, offset int64) hcl.Pos {
	if offset < 0 {
		offset = 0
	}
	if offset > int64(len(src)) {
		offset = int64(len(src))
	}
	pos := hcl.InitialPos
	for _, c := range src[:offset] {
		pos.Byte++
		if c == '\n' {
			pos.Line++
			pos.Column = 1
		} else {
			pos.Column++
		}
	}
	return pos
}
