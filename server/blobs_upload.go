package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nai-project/nai/structs"
)

// Resumable uploads. A large dataset sent over a flaky link must not start
// again from zero: a client opens a session (POST /v1/blobs/uploads), sends
// chunks that say where they start (PATCH with Content-Range), asks how far
// the server got after an interruption (GET), and commits with the digest it
// computed (PUT ?digest=). The session's bytes live in uploads/<id> and are
// hashed at commit; only a file whose sha256 matches is renamed into the
// store, so a half or corrupt upload is never visible as a blob.

var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// UploadStatus describes an upload session.
type UploadStatus struct {
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
}

func (b *BlobStore) uploadPath(id string) (string, error) {
	if !uploadIDRE.MatchString(id) {
		return "", structs.NewError(structs.CodeInvalid, "upload id %q is invalid: expected 32 hex digits", id)
	}
	return filepath.Join(b.dir, "uploads", id), nil
}

// StartUpload opens a new, empty upload session.
func (b *BlobStore) StartUpload() (string, error) {
	dir := filepath.Join(b.dir, "uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("blob store: upload id: %w", err)
	}
	b.dropStaleUploads(dir, time.Now().Add(-UploadTTL))
	id := hex.EncodeToString(raw[:])
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("blob store: start upload: %w", err)
	}
	return id, f.Close()
}

// openUpload opens a session's file for writing, locked against another
// request on the same session.
func (b *BlobStore) openUpload(id string) (*os.File, int64, error) {
	p, err := b.uploadPath(id)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, structs.NewError(structs.CodeNotFound, "upload %s not found (it was committed, aborted, or never started)", id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blob store: open upload %s: %w", id, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, 0, structs.NewError(structs.CodeConflict, "upload %s is busy: another request is writing to it", id)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob store: stat upload %s: %w", id, err)
	}
	return f, fi.Size(), nil
}

// UploadTTL is how long an untouched upload session is kept for a client
// to resume it.
const UploadTTL = 24 * time.Hour

// dropStaleUploads removes sessions nobody wrote to since before cutoff; it
// runs when a session starts, which is when space is about to be needed.
func (b *BlobStore) dropStaleUploads(dir string, cutoff time.Time) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) && uploadIDRE.MatchString(e.Name()) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// UploadOffset is how many bytes a session holds: where the next chunk
// must start.
func (b *BlobStore) UploadOffset(id string) (int64, error) {
	p, err := b.uploadPath(id)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, structs.NewError(structs.CodeNotFound, "upload %s not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("blob store: %w", err)
	}
	return fi.Size(), nil
}

// AppendUpload writes a chunk that starts at start, which must be the
// session's current size, and returns the new size. A chunk cut short
// keeps what arrived: the client asks for the offset and goes on from there.
func (b *BlobStore) AppendUpload(id string, start int64, r io.Reader) (int64, error) {
	f, size, err := b.openUpload(id)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if start != size {
		return size, structs.NewError(structs.CodeConflict, "upload %s holds %d bytes; a chunk starting at %d does not follow on (resume at %d)", id, size, start, size)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		return size, fmt.Errorf("blob store: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, MaxBlobSize-size+1))
	size += n
	if err != nil {
		return size, fmt.Errorf("blob store: receive chunk of upload %s at %d: %w", id, start+n, err)
	}
	if size > MaxBlobSize {
		return size, structs.NewError(structs.CodeInvalid, "upload %s is larger than the %s limit", id, structs.FormatSize(MaxBlobSize))
	}
	return size, nil
}

// CommitUpload verifies a session's content against digest and makes it
// a blob. On a mismatch the session stays, so the client can inspect the
// offset or abort.
func (b *BlobStore) CommitUpload(id, digest string) (int64, error) {
	if !digestRE.MatchString(digest) {
		return 0, structs.NewError(structs.CodeInvalid, "digest %q is invalid: expected 64 hex digits (sha256)", digest)
	}
	f, size, err := b.openUpload(id)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rf, err := os.Open(f.Name())
	if err != nil {
		return 0, fmt.Errorf("blob store: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(h, rf)
	rf.Close()
	if err != nil {
		return 0, fmt.Errorf("blob store: hash upload %s: %w", id, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return 0, structs.NewError(structs.CodeInvalid, "upload %s has sha256 %s, not %s: the content is incomplete or corrupt", id, got, digest)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("blob store: sync: %w", err)
	}
	dst := b.path(digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return 0, fmt.Errorf("blob store: commit %s: %w", digest, err)
	}
	return size, nil
}

// AbortUpload drops a session.
func (b *BlobStore) AbortUpload(id string) error {
	f, _, err := b.openUpload(id)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("blob store: abort upload %s: %w", id, err)
	}
	return nil
}

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
	return &UploadStatus{ID: id}, 0, nil
}

func (s *Server) uploadStatus(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	off, err := s.blobs.UploadOffset(id)
	if err != nil {
		return nil, 0, err
	}
	return &UploadStatus{ID: id, Offset: off}, 0, nil
}

func (s *Server) uploadChunk(r *request) (any, uint64, error) {
	id := r.PathValue("id")
	start, length, err := parseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		drain(r.Request)
		return nil, 0, err
	}
	size, err := s.blobs.AppendUpload(id, start, io.LimitReader(r.Body, length+1))
	if err == nil && size-start != length {
		err = structs.NewError(structs.CodeInvalid, "chunk of upload %s carried %d bytes, Content-Range said %d (resume at %d)", id, size-start, length, size)
	}
	if err != nil {
		return nil, 0, err
	}
	return &UploadStatus{ID: id, Offset: size}, 0, nil
}

func (s *Server) uploadCommit(r *request) (any, uint64, error) {
	digest := r.URL.Query().Get("digest")
	size, err := s.commitUpload(r.Context(), r.PathValue("id"), digest)
	if err != nil {
		return nil, 0, err
	}
	r.audit = "blob " + digest
	return &structs.BlobInfo{Digest: digest, Size: size}, 0, nil
}

func (s *Server) uploadAbort(r *request) (any, uint64, error) {
	if err := s.blobs.AbortUpload(r.PathValue("id")); err != nil {
		return nil, 0, err
	}
	return &UploadStatus{ID: r.PathValue("id")}, 0, nil
}
