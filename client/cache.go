package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// blobCache keeps code, dataset and model blobs on the node by sha256
// digest (a file named by the digest, in one dir), so that the next job
// that needs the same blob costs no transfer.
//
//   - A blob is verified by sha256 as it arrives; a corrupt download is
//     never visible under its digest.
//   - The cache holds at most max bytes. After each arrival and each
//     release, the least recently used blobs go first; a file's modification
//     time is its last use (touched on every hit), because atime is often
//     off (noatime, relatime).
//   - A blob is pinned from Get until its release func is called: an
//     allocation that is starting never loses the blob it unpacks. Pinned
//     blobs may hold the cache above its cap for that while.
type blobCache struct {
	dir    string
	max    int64
	fetch  func(ctx context.Context, digest string) (io.ReadCloser, error)
	logger *slog.Logger

	mu     sync.Mutex
	pinned map[string]int
	// fetching serialises downloads of one digest: a second asker waits
	// for the first rather than fetching it again.
	fetching map[string]*sync.Mutex
}

func newBlobCache(dir string, max int64, fetch func(context.Context, string) (io.ReadCloser, error), logger *slog.Logger) *blobCache {
	return &blobCache{dir: dir, max: max, fetch: fetch, logger: logger,
		pinned: map[string]int{}, fetching: map[string]*sync.Mutex{}}
}

// validDigest accepts a lower-case hex sha256.
func validDigest(d string) error {
	if len(d) != 64 || strings.Trim(d, "0123456789abcdef") != "" {
		return fmt.Errorf("invalid digest %q: expected 64 lower-case hex digits (a sha256)", d)
	}
	return nil
}

// Get returns the path of a verified local copy of the blob, downloading it
// when the cache lacks it, pinned until release is called (once).
func (c *blobCache) Get(ctx context.Context, digest string) (path string, release func(), err error) {
	if err := validDigest(digest); err != nil {
		return "", nil, err
	}
	c.mu.Lock()
	c.pinned[digest]++
	dl := c.fetching[digest]
	if dl == nil {
		dl = &sync.Mutex{}
		c.fetching[digest] = dl
	}
	c.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			c.mu.Lock()
			if c.pinned[digest]--; c.pinned[digest] <= 0 {
				// Nobody holds or waits for the download lock any more.
				delete(c.pinned, digest)
				delete(c.fetching, digest)
			}
			c.mu.Unlock()
			c.evict()
		})
	}
	path = filepath.Join(c.dir, digest)
	dl.Lock()
	defer dl.Unlock()
	now := time.Now()
	if err := os.Chtimes(path, now, now); err == nil {
		return path, release, nil // a hit: now the most recently used
	} else if !errors.Is(err, os.ErrNotExist) {
		release()
		return "", nil, fmt.Errorf("blob cache: %w", err)
	}
	if err := c.download(ctx, digest, path); err != nil {
		release()
		return "", nil, err
	}
	c.evict()
	return path, release, nil
}

// download fetches a blob into a temporary file, checks its sha256 and only
// then gives it its name.
func (c *blobCache) download(ctx context.Context, digest, path string) error {
	if err := os.MkdirAll(c.dir, modePrivateDir); err != nil { // perms.go
		return fmt.Errorf("blob cache: %w", err)
	}
	rc, err := c.fetch(ctx, digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(c.dir, digest+".part-*")
	if err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), rc); err != nil {
		tmp.Close()
		return fmt.Errorf("download: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("download is corrupt: its sha256 is %s", short(got))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	return nil
}

// evict removes least recently used, unpinned blobs until the cache fits
// its cap. Leftover partial downloads older than an hour go too (an agent
// killed mid-download leaves them).
func (c *blobCache) evict() {
	c.mu.Lock()
	defer c.mu.Unlock()
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.logger.Warn("blob cache: cannot list", "error", err)
		}
		return
	}
	type blob struct {
		digest string
		size   int64
		used   time.Time
	}
	var blobs []blob
	var total int64
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		name := e.Name()
		if validDigest(name) != nil {
			if strings.Contains(name, ".part-") && time.Since(info.ModTime()) > time.Hour {
				_ = os.Remove(filepath.Join(c.dir, name))
			}
			continue
		}
		blobs = append(blobs, blob{name, info.Size(), info.ModTime()})
		total += info.Size()
	}
	if total <= c.max {
		return
	}
	slices.SortFunc(blobs, func(a, b blob) int { return a.used.Compare(b.used) })
	for _, b := range blobs {
		if total <= c.max {
			break
		}
		if c.pinned[b.digest] > 0 {
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, b.digest)); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.logger.Warn("blob cache: cannot evict", "digest", short(b.digest), "error", err)
			continue
		}
		total -= b.size
		c.logger.Debug("blob cache: evicted", "digest", short(b.digest), "bytes", b.size)
	}
}
