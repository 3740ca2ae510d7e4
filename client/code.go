package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nai-project/nai/internal/archive"
)

// codeFetchTimeout bounds one download of a job's code folder.
const codeFetchTimeout = 10 * time.Minute

// stageCode unpacks the job's uploaded code folder (a tar+gzip blob named
// by its sha256) into the work dir. Blobs are cached on the node by digest
// and verified when they arrive, so a second job with the same code costs
// no transfer and a corrupted download is never unpacked.
func (c *Client) stageCode(digest, workDir string) error {
	path, err := c.cachedBlob(digest)
	if err != nil {
		return fmt.Errorf("fetch code %s: %w", short(digest), err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open cached code %s: %w", short(digest), err)
	}
	defer f.Close()
	if _, err := archive.Extract(f, workDir, archive.Limits{}); err != nil {
		return fmt.Errorf("unpack code %s into the work dir: %w", short(digest), err)
	}
	return nil
}

// cachedBlob returns the path of a verified local copy of a blob,
// downloading it from the servers when the cache lacks it.
func (c *Client) cachedBlob(digest string) (string, error) {
	if len(digest) != 64 {
		return "", fmt.Errorf("invalid digest %q", digest)
	}
	dir := filepath.Join(c.cfg.DataDir, "cache", "blobs")
	path := filepath.Join(dir, digest)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), codeFetchTimeout)
	defer cancel()
	rc, err := c.cfg.Servers.Blob(ctx, digest)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(dir, digest+".part-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), rc); err != nil {
		tmp.Close()
		return "", fmt.Errorf("download: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return "", fmt.Errorf("download is corrupt: its sha256 is %s", short(got))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
