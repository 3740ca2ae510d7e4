package state

import (
	"maps"
	"slices"
	"strconv"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// Cluster plugins are artifacts of kind plugin (structs/plugin.go), kept
// like datasets and models, one row per plugin holding its versions. A
// plugin's own version ("1.0.0") names one content: installing the same
// version again with the same content answers the version there is, with
// other content is refused.

const (
	tablePlugins = "plugins"

	TablePlugins = tablePlugins
)

// samePluginRelease checks a plugin push against the installed versions:
// the version already holding this release and content (nothing to make),
// or a conflict when the release holds other content.
func samePluginRelease(old *structs.Artifact, req *structs.ArtifactPushRequest) (*structs.ArtifactPushResponse, error) {
	if req.Kind != structs.KindPlugin || req.Plugin == nil {
		return nil, nil
	}
	v := old.ReleaseOf(req.Plugin.Version)
	if v == nil {
		return nil, nil
	}
	if v.Digest != req.Digest {
		return nil, structs.NewError(structs.CodeConflict, "plugin %s version %s is installed already (as %s:%d) with other content: raise version in its plugin.hcl to install this one",
			req.Name, req.Plugin.Version, req.Name, v.Version)
	}
	return &structs.ArtifactPushResponse{Kind: req.Kind, Name: req.Name, Version: v.Version}, nil
}

// resolvePluginRef pins the plugin a job was built from to one installed
// version and checks the job runs that version's content: the lineage of
// what the job makes then names the code that made it. It runs in the
// registration's transaction, as resolveArtifactRefs does.
func resolvePluginRef(txn *memdb.Txn, j *structs.Job) error {
	r := j.Plugin
	if r == nil {
		return nil
	}
	a, err := first[structs.Artifact](txn, nil, tablePlugins, "id", r.Name)
	if err != nil {
		return err
	}
	if a == nil {
		return structs.NewError(structs.CodeNotFound, "plugin %q is not installed (nai plugin install DIR)", r.Name)
	}
	v, err := a.ResolvePlugin(r.Version)
	if err != nil {
		return err
	}
	switch {
	case r.Digest != "" && r.Digest != v.Digest:
		return structs.NewError(structs.CodeConflict, "plugin %s:%d is not the content the job was built from (it holds sha256:%.12s, the job names sha256:%.12s)", r.Name, v.Version, v.Digest, r.Digest)
	case j.Code != v.Digest:
		return structs.NewError(structs.CodeInvalid, "a job built from plugin %s:%d runs that version's folder as its code (sha256:%.12s), not other code", r.Name, v.Version, v.Digest)
	}
	if v.Plugin != nil {
		for _, k := range slices.Sorted(maps.Keys(r.Variables)) {
			if v.Plugin.Variable(k) == nil {
				return structs.NewError(structs.CodeInvalid, "plugin %s:%d has no variable %q", r.Name, v.Version, k)
			}
		}
		r.Release, r.Kind = v.Plugin.Version, v.Plugin.Kind
	}
	r.Version, r.Digest = strconv.Itoa(v.Version), v.Digest
	return nil
}

// registerOutputDataset makes a completed job's outputs the next version
// of the dataset its output block names, with lineage: the job, the
// dataset and model versions it read (pinned at submit time), the version
// of the same dataset it read (the parent), and the plugin and variables
// it was built from. Outputs equal to the dataset's latest version make no
// new version (a rerun with the same inputs and seed); the job then names
// that version. It runs in the transaction that completes the job.
func (w *writer) registerOutputDataset(j *structs.Job) error {
	if j.Output == nil || j.Output.Dataset == "" || j.OutputDigest == "" {
		return nil
	}
	old, err := first[structs.Artifact](w.txn, nil, tableDatasets, "id", j.Output.Dataset)
	if err != nil {
		return err
	}
	if old != nil {
		if l := old.Latest(); l != nil && l.Digest == j.OutputDigest {
			j.OutputVersion = l.Version
			return nil
		}
	}
	a := newOrCopy(old, structs.KindDataset, j.Output.Dataset, j.User, j.Group, w.now, w.index)
	lin := j.LineageOf(j.Output.Dataset)
	lin.MetricsDigest = j.MetricsDigest
	desc := "output of job " + j.ID
	if p := j.Plugin; p != nil {
		release := p.Release
		if release == "" {
			release = "version " + p.Version
		}
		desc += ", plugin " + p.Name + " " + release
	}
	v := &structs.ArtifactVersion{
		Digest: j.OutputDigest, Size: j.OutputSize, Files: j.OutputFiles,
		Description: desc, CreateTime: w.now, CreatedBy: j.User,
		Metrics: maps.Clone(j.Metrics), NonFiniteMetrics: structs.CloneNonFinite(j.NonFiniteMetrics), Lineage: lin,
	}
	if err := addVersion(w.txn, tableDatasets, w.index, w.now, a, v); err != nil {
		return err
	}
	j.OutputVersion = v.Version
	return nil
}
