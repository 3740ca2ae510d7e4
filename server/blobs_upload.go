package server

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// Resumable upload routes (the sessions themselves: blobstore/upload.go).
// A client opens a session (POST /v1/blobs/uploads), sends chunks that say
// where they start (PATCH with Content-Range), asks how far the server got
// after an interruption (GET), and commits with the digest it computed
// (PUT ?digest=).

// parseContentRange reads "bytes START-END/TOTAL" or "bytes START-END/*"
// and returns START and the chunk's length.
func parseContentRange(v string) (int64, int64, error) {
	bad := structs.NewError(structs.CodeInvalid, "Content-Range %q is invalid: expected \"bytes START-END/*\"", v)
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, bad
	}
	rng, _, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, bad
	}
	a, z, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, bad
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(z, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, bad
	}
	return start, end - start + 1, nil
}

func (s *Server) uploadStart(r *request) (any, uint64, error) {
	id, err := s.blobs.StartUpload()
	if err != nil {
		return nil, 0, err
	}
	s.uploads.startSession(id, r.acl.UserName())
	return &structs.UploadSession{ID: id}, 0, nil
}

func (s *Server) uploadStatus(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	off, err := s.blobs.UploadOffset(id)
	if err != nil {
		return nil, 0, err
	}
	return &structs.UploadSession{ID: id, Offset: off}, 0, nil
}

func (s *Server) uploadChunk(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	start, length, err := parseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		drain(r.Request)
		return nil, 0, err
	}
	// A session's bytes count against what its user may keep uploaded
	// but unused (blob_claims.go), this chunk included.
	room, refuse, err := s.uploadRoom(r)
	if err != nil {
		drain(r.Request)
		return nil, 0, err
	}
	if room >= 0 && length > room {
		drain(r.Request)
		return nil, 0, refuse(length)
	}
	size, err := s.blobs.AppendUpload(id, start, io.LimitReader(r.Body, length+1))
	if err == nil && size-start != length {
		err = structs.NewError(structs.CodeInvalid, "chunk of upload %s carried %d bytes, Content-Range said %d (resume at %d)", id, size-start, length, size)
	}
	if err != nil {
		return nil, 0, err
	}
	return &structs.UploadSession{ID: id, Offset: size}, 0, nil
}

func (s *Server) uploadCommit(r *request) (any, uint64, error) {
	digest := r.URL.Query().Get("digest")
	info, err := s.blobr.CommitUpload(r.Context(), r.PathValue("id"), digest)
	if err != nil {
		return nil, 0, err
	}
	s.uploads.endSession(r.PathValue("id"))
	s.uploads.record(r.acl.UserName(), structs.BlobUpload{Digest: info.Digest, Size: info.Size, Time: time.Now().UTC()}, s.uploadsSince())
	r.audit = "blob " + digest
	return &info, 0, nil
}

func (s *Server) uploadAbort(r *request) (any, uint64, error) {
	if err := s.blobs.AbortUpload(r.PathValue("id")); err != nil {
		return nil, 0, err
	}
	s.uploads.endSession(r.PathValue("id"))
	return &structs.UploadSession{ID: r.PathValue("id")}, 0, nil
}
