package blobstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/nai-project/nai/structs"
)

// MaxSize bounds one blob (1 TiB): a client that sends more is broken.
const MaxSize = int64(1) << 40

var digestRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

// ValidDigest reports whether d is a lower-case hex sha256.
func ValidDigest(d string) bool { return digestRE().MatchString(d) }

func invalidDigest(d string) error {
	return structs.NewError(structs.CodeInvalid, "invalid blob digest %q: expected 64 hex digits (a sha256)", d)
}

// Store is a content-addressed store of files in one directory. It is
// safe for concurrent use.
type Store struct {
	dir      string
	verified verifiedCache
}

// New opens (creating) a store in dir.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("create blob store %s: %w", dir, err)
	}
	return &Store{dir: dir, verified: verifiedCache{m: map[string]fileStamp{}}}, nil
}

// Path is where digest's file lives (whether or not it exists); for tests
// and operators, never for writing.
func (s *Store) Path(digest string) string {
	return filepath.Join(s.dir, digest[:2], digest)
}

// Put streams r into the store and returns the blob's digest and size.
// With expect set, the content must have that sha256, or nothing is
// stored.
func (s *Store) Put(r io.Reader, expect string) (structs.BlobInfo, error) {
	if expect != "" && !ValidDigest(expect) {
		return structs.BlobInfo{}, invalidDigest(expect)
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return structs.BlobInfo{}, fmt.Errorf("blob store: %w", err)
	}
	// After the commit the name is gone and this fails harmlessly.
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxSize+1))
	if err != nil {
		return structs.BlobInfo{}, fmt.Errorf("blob store: receive: %w", err)
	}
	if n > MaxSize {
		return structs.BlobInfo{}, structs.NewError(structs.CodeInvalid, "blob larger than the %s limit", structs.FormatSize(MaxSize))
	}
	digest := hex.EncodeToString(h.Sum(nil))
	if expect != "" && digest != expect {
		return structs.BlobInfo{}, structs.NewError(structs.CodeInvalid, "content has sha256 %s, not the expected %s", digest, expect)
	}
	if err := s.commit(tmp, digest); err != nil {
		return structs.BlobInfo{}, err
	}
	return structs.BlobInfo{Digest: digest, Size: n}, nil
}

// commit is the one way a file becomes a blob. f is a complete file in the
// store's directory whose content has the sha256 digest (the caller hashed
// it). It is synced, renamed to its digest's name, and the directories are
// synced so that the name survives a crash; the copy is then known to be
// verified. The caller closes f.
func (s *Store) commit(f *os.File, digest string) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob store: sync %s: %w", digest, err)
	}
	dst := s.Path(digest)
	dir := filepath.Dir(dst)
	created := false
	switch err := os.Mkdir(dir, 0o700); {
	case err == nil:
		created = true
	case !errors.Is(err, os.ErrExist):
		return fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("blob store: commit %s: %w", digest, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("blob store: commit %s: %w", digest, err)
	}
	if created {
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("blob store: commit %s: %w", digest, err)
		}
	}
	if fi, err := os.Stat(dst); err == nil {
		s.verified.remember(digest, stampOf(fi))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens a local copy whose content matches its digest. A file that
// changed since it was last verified is hashed again; a corrupt one is
// removed and a *CorruptError (a not-found error) returned. A missing one
// is a not-found error.
func (s *Store) Open(digest string) (*os.File, error) {
	if !ValidDigest(digest) {
		return nil, invalidDigest(digest)
	}
	f, err := os.Open(s.Path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, structs.NewError(structs.CodeNotFound, "blob %s not found on this server", digest)
	}
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat blob %s: %w", digest, err)
	}
	st := stampOf(fi)
	if s.verified.matches(digest, st) {
		return f, nil
	}
	good, err := hashMatches(f, digest)
	if err != nil {
		f.Close()
		return nil, err
	}
	if !good {
		f.Close()
		if err := s.Remove(digest); err != nil {
			return nil, fmt.Errorf("blob %s is corrupt: %w", digest, err)
		}
		return nil, &CorruptError{Digest: digest}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", digest, err)
	}
	s.verified.remember(digest, st)
	return f, nil
}

// Verify hashes a local copy whatever the store remembers of it, as a
// scrub does, and removes it when corrupt (then returning a *CorruptError).
func (s *Store) Verify(digest string) error {
	s.verified.forget(digest)
	f, err := s.Open(digest)
	if err != nil {
		return err
	}
	return f.Close()
}

// Stat describes a local copy without verifying it; a missing one is a
// not-found error.
func (s *Store) Stat(digest string) (os.FileInfo, error) {
	if !ValidDigest(digest) {
		return nil, invalidDigest(digest)
	}
	fi, err := os.Stat(s.Path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, structs.NewError(structs.CodeNotFound, "blob %s not found on this server", digest)
	}
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return fi, nil
}

// Remove deletes a local copy; a missing one is not an error.
func (s *Store) Remove(digest string) error {
	if !ValidDigest(digest) {
		return invalidDigest(digest)
	}
	s.verified.forget(digest)
	if err := os.Remove(s.Path(digest)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob store: remove %s: %w", digest, err)
	}
	return nil
}

// List returns the digests of the blobs stored here.
func (s *Store) List() ([]string, error) {
	dirs, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	var out []string
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(s.dir, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && ValidDigest(e.Name()) && strings.HasPrefix(e.Name(), d.Name()) {
				out = append(out, e.Name())
			}
		}
	}
	return out, nil
}

// CorruptError says a local copy did not match its digest and has been
// removed. To callers it is a not-found error: a good copy may be fetched
// from a replica.
type CorruptError struct{ Digest string }

func (e *CorruptError) Error() string {
	return fmt.Sprintf("blob %s on this server was corrupt and has been removed", e.Digest)
}

// Unwrap gives the not-found code, so structs.CodeOf and errors.Is with
// structs.ErrNotFound see one.
func (e *CorruptError) Unwrap() error {
	return structs.NewError(structs.CodeNotFound, "%s", e.Error())
}

func hashMatches(r io.Reader, digest string) (bool, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return false, fmt.Errorf("hash blob %s: %w", digest, err)
	}
	return hex.EncodeToString(h.Sum(nil)) == digest, nil
}
