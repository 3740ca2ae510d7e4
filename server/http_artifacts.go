package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/internal/suggest"
	"github.com/nai-project/nai/structs"
)

// artifactRoutes are the dataset, model and plugin registries: the kinds
// share their routes' shapes and rules.
func (s *Server) artifactRoutes() []route {
	var rs []route
	for _, k := range []struct {
		kind   structs.ArtifactKind
		prefix string
	}{{structs.KindDataset, "/v1/datasets"}, {structs.KindModel, "/v1/models"}, {structs.KindPlugin, "/v1/plugins"}} {
		kind := k.kind
		rs = append(rs,
			route{Method: "PUT", Path: k.prefix + "/{name}", Cap: acl.User,
				handle: func(r *request) (any, uint64, error) { return s.artifactPush(r, kind) },
				Doc:    "record a new version of a " + string(kind) + " whose content was uploaded (group member)"},
			route{Method: "GET", Path: k.prefix, Cap: acl.User,
				handle: func(r *request) (any, uint64, error) { return s.artifactList(r, kind) },
				Doc:    "the " + string(kind) + "s the caller may see"},
			route{Method: "GET", Path: k.prefix + "/{name}", Cap: acl.User,
				handle: func(r *request) (any, uint64, error) { return s.artifactGet(r, kind) },
				Doc:    "one " + string(kind) + " with its versions, lineage and users (group reader)"},
			route{Method: "GET", Path: k.prefix + "/{name}/versions/{version}/content", Cap: acl.User,
				stream: func(w http.ResponseWriter, r *request) error { return s.artifactContent(w, r, kind) },
				Doc:    "the tar+gzip content of one version (group reader)"},
			route{Method: "DELETE", Path: k.prefix + "/{name}/versions/{version}", Cap: acl.User,
				handle: func(r *request) (any, uint64, error) { return s.artifactDelete(r, kind) },
				Doc:    "remove one version (group admin)"},
		)
	}
	return rs
}

func (s *Server) artifactPush(r *request, kind structs.ArtifactKind) (any, uint64, error) {
	var req structs.ArtifactPushRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	// What, when, (with ACLs) who and the lineage are the server's to
	// say.
	req.Kind, req.Name, req.Now, req.Lineage = kind, r.PathValue("name"), time.Now().UTC(), nil
	if err := s.ownPush(r, &req); err != nil {
		return nil, 0, err
	}
	if err := pushedByJob(r, &req); err != nil {
		return nil, 0, err
	}
	if req.DryRun {
		// Checked as the push will be, its content not uploaded yet.
		check := req
		if check.Path == "" && check.Digest == "" {
			check.Digest = strings.Repeat("0", 64)
		}
		if err := check.Validate(); err != nil {
			return nil, 0, err
		}
		// Audited as the write route it is, it must not read as a push.
		r.audit = fmt.Sprintf("%s %s (dry run: nothing written)", kind, req.Name)
		return &structs.ArtifactPushResponse{Kind: kind, Name: req.Name}, r.snap.Index(), nil
	}
	if err := req.Validate(); err != nil {
		return nil, 0, err
	}
	if req.Digest != "" {
		// A version must never name content the servers do not have, nor
		// content the caller may not name (blob_claims.go): both are
		// answered alike, so a digest tells nobody what exists.
		notUploaded := structs.NewError(structs.CodeInvalid, "blob %s was not uploaded: upload the content before pushing the %s", req.Digest, kind)
		c := &blobClaims{s: s, r: r}
		if ok, err := c.may(r.Context(), req.Digest); err != nil {
			return nil, 0, err
		} else if !ok {
			return nil, 0, notUploaded
		}
		size, err := s.blobSize(r.Context(), req.Digest)
		if err != nil {
			if structs.CodeOf(err) == structs.CodeNotFound {
				err = notUploaded
			}
			return nil, 0, err
		}
		req.Size = size
	}
	t := fsm.DatasetPush
	switch kind {
	case structs.KindModel:
		t = fsm.ModelPush
	case structs.KindPlugin:
		t = fsm.PluginPush
	}
	resp, idx, err := s.apply(t, &req)
	if err != nil {
		return nil, 0, err
	}
	out, ok := resp.(*structs.ArtifactPushResponse)
	if !ok {
		return nil, 0, fmt.Errorf("raft answered a %s push with %T", kind, resp)
	}
	out.Index = idx
	r.audit = fmt.Sprintf("%s %s:%d", kind, req.Name, out.Version)
	return out, idx, nil
}

// ownPush decides who owns a pushed version. Without ACLs the request
// says (the CLI sends the local account); with ACLs the token's user
// pushes, into the artifact's group when it exists (needs role member),
// else into the group it names or the user's personal group.
func (s *Server) ownPush(r *request, req *structs.ArtifactPushRequest) error {
	a := r.acl
	if !a.Enabled() {
		if req.User == "" {
			req.User = "anonymous"
		}
		return nil
	}
	me := a.UserName()
	if me == "" {
		return structs.NewError(structs.CodeForbidden, "permission denied: pushing needs a token of a user (this one acts for nobody)")
	}
	if req.User != "" && req.User != me {
		return structs.NewError(structs.CodeForbidden, "permission denied: you are user %s and may not push as user %s", me, req.User)
	}
	req.User = me
	old, err := r.snap.ArtifactByName(nil, req.Kind, req.Name)
	if err != nil {
		return err
	}
	if old != nil {
		if !a.CanSeeArtifact(req.Kind, old.User, old.Group) {
			// Whose the name is (its group, its owner) is none of the
			// caller's business: only that it is taken.
			return structs.NewError(structs.CodeForbidden, "permission denied: the %s name %q is taken by another group: choose another name", req.Kind, req.Name)
		}
		if req.Group != "" && req.Group != old.Group && old.Group != "" {
			return structs.NewError(structs.CodeConflict, "%s %s belongs to group %s: a version cannot go to group %s", req.Kind, req.Name, old.Group, req.Group)
		}
		req.Group = old.Group
		return a.CheckArtifact(req.Kind, req.Name, old.User, old.Group, acl.Write)
	}
	if req.Group == "" {
		req.Group = me
	}
	g, err := r.snap.GroupByName(nil, req.Group)
	if err != nil {
		return err
	}
	if g == nil {
		return structs.NewError(structs.CodeNotFound, "group %s not found", req.Group)
	}
	return a.CheckGroupWrite(req.Group)
}

// pushedByJob fills the lineage of a dataset version that a running job
// pushes itself (a labelling service saving its work): the caller must be
// allowed to act on the job, and the lineage is what the job reads and was
// built from, as the servers pinned it, never what the caller claims.
func pushedByJob(r *request, req *structs.ArtifactPushRequest) error {
	if req.JobID == "" {
		return nil
	}
	if req.Kind != structs.KindDataset {
		return structs.NewError(structs.CodeInvalid, "only a dataset version pushed by a job records that job")
	}
	j, err := jobFor(r, r.snap, nil, req.JobID, acl.Write)
	if err != nil {
		return err
	}
	if j.Status != structs.JobRunning {
		return structs.NewError(structs.CodeConflict, "job %s is %s: only a running job can push a version as its own", j.ID, j.Status)
	}
	req.Lineage = j.LineageOf(req.Name)
	return nil
}

func (s *Server) artifactList(r *request, kind structs.ArtifactKind) (any, uint64, error) {
	var out []*structs.Artifact
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		as, err := snap.Artifacts(ws, kind)
		if err != nil {
			return 0, err
		}
		out = out[:0]
		for _, a := range as {
			if r.acl.CanSeeArtifact(kind, a.User, a.Group) {
				out = append(out, a)
			}
		}
		return snap.Index(), nil
	})
	if err != nil {
		return nil, 0, err
	}
	if out == nil {
		out = []*structs.Artifact{}
	}
	return out, idx, nil
}

// missingArtifact is the not-found error for a dataset or model name that
// does not exist, with the name the caller probably meant among those it
// may read (never one it may not: that would tell it the name exists).
func missingArtifact(r *request, kind structs.ArtifactKind, name, format string) error {
	msg := fmt.Sprintf(format, kind, name)
	if all, err := r.snap.Artifacts(nil, kind); err == nil {
		var names []string
		for _, a := range all {
			if r.acl.CheckArtifact(kind, a.Name, a.User, a.Group, acl.Read) == nil {
				names = append(names, a.Name)
			}
		}
		if best := suggest.Closest(name, names); best != "" {
			msg += fmt.Sprintf("; did you mean %q?", best)
		}
	}
	return structs.NewError(structs.CodeNotFound, "%s", msg)
}

// artifactOrNotFound reads one artifact with each version's users filled in.
func artifactOrNotFound(r *request, snap *state.Snapshot, ws memdb.WatchSet, kind structs.ArtifactKind, name string) (*structs.Artifact, error) {
	a, err := snap.ArtifactByName(ws, kind, name)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, missingArtifact(r, kind, name, "%s %q not found")
	}
	users, err := snap.ArtifactUsers(kind, name)
	if err != nil {
		return nil, err
	}
	c := a.Copy()
	for _, v := range c.Versions {
		v.UsedBy = slices.Clone(users[v.Version])
	}
	return c, nil
}

func (s *Server) artifactGet(r *request, kind structs.ArtifactKind) (any, uint64, error) {
	name := r.PathValue("name")
	var out *structs.Artifact
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		a, err := artifactOrNotFound(r, snap, ws, kind, name)
		if err != nil {
			return 0, err
		}
		if err := checkArtifact(r, kind, name, a, acl.Read, "%s %q not found"); err != nil {
			return 0, err
		}
		out = a
		return a.ModifyIndex, nil
	})
	return out, idx, err
}

// artifactContent streams one version's archive: how people pull.
func (s *Server) artifactContent(w http.ResponseWriter, r *request, kind structs.ArtifactKind) error {
	name := r.PathValue("name")
	a, err := r.snap.ArtifactByName(nil, kind, name)
	if err != nil {
		return err
	}
	if a == nil {
		return missingArtifact(r, kind, name, "%s %q not found")
	}
	if err := checkArtifact(r, kind, name, a, acl.ReadData, "%s %q not found"); err != nil {
		return err
	}
	v, err := a.Resolve(r.PathValue("version"))
	if err != nil {
		return err
	}
	if v.Digest == "" {
		return structs.NewError(structs.CodeInvalid, "%s %s:%d is the path %s on every client, not stored content", kind, name, v.Version, v.Path)
	}
	f, err := s.openBlob(r.Context(), v.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("X-Nai-Digest", v.Digest)
	http.ServeContent(w, r.Request, "", time.Time{}, f)
	return nil
}

func (s *Server) artifactDelete(r *request, kind structs.ArtifactKind) (any, uint64, error) {
	v := r.PathValue("version")
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return nil, 0, structs.NewError(structs.CodeInvalid, "version %q is invalid: expected a number such as 3", v)
	}
	name := r.PathValue("name")
	a, err := r.snap.ArtifactByName(nil, kind, name)
	if err != nil {
		return nil, 0, err
	}
	if a == nil {
		return nil, 0, missingArtifact(r, kind, name, "%s %q not found")
	}
	if err := checkArtifact(r, kind, name, a, acl.Manage, "%s %q not found"); err != nil {
		return nil, 0, err
	}
	req := &structs.ArtifactDeleteRequest{Kind: kind, Name: name, Version: n, Now: time.Now().UTC()}
	_, idx, err := s.apply(fsm.ArtifactDelete, req)
	if err != nil {
		return nil, 0, err
	}
	return &structs.ArtifactDeleteResponse{Kind: kind, Name: req.Name, Version: n, Index: idx}, idx, nil
}

// maxHistoryLines bounds the metric history one answer carries.
const maxHistoryLines = 1_000_000

// metricsHistory reads the blob of a job's full metric history: every line
// of its NAI_METRICS_FILE that is a JSON object, in order (parseHistory).
// A job that has not ended (or reported no metrics) has none yet.
func (s *Server) metricsHistory(j *structs.Job) (*metricHistory, error) {
	if j.MetricsDigest == "" {
		return &metricHistory{}, nil
	}
	f, err := s.openBlob(context.Background(), j.MetricsDigest)
	if err != nil {
		return nil, fmt.Errorf("metric history of job %s: %w", j.ID, err)
	}
	defer f.Close()
	return parseHistory(f, j.ID)
}
