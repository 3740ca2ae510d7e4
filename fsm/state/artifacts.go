package state

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// Tables of the two artifact kinds. Each row is one *structs.Artifact, keyed
// by name, holding all its versions.
const (
	tableDatasets = "datasets"
	tableModels   = "models"

	TableDatasets = tableDatasets
	TableModels   = tableModels
)

func artifactTable(k structs.ArtifactKind) (string, error) {
	switch k {
	case structs.KindDataset:
		return tableDatasets, nil
	case structs.KindModel:
		return tableModels, nil
	case structs.KindPlugin:
		return tablePlugins, nil
	}
	return "", structs.NewError(structs.CodeInvalid, "artifact kind %q is unknown: expected dataset, model or plugin", k)
}

func artifactTableSchema(name string) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: name,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		},
	}
}

// PushArtifact adds a version to a dataset or model, creating it on its
// first push. A push whose content (digest, or path) equals the latest
// version's creates nothing and answers with that version.
func (s *Store) PushArtifact(index uint64, req *structs.ArtifactPushRequest) (*structs.ArtifactPushResponse, error) {
	if req == nil {
		return nil, structs.NewError(structs.CodeInvalid, "push: empty request")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	table, err := artifactTable(req.Kind)
	if err != nil {
		return nil, err
	}
	var resp *structs.ArtifactPushResponse
	err = s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Artifact](txn, nil, table, "id", req.Name)
		if err != nil {
			return err
		}
		if old != nil {
			if l := old.Latest(); l != nil && l.Digest == req.Digest && l.Path == req.Path {
				resp = &structs.ArtifactPushResponse{Kind: req.Kind, Name: req.Name, Version: l.Version, Index: index}
				return nil
			}
			if same, err := samePluginRelease(old, req); err != nil || same != nil {
				resp = same
				return err
			}
		}
		a := newOrCopy(old, req.Kind, req.Name, req.User, req.Group, req.Now, index)
		if err := checkStorageQuota(txn, a, req.Size); err != nil {
			return err
		}
		if req.Description != "" {
			a.Description = req.Description
		}
		v := &structs.ArtifactVersion{
			Digest: req.Digest, Size: req.Size, Files: req.Files, Path: req.Path,
			Description: req.Description, CreateTime: req.Now, CreatedBy: req.User,
			Plugin: req.Plugin.Copy(), Lineage: req.Lineage.Copy(),
			Serve: slices.Clone(req.Serve),
		}
		if err := addVersion(txn, table, index, req.Now, a, v); err != nil {
			return err
		}
		resp = &structs.ArtifactPushResponse{Kind: req.Kind, Name: req.Name, Version: v.Version, Created: true, Index: index}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// newOrCopy returns a copy of old to change, or a new artifact.
func newOrCopy(old *structs.Artifact, kind structs.ArtifactKind, name, user, group string, now time.Time, index uint64) *structs.Artifact {
	if old != nil {
		return old.Copy()
	}
	return &structs.Artifact{Kind: kind, Name: name, User: user, Group: group, CreateTime: now, CreateIndex: index, Versions: []*structs.ArtifactVersion{}}
}

// addVersion numbers v as the next version of a and writes a.
func addVersion(txn *memdb.Txn, table string, index uint64, now time.Time, a *structs.Artifact, v *structs.ArtifactVersion) error {
	a.LastVersion++
	v.Version = a.LastVersion
	a.Versions = append(a.Versions, v)
	a.ModifyTime, a.ModifyIndex = now, index
	if err := txn.Insert(table, a); err != nil {
		return fmt.Errorf("write %s %s: %w", a.Kind, a.Name, err)
	}
	return bumpIndex(txn, table, index)
}

// DeleteArtifactVersion removes one version. It is refused while a pending
// or running job reads that version; the number is never given again.
func (s *Store) DeleteArtifactVersion(index uint64, req *structs.ArtifactDeleteRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "delete: empty request")
	}
	table, err := artifactTable(req.Kind)
	if err != nil {
		return err
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Artifact](txn, nil, table, "id", req.Name)
		if err != nil {
			return err
		}
		if old == nil {
			return structs.NewError(structs.CodeNotFound, "%s %q not found", req.Kind, req.Name)
		}
		if _, err := old.Resolve(strconv.Itoa(req.Version)); err != nil {
			return err
		}
		users, err := liveUsers(txn, req.Kind, req.Name, req.Version)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			ended := "it has"
			if len(users) > 1 {
				ended = "they have"
			}
			return structs.NewError(structs.CodeConflict, "%s %s:%d is in use by %s %s; remove it when %s ended",
				req.Kind, req.Name, req.Version, plural(len(users), "job", "jobs"), joinIDs(users), ended)
		}
		a := old.Copy()
		a.Versions = slices.DeleteFunc(a.Versions, func(v *structs.ArtifactVersion) bool { return v.Version == req.Version })
		a.ModifyTime, a.ModifyIndex = req.Now, index
		if err := txn.Insert(table, a); err != nil {
			return fmt.Errorf("write %s %s: %w", a.Kind, a.Name, err)
		}
		return bumpIndex(txn, table, index)
	})
}

// liveUsers lists the pending and running jobs that read kind name:version.
func liveUsers(txn *memdb.Txn, kind structs.ArtifactKind, name string, version int) ([]string, error) {
	var ids []string
	want := strconv.Itoa(version)
	for _, st := range []structs.JobStatus{structs.JobPending, structs.JobRunning} {
		jobs, err := list[structs.Job](txn, nil, tableJobs, "status", string(st))
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			for _, r := range jobRefs(j, kind) {
				if r.Name == name && r.Version == want {
					ids = append(ids, j.ID)
				}
			}
		}
	}
	return ids, nil
}

func jobRefs(j *structs.Job, kind structs.ArtifactKind) []structs.ArtifactRef {
	switch kind {
	case structs.KindDataset:
		return j.Datasets
	case structs.KindPlugin:
		if j.Plugin != nil {
			return []structs.ArtifactRef{{Name: j.Plugin.Name, Version: j.Plugin.Version, Digest: j.Plugin.Digest}}
		}
		return nil
	}
	return j.Models
}

// resolveArtifactRefs pins every dataset and model a job reads to one
// version number and digest ("latest" becomes the newest number now), so
// the job never sees its inputs change. Unknown names or versions refuse
// the job. It runs inside the registration's transaction, so no version can
// vanish between the check and the job's creation.
func resolveArtifactRefs(txn *memdb.Txn, j *structs.Job) error {
	for _, kind := range []structs.ArtifactKind{structs.KindDataset, structs.KindModel} {
		refs := jobRefs(j, kind)
		table, _ := artifactTable(kind)
		for i, r := range refs {
			a, err := first[structs.Artifact](txn, nil, table, "id", r.Name)
			if err != nil {
				return err
			}
			if a == nil {
				return structs.NewError(structs.CodeNotFound, "%s %q does not exist: push it first (nai %s push)", kind, r.Name, kind)
			}
			v, err := a.Resolve(r.Version)
			if err != nil {
				return err
			}
			// Whatever the submitter put in these fields is replaced.
			refs[i].Version = strconv.Itoa(v.Version)
			refs[i].Digest, refs[i].Path = v.Digest, v.Path
		}
	}
	return nil
}

// registerOutputModel makes a completed job's outputs the next version of
// the model its output block names, with lineage: the job, the dataset and
// model versions it read (pinned at submit time), the parent version (the
// same model, if it read one) and its final metrics. It runs in the
// transaction that completes the job, so the two are never seen apart.
//
// The version's serve command is the job's output { serve }, else the one
// its client found among the outputs (a serve.py).
func (w *writer) registerOutputModel(j *structs.Job) error {
	if j.Output == nil || j.Output.Model == "" || j.OutputDigest == "" {
		return nil
	}
	old, err := first[structs.Artifact](w.txn, nil, tableModels, "id", j.Output.Model)
	if err != nil {
		return err
	}
	a := newOrCopy(old, structs.KindModel, j.Output.Model, j.User, j.Group, w.now, w.index)
	lin := &structs.Lineage{
		JobID: j.ID, JobName: j.Name,
		Datasets:      slices.Clone(j.Datasets),
		Models:        slices.Clone(j.Models),
		MetricsDigest: j.MetricsDigest,
	}
	for _, m := range j.Models {
		if m.Name == j.Output.Model {
			lin.ParentVersion, _ = strconv.Atoi(m.Version)
		}
	}
	v := &structs.ArtifactVersion{
		Digest: j.OutputDigest, Size: j.OutputSize,
		Description: "output of job " + j.ID, CreateTime: w.now, CreatedBy: j.User,
		Metrics: maps.Clone(j.Metrics), NonFiniteMetrics: structs.CloneNonFinite(j.NonFiniteMetrics), Lineage: lin,
		Serve: slices.Clone(j.Output.Serve),
	}
	if len(v.Serve) == 0 {
		v.Serve = slices.Clone(j.OutputServe)
	}
	if err := addVersion(w.txn, tableModels, w.index, w.now, a, v); err != nil {
		return err
	}
	j.OutputVersion = v.Version
	return nil
}

// ArtifactByName returns one dataset or model, or nil when there is none.
func (sn *Snapshot) ArtifactByName(ws memdb.WatchSet, kind structs.ArtifactKind, name string) (*structs.Artifact, error) {
	table, err := artifactTable(kind)
	if err != nil {
		return nil, err
	}
	return first[structs.Artifact](sn.txn, ws, table, "id", name)
}

// Artifacts lists the datasets or models by name.
func (sn *Snapshot) Artifacts(ws memdb.WatchSet, kind structs.ArtifactKind) ([]*structs.Artifact, error) {
	table, err := artifactTable(kind)
	if err != nil {
		return nil, err
	}
	return list[structs.Artifact](sn.txn, ws, table, "id")
}

// ArtifactUsers maps each version of kind name to the ids of the jobs
// (any status) that read it, in id order.
func (sn *Snapshot) ArtifactUsers(kind structs.ArtifactKind, name string) (map[int][]string, error) {
	jobs, err := list[structs.Job](sn.txn, nil, tableJobs, "id")
	if err != nil {
		return nil, err
	}
	out := map[int][]string{}
	for _, j := range jobs {
		for _, r := range jobRefs(j, kind) {
			if n, err := strconv.Atoi(r.Version); err == nil && r.Name == name {
				out[n] = append(out[n], j.ID)
			}
		}
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinIDs(ids []string) string {
	const most = 10
	s := ""
	for i, id := range ids {
		if i == most {
			return s + fmt.Sprintf(" and %d more", len(ids)-most)
		}
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s
}

// checkStorageQuota refuses a new version of size bytes that would take
// its group (or, for an artifact without a group, its user) past the
// storage quota.
func checkStorageQuota(txn *memdb.Txn, a *structs.Artifact, size int64) error {
	kind, name := structs.AccountGroup, a.Group
	if name == "" {
		kind, name = structs.AccountUser, a.User
	}
	q, err := first[structs.AccountQuota](txn, nil, tableQuotas, "id", string(kind), name)
	if err != nil || q == nil || q.MaxStorageBytes == 0 {
		return err
	}
	var used int64
	for _, table := range []string{tableDatasets, tableModels, tablePlugins} {
		all, err := list[structs.Artifact](txn, nil, table, "id")
		if err != nil {
			return err
		}
		for _, x := range all {
			owner := x.Group
			if kind == structs.AccountUser {
				owner = x.User
				if x.Group != "" {
					continue
				}
			}
			if owner != name {
				continue
			}
			for _, v := range x.Versions {
				used += v.Size
			}
		}
	}
	if used+size > q.MaxStorageBytes {
		return structs.NewError(structs.CodeQuotaExceeded, "QuotaExceeded: %s %s stores %s of its %s of datasets and models; this version of %s does not fit (remove old versions with nai %s rm)",
			kind, name, structs.FormatSize(used), structs.FormatSize(q.MaxStorageBytes), structs.FormatSize(size), a.Kind)
	}
	return nil
}
