package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// The plugin registry through the API: install, list, a job built from a
// version, and a running job that pushes a dataset version as its own,
// whose lineage the servers fill from the job, not from the caller.
func TestPluginRegistryAPI(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	code := upload(t, c, "the plugin folder")
	spec := &structs.PluginSpec{Name: "label", Version: "1.0.0", Kind: structs.PluginService,
		Variables: []structs.PluginVariable{{Name: "labels", Type: "list(string)", Default: `["cat", "dog"]`}}}
	r, err := c.PushArtifact(ctx, structs.KindPlugin, "label", &structs.ArtifactPushRequest{User: "alice", Digest: code, Plugin: spec})
	if err != nil || r.Version != 1 || !r.Created || r.Kind != structs.KindPlugin {
		t.Fatalf("install: %+v %v", r, err)
	}
	if _, err := c.PushArtifact(ctx, structs.KindPlugin, "label", &structs.ArtifactPushRequest{User: "alice", Digest: upload(t, c, "changed"), Plugin: spec}); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("the same release with other content: %v, want a conflict", err)
	}
	if _, err := c.PushArtifact(ctx, structs.KindPlugin, "label", &structs.ArtifactPushRequest{User: "alice", Digest: code}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("a plugin without its header: %v, want invalid", err)
	}
	list, err := c.Artifacts(ctx, structs.KindPlugin)
	if err != nil || len(list) != 1 || list[0].Latest().Plugin.Kind != structs.PluginService {
		t.Fatalf("list: %v %v", list, err)
	}

	data := upload(t, c, "images")
	if _, err := c.PushArtifact(ctx, structs.KindDataset, "pets", &structs.ArtifactPushRequest{User: "alice", Digest: data}); err != nil {
		t.Fatal(err)
	}
	j := gpuJob("label", 0)
	j.Code = code
	j.Datasets = []structs.ArtifactRef{{Name: "pets", Version: "latest"}}
	j.Plugin = &structs.PluginRef{Name: "label", Version: "1.0.0", Digest: code, Variables: map[string]string{"labels": `["a"]`}}
	resp, err := c.Register(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]

	labelled := upload(t, c, "images and labels")
	push := &structs.ArtifactPushRequest{User: "alice", Digest: labelled, JobID: id,
		Lineage: &structs.Lineage{JobID: "999", JobName: "a lie"}}
	if _, err := c.PushArtifact(ctx, structs.KindDataset, "pets", push); !errors.Is(err, structs.ErrConflict) || !strings.Contains(err.Error(), "only a running job") {
		t.Errorf("push as a job that does not run yet: %v", err)
	}
	// No node yet, so the job waits; now one comes and it runs.
	if err := c.RegisterNode(ctx, testNode("n1", 1), ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the job runs", func() bool {
		j, _, err := c.Job(ctx, id)
		return err == nil && j.Status == structs.JobRunning
	})
	if _, err := c.PushArtifact(ctx, structs.KindModel, "pets", &structs.ArtifactPushRequest{User: "alice", Digest: labelled, JobID: id}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("a model pushed as a job: %v, want invalid", err)
	}
	r, err = c.PushArtifact(ctx, structs.KindDataset, "pets", push)
	if err != nil || r.Version != 2 {
		t.Fatalf("push as the job: %+v %v", r, err)
	}
	a, err := c.Artifact(ctx, structs.KindDataset, "pets")
	if err != nil {
		t.Fatal(err)
	}
	want := &structs.Lineage{JobID: id, JobName: "label", ParentVersion: 1,
		Datasets: []structs.ArtifactRef{{Name: "pets", Version: "1", Digest: data}},
		Plugin: &structs.PluginRef{Name: "label", Version: "1", Release: "1.0.0", Kind: structs.PluginService, Digest: code,
			Variables: map[string]string{"labels": `["a"]`}}}
	if d := cmp.Diff(want, a.Latest().Lineage); d != "" {
		t.Errorf("lineage of the pushed version (-want +got):\n%s", d)
	}
	if _, err := c.PushArtifact(ctx, structs.KindDataset, "pets", &structs.ArtifactPushRequest{User: "alice", Digest: data, JobID: "77"}); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("push as a job that does not exist: %v", err)
	}
}
