package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nai-project/nai/internal/archive"
)

// codeFetchTimeout bounds one download of a job's code folder.
const codeFetchTimeout = 10 * time.Minute

// stageCode unpacks the job's uploaded code folder (a tar+gzip blob named
// by its sha256) into the work dir. Blobs come through the node's blob
// cache (cache.go): verified when they arrive, kept by digest under a size
// cap, and pinned while they are unpacked, so a second job with the same
// code costs no transfer and a corrupted download is never unpacked.
func (c *Client) stageCode(digest, workDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), codeFetchTimeout)
	defer cancel()
	path, release, err := c.cache.Get(ctx, digest)
	if err != nil {
		return fmt.Errorf("fetch code %s: %w", short(digest), err)
	}
	defer release()
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

// fetchBlob downloads a blob from the servers, for the cache.
func (c *Client) fetchBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	return c.api.Blob(ctx, digest)
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
