package server

import (
	"context"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// TestHiddenJobInputs: a job that reads a dataset or model its owner may
// not even see is refused as one that reads a name nobody uses, in the
// same words; one that writes its outputs to such a name is told only
// that the name is taken. Someone who sees it (the operator, who sees
// every version through the blob list) is told what right it lacks.
func TestHiddenJobInputs(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	submit := func(caller string, edit func(j *structs.Job)) error {
		j := gpuJob("reads", 0)
		j.User, j.Group = "", ""
		edit(j)
		_, err := f.as(t, caller).Register(ctx, j)
		return err
	}
	for _, tt := range []struct {
		what string
		ref  func(j *structs.Job, name string)
	}{
		{"dataset", func(j *structs.Job, name string) { j.Datasets = []structs.ArtifactRef{{Name: name, Version: "latest"}} }},
		{"model", func(j *structs.Job, name string) { j.Models = []structs.ArtifactRef{{Name: name, Version: "latest"}} }},
	} {
		t.Run(tt.what, func(t *testing.T) {
			hidden := submit("stranger", func(j *structs.Job) { tt.ref(j, f.artifact) })
			absent := submit("stranger", func(j *structs.Job) { tt.ref(j, "nosuch") })
			if absent == nil || hidden == nil || structs.CodeOf(hidden) != structs.CodeOf(absent) ||
				hidden.Error() != strings.ReplaceAll(absent.Error(), "nosuch", f.artifact) {
				t.Errorf("stranger reading %s %s: %v; want as for one that does not exist: %v", tt.what, f.artifact, hidden, absent)
			}
			if err := submit("operator", func(j *structs.Job) { tt.ref(j, f.artifact) }); structs.CodeOf(err) != structs.CodeForbidden {
				t.Errorf("operator reading %s %s: %v, want forbidden", tt.what, f.artifact, err)
			}
		})
	}
	err := submit("stranger", func(j *structs.Job) { j.Output = &structs.OutputSpec{Model: f.artifact} })
	if structs.CodeOf(err) != structs.CodeForbidden || !strings.Contains(err.Error(), "is taken by another group") || strings.Contains(err.Error(), "vision") {
		t.Errorf("stranger writing to model %s: %v, want only that the name is taken", f.artifact, err)
	}
}
