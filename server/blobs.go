package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/nai-project/nai/structs"
)

// BlobStore keeps content-addressed files (job outputs today; code,
// datasets and models later) under one directory, named by sha256. A blob
// is written to a temporary file while it is hashed and renamed into place
// only when complete, so a half-written blob is never visible.
type BlobStore struct {
	dir string
}

// MaxBlobSize bounds one upload (1 TiB): a client that sends more is broken.
const MaxBlobSize = int64(1) << 40

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// NewBlobStore opens (creating) a blob store in dir.
func NewBlobStore(dir string) (*BlobStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("create blob store %s: %w", dir, err)
	}
	return &BlobStore{dir: dir}, nil
}

func (b *BlobStore) path(digest string) string {
	return filepath.Join(b.dir, digest[:2], digest)
}

// Put streams r into the store and returns its sha256 digest and size.
func (b *BlobStore) Put(r io.Reader) (string, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "upload-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob store: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxBlobSize+1))
	if err != nil {
		tmp.Close()
		return "", 0, fmt.Errorf("blob store: receive: %w", err)
	}
	if n > MaxBlobSize {
		tmp.Close()
		return "", 0, structs.NewError(structs.CodeInvalid, "blob larger than the %s limit", structs.FormatSize(MaxBlobSize))
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", 0, fmt.Errorf("blob store: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("blob store: close: %w", err)
	}
	digest := hex.EncodeToString(h.Sum(nil))
	dst := b.path(digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("blob store: commit %s: %w", digest, err)
	}
	return digest, n, nil
}

// Open returns a blob for reading.
func (b *BlobStore) Open(digest string) (*os.File, error) {
	if !digestRE.MatchString(digest) {
		return nil, structs.NewError(structs.CodeInvalid, "invalid blob digest %q: expected 64 hex digits", digest)
	}
	f, err := os.Open(b.path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, structs.NewError(structs.CodeNotFound, "blob %s not found on this server", digest)
	}
	return f, err
}
