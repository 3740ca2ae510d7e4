package blobstore

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
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nai-project/nai/structs"
)

// Resumable uploads. A large dataset sent over a flaky link must not start
// again from zero: a client opens a session, sends chunks that say where
// they start, asks how far the server got after an interruption, and
// commits with the digest it computed. The session's bytes live in
// uploads/<id> and are hashed at commit; only a file whose sha256 matches
// becomes a blob (through the store's one commit path), so a half or
// corrupt upload is never visible as a blob.

var uploadIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{32}$`) })

// UploadTTL is how long an untouched upload session is kept for a client
// to resume it.
const UploadTTL = 24 * time.Hour

func (s *Store) uploadPath(id string) (string, error) {
	if !uploadIDRE().MatchString(id) {
		return "", structs.NewError(structs.CodeInvalid, "upload id %q is invalid: expected 32 hex digits", id)
	}
	return filepath.Join(s.dir, "uploads", id), nil
}

// StartUpload opens a new, empty upload session and returns its id.
func (s *Store) StartUpload() (string, error) {
	dir := filepath.Join(s.dir, "uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("blob store: upload id: %w", err)
	}
	dropStaleUploads(dir, time.Now().Add(-UploadTTL))
	id := hex.EncodeToString(raw[:])
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("blob store: start upload: %w", err)
	}
	return id, f.Close()
}

// openUpload opens a session's file for writing, locked against another
// request on the same session.
func (s *Store) openUpload(id string) (*os.File, int64, error) {
	p, err := s.uploadPath(id)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
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

// dropStaleUploads removes sessions nobody wrote to since before cutoff; it
// runs when a session starts, which is when space is about to be needed.
func dropStaleUploads(dir string, cutoff time.Time) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) && uploadIDRE().MatchString(e.Name()) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// UploadOffset is how many bytes a session holds: where the next chunk
// must start.
func (s *Store) UploadOffset(id string) (int64, error) {
	p, err := s.uploadPath(id)
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
func (s *Store) AppendUpload(id string, start int64, r io.Reader) (int64, error) {
	f, size, err := s.openUpload(id)
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
	n, err := io.Copy(f, io.LimitReader(r, MaxSize-size+1))
	size += n
	if err != nil {
		return size, fmt.Errorf("blob store: receive chunk of upload %s at %d: %w", id, start+n, err)
	}
	if size > MaxSize {
		return size, structs.NewError(structs.CodeInvalid, "upload %s is larger than the %s limit", id, structs.FormatSize(MaxSize))
	}
	return size, nil
}

// CommitUpload verifies a session's content against digest and makes it
// a blob. On a mismatch the session stays, so the client can inspect the
// offset or abort.
func (s *Store) CommitUpload(id, digest string) (structs.BlobInfo, error) {
	if !ValidDigest(digest) {
		return structs.BlobInfo{}, invalidDigest(digest)
	}
	f, size, err := s.openUpload(id)
	if err != nil {
		return structs.BlobInfo{}, err
	}
	defer f.Close()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return structs.BlobInfo{}, fmt.Errorf("blob store: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return structs.BlobInfo{}, fmt.Errorf("blob store: hash upload %s: %w", id, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return structs.BlobInfo{}, structs.NewError(structs.CodeInvalid, "upload %s has sha256 %s, not %s: the content is incomplete or corrupt", id, got, digest)
	}
	if err := s.commit(f, digest); err != nil {
		return structs.BlobInfo{}, err
	}
	return structs.BlobInfo{Digest: digest, Size: size}, nil
}

// AbortUpload drops a session.
func (s *Store) AbortUpload(id string) error {
	f, _, err := s.openUpload(id)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("blob store: abort upload %s: %w", id, err)
	}
	return nil
}
