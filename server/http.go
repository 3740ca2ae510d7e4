package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// maxBody bounds a JSON request: a sweep of 10,000 jobs fits easily.
const maxBody = 32 << 20

// maxWait bounds a blocking query.
const maxWait = 10 * time.Minute

// Routes registers the server's HTTP API on mux.
func (s *Server) Routes(outer *http.ServeMux) {
	// Every /v1/ route passes through forward (forward.go): in a cluster,
	// writes and consistent reads reach the raft leader from any server.
	mux := http.NewServeMux()
	outer.Handle("/v1/", s.forward(mux))
	s.clusterRoutes(mux)
	s.policyRoutes(mux)
	mux.HandleFunc("PUT /v1/jobs", s.handleJobRegister)
	mux.HandleFunc("POST /v1/jobs", s.handleJobRegister)
	mux.HandleFunc("POST /v1/jobs/plan", s.handleJobPlan)
	mux.HandleFunc("GET /v1/jobs", s.handleJobList)
	mux.HandleFunc("GET /v1/jobs/{id}", s.handleJobGet)
	mux.HandleFunc("DELETE /v1/jobs/{id}", s.handleJobCancel)
	mux.HandleFunc("GET /v1/jobs/{id}/allocations", s.handleJobAllocs)
	mux.HandleFunc("GET /v1/jobs/{id}/logs", s.handleJobLogs)
	mux.HandleFunc("GET /v1/jobs/{id}/outputs", s.handleJobOutputs)
	mux.HandleFunc("GET /v1/jobs/{id}/metrics", s.handleJobMetrics)
	mux.HandleFunc("GET /v1/queue", s.handleQueue)
	mux.HandleFunc("GET /v1/nodes", s.handleNodeList)
	mux.HandleFunc("GET /v1/nodes/{id}", s.handleNodeGet)
	s.nodeDrainRoutes(mux)
	mux.HandleFunc("GET /v1/status/leader", s.handleLeader)
	mux.HandleFunc("PUT /v1/blobs", s.handleBlobPut)
	mux.HandleFunc("GET /v1/blobs/{digest}", s.handleBlobGet)
	s.artifactRoutes(mux)
	s.blobRoutes(mux)

	mux.HandleFunc("PUT /v1/client/nodes", s.handleNodeRegister)
	mux.HandleFunc("GET /v1/client/nodes/{id}/allocations", s.handleNodeAllocs)
	mux.HandleFunc("POST /v1/client/allocations", s.handleAllocUpdate)
	mux.HandleFunc("PUT /v1/client/allocations/{id}/outputs", s.handleOutputUpload)
}

// writeJSON answers with v and the state index.
func writeJSON(w http.ResponseWriter, index uint64, v any) {
	w.Header().Set("Content-Type", "application/json")
	if index > 0 {
		w.Header().Set(api.IndexHeader, strconv.FormatUint(index, 10))
	}
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// writeError answers with the coded error body and a fitting status.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := structs.CodeOf(err)
	status := http.StatusInternalServerError
	if errors.Is(err, syscall.ENOSPC) {
		// A full disk is the operator's to fix, not a bug: say so, and
		// keep serving everything that does not need space.
		err = fmt.Errorf("the server's disk is full: %w", err)
		code, status = structs.CodeUnavailable, http.StatusInsufficientStorage
	}
	switch code {
	case structs.CodeNotFound:
		status = http.StatusNotFound
	case structs.CodeInvalid:
		status = http.StatusBadRequest
	case structs.CodeConflict:
		status = http.StatusConflict
	case structs.CodeNotLeader, structs.CodeUnavailable:
		status = http.StatusServiceUnavailable
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": &structs.Error{Code: code, Message: msg}})
}

// decodeBody reads a JSON body into v, refusing unknown fields so a typo in
// a hand-written request is an error rather than silently ignored.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return structs.NewError(structs.CodeInvalid, "request body larger than %s", structs.FormatSize(maxBody))
		}
		return structs.NewError(structs.CodeInvalid, "request body is not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return structs.NewError(structs.CodeInvalid, "request body has data after the JSON value")
	}
	return nil
}

// blockingParams reads ?index=N&wait=D.
func blockingParams(r *http.Request) (uint64, time.Duration, error) {
	q := r.URL.Query()
	var idx uint64
	if v := q.Get("index"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, structs.NewError(structs.CodeInvalid, "index %q is not a number", v)
		}
		idx = n
	}
	wait := 5 * time.Minute
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return 0, 0, structs.NewError(structs.CodeInvalid, "wait %q is not a duration such as \"30s\"", v)
		}
		wait = d
	}
	if wait > maxWait {
		wait = maxWait
	}
	return idx, wait, nil
}

// blockingQuery runs fn on a snapshot, and again on every change, until the
// index it returns passes minIndex or the wait ends. Without ?index it
// answers at once.
func (s *Server) blockingQuery(r *http.Request, fn func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error)) (uint64, error) {
	minIndex, wait, err := blockingParams(r)
	if err != nil {
		return 0, err
	}
	if minIndex == 0 {
		snap := s.State().Snapshot()
		return fn(nil, snap)
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	var idx uint64
	err = s.State().BlockingQuery(ctx, minIndex, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		i, err := fn(ws, snap)
		idx = i
		return i, err
	})
	if err != nil && ctx.Err() == nil {
		return idx, err
	}
	if r.Context().Err() != nil {
		return idx, fmt.Errorf("request cancelled: %w", r.Context().Err())
	}
	return idx, nil
}

func (s *Server) handleLeader(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 0, s.LeaderAddr())
}

// drain discards what is left of a request body so the connection can be
// reused.
func drain(r *http.Request) { _, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody)) }

func (s *Server) handleBlobPut(w http.ResponseWriter, r *http.Request) {
	digest, size, err := s.putBlob(r.Context(), r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, 0, map[string]any{"digest": digest, "size": size})
}

// handleBlobGet serves a blob, fetching it from a peer when this server
// lacks it (blob_replicate.go).
func (s *Server) handleBlobGet(w http.ResponseWriter, r *http.Request) { s.serveBlob(w, r) }
