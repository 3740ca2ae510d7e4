package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// artifactRoutes registers the dataset and model registries, resumable blob
// uploads and the full metric history.
func (s *Server) artifactRoutes(mux *http.ServeMux) {
	for _, k := range []struct {
		kind   structs.ArtifactKind
		prefix string
	}{{structs.KindDataset, "/v1/datasets"}, {structs.KindModel, "/v1/models"}} {
		kind := k.kind
		mux.HandleFunc("PUT "+k.prefix+"/{name}", func(w http.ResponseWriter, r *http.Request) { s.handleArtifactPush(w, r, kind) })
		mux.HandleFunc("GET "+k.prefix, func(w http.ResponseWriter, r *http.Request) { s.handleArtifactList(w, r, kind) })
		mux.HandleFunc("GET "+k.prefix+"/{name}", func(w http.ResponseWriter, r *http.Request) { s.handleArtifactGet(w, r, kind) })
		mux.HandleFunc("DELETE "+k.prefix+"/{name}/versions/{version}", func(w http.ResponseWriter, r *http.Request) { s.handleArtifactDelete(w, r, kind) })
	}
	s.blobUploadRoutes(mux)
}

func requestUser(r *http.Request) string {
	if u := r.Header.Get(api.UserHeader); u != "" {
		return u
	}
	return "anonymous"
}

func (s *Server) handleArtifactPush(w http.ResponseWriter, r *http.Request, kind structs.ArtifactKind) {
	var req structs.ArtifactPushRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Who, what and when are the server's to say.
	req.Kind, req.Name, req.User, req.Now = kind, r.PathValue("name"), requestUser(r), time.Now().UTC()
	if err := req.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Digest != "" {
		// A version must never name content the servers do not have.
		size, err := s.blobSize(r.Context(), req.Digest)
		if err != nil {
			if structs.CodeOf(err) == structs.CodeNotFound {
				err = structs.NewError(structs.CodeInvalid, "blob %s was not uploaded: upload the content before pushing the %s", req.Digest, kind)
			}
			s.writeError(w, r, err)
			return
		}
		req.Size = size
	}
	t := fsm.DatasetPush
	if kind == structs.KindModel {
		t = fsm.ModelPush
	}
	resp, idx, err := s.apply(t, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, ok := resp.(*structs.ArtifactPushResponse)
	if !ok {
		s.writeError(w, r, fmt.Errorf("raft answered a %s push with %T", kind, resp))
		return
	}
	out.Index = idx
	writeJSON(w, idx, out)
}

func (s *Server) handleArtifactList(w http.ResponseWriter, r *http.Request, kind structs.ArtifactKind) {
	var out []*structs.Artifact
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		as, err := snap.Artifacts(ws, kind)
		if err != nil {
			return 0, err
		}
		out = as
		return snap.Index(), nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if out == nil {
		out = []*structs.Artifact{}
	}
	writeJSON(w, idx, out)
}

// artifactOrNotFound reads one artifact with each version's users filled in.
func artifactOrNotFound(snap *state.Snapshot, ws memdb.WatchSet, kind structs.ArtifactKind, name string) (*structs.Artifact, error) {
	a, err := snap.ArtifactByName(ws, kind, name)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, structs.NewError(structs.CodeNotFound, "%s %q not found", kind, name)
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

func (s *Server) handleArtifactGet(w http.ResponseWriter, r *http.Request, kind structs.ArtifactKind) {
	name := r.PathValue("name")
	var out *structs.Artifact
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		a, err := artifactOrNotFound(snap, ws, kind, name)
		if err != nil {
			return 0, err
		}
		out = a
		return a.ModifyIndex, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, out)
}

func (s *Server) handleArtifactDelete(w http.ResponseWriter, r *http.Request, kind structs.ArtifactKind) {
	v := r.PathValue("version")
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		s.writeError(w, r, structs.NewError(structs.CodeInvalid, "version %q is invalid: expected a number such as 3", v))
		return
	}
	req := &structs.ArtifactDeleteRequest{Kind: kind, Name: r.PathValue("name"), Version: n, Now: time.Now().UTC()}
	_, idx, err := s.apply(fsm.ArtifactDelete, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, idx, map[string]any{"kind": kind, "name": req.Name, "version": n, "index": idx})
}

// maxHistoryLines bounds the metric history one answer carries.
const maxHistoryLines = 1_000_000

// metricsHistory reads the blob of a job's full metric history: every line
// of its NAI_METRICS_FILE that is a JSON object, in order. A job that has
// not ended (or reported no metrics) has none yet.
func (s *Server) metricsHistory(j *structs.Job) ([]json.RawMessage, error) {
	if j.MetricsDigest == "" {
		return nil, nil
	}
	f, err := s.openBlob(context.Background(), j.MetricsDigest)
	if err != nil {
		return nil, fmt.Errorf("metric history of job %s: %w", j.ID, err)
	}
	defer f.Close()
	var out []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(out) < maxHistoryLines {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' || !json.Valid(line) {
			continue
		}
		out = append(out, json.RawMessage(slices.Clone(line)))
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("metric history of job %s: %w", j.ID, err)
	}
	return out, nil
}
