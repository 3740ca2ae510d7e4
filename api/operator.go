package api

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/nai-project/nai/structs"
)

// Snapshot streams a snapshot of the cluster's state (GET
// /v1/operator/snapshot): the archive that internal/snapshot reads. stale
// takes it from the server answering rather than the leader. The caller
// closes it, and should check it before trusting it: a connection cut
// short leaves a truncated archive.
func (c *Client) Snapshot(ctx context.Context, stale bool) (io.ReadCloser, error) {
	path := "/v1/operator/snapshot"
	if stale {
		path += "?stale"
	}
	resp, err := c.raw(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// RestoreSnapshot sends a snapshot archive to be restored on every server
// (PUT /v1/operator/snapshot). force restores one from another cluster.
func (c *Client) RestoreSnapshot(ctx context.Context, archive io.Reader, force bool) (*structs.SnapshotRestored, error) {
	path := "/v1/operator/snapshot"
	if force {
		path += "?force=true"
	}
	resp, err := c.raw(ctx, http.MethodPut, path, archive, "application/gzip")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out structs.SnapshotRestored
	if err := decodeAnswer(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("restore snapshot: decode answer: %w", err)
	}
	return &out, nil
}
