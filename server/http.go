package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// maxBody bounds a JSON request: a sweep of 10,000 jobs fits easily.
const maxBody = 32 << 20

// maxWait bounds a blocking query.
const maxWait = 10 * time.Minute

// decodeBody reads a JSON body into v, refusing unknown fields so a typo in
// a hand-written request is an error rather than silently ignored.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if tooLarge := bodyTooLarge(err); tooLarge != nil {
			return tooLarge
		}
		return structs.NewError(structs.CodeInvalid, "request body is not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return structs.NewError(structs.CodeInvalid, "request body has data after the JSON value")
	}
	return nil
}

// bodyTooLarge is the error for a body read past maxBody, nil for any
// other error.
func bodyTooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return structs.NewError(structs.CodeInvalid, "request body larger than %s", structs.FormatSize(maxBody))
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
func (s *Server) blockingQuery(req *request, fn func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error)) (uint64, error) {
	r := req.Request
	minIndex, wait, err := blockingParams(r)
	if err != nil {
		return 0, err
	}
	if minIndex == 0 {
		snap := s.State().Snapshot()
		return fn(nil, snap)
	}
	// The wait may last minutes, and a thousand clients wait at once:
	// the snapshot the request was authorized against must not keep the
	// state as it was when the wait began (a whole version of every
	// table, jobs that job GC has long removed) alive meanwhile.
	req.snap = nil
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

func (s *Server) statusLeader(r *request) (any, uint64, error) { return s.LeaderAddr(), 0, nil }

// drain discards what is left of a request body so the connection can be
// reused.
func drain(r *http.Request) { _, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody)) }

func (s *Server) blobPut(r *request) (any, uint64, error) {
	// What a user keeps uploaded but unused is bounded (blob_claims.go).
	room, refuse, err := s.uploadRoom(r)
	if err != nil {
		return nil, 0, err
	}
	if room >= 0 && r.ContentLength > room {
		drain(r.Request)
		return nil, 0, refuse(r.ContentLength)
	}
	body := &boundedBody{r: r.Body, room: room, refuse: refuse}
	digest, size, err := s.putBlob(r.Context(), body)
	if body.err != nil {
		return nil, 0, body.err
	}
	if err != nil {
		return nil, 0, err
	}
	s.uploads.record(r.acl.UserName(), structs.BlobUpload{Digest: digest, Size: size, Time: time.Now().UTC()}, s.uploadsSince())
	r.audit = "blob " + digest
	return &structs.BlobInfo{Digest: digest, Size: size}, 0, nil
}
