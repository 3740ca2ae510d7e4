package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/nai-project/nai/structs"
)

// --- datasets, models and resumable blob uploads ---

func artifactPath(kind structs.ArtifactKind) string {
	switch kind {
	case structs.KindModel:
		return "/v1/models"
	case structs.KindPlugin:
		return "/v1/plugins"
	}
	return "/v1/datasets"
}

// PushArtifact records a new version of a dataset or model whose content
// (req.Digest) was uploaded first, or (datasets) a path on every client.
// Pushing the latest version's content again creates nothing.
func (c *Client) PushArtifact(ctx context.Context, kind structs.ArtifactKind, name string, req *structs.ArtifactPushRequest) (*structs.ArtifactPushResponse, error) {
	var out structs.ArtifactPushResponse
	if _, err := c.do(ctx, http.MethodPut, artifactPath(kind)+"/"+url.PathEscape(name), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Artifacts lists the datasets or models.
func (c *Client) Artifacts(ctx context.Context, kind structs.ArtifactKind) ([]*structs.Artifact, error) {
	var out []*structs.Artifact
	_, err := c.do(ctx, http.MethodGet, artifactPath(kind), nil, &out)
	return out, err
}

// Artifact returns one dataset or model with all its versions, each with
// the jobs that read it.
func (c *Client) Artifact(ctx context.Context, kind structs.ArtifactKind, name string) (*structs.Artifact, error) {
	var out structs.Artifact
	if _, err := c.do(ctx, http.MethodGet, artifactPath(kind)+"/"+url.PathEscape(name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteArtifactVersion removes one version; the servers refuse while a
// pending or running job reads it.
func (c *Client) DeleteArtifactVersion(ctx context.Context, kind structs.ArtifactKind, name string, version int) error {
	_, err := c.do(ctx, http.MethodDelete, fmt.Sprintf("%s/%s/versions/%d", artifactPath(kind), url.PathEscape(name), version), nil, nil)
	return err
}

// MetricsHistory returns a job's last metric values and every line it
// wrote to NAI_METRICS_FILE (kept once the job has ended).
func (c *Client) MetricsHistory(ctx context.Context, id string) (*structs.JobMetrics, error) {
	var out structs.JobMetrics
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/metrics?all=true", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// HasBlob reports whether the servers hold a blob, so unchanged content is
// not uploaded twice.
func (c *Client) HasBlob(ctx context.Context, digest string) (bool, error) {
	// A HEAD answer has no body: its status decides.
	resp, err := c.send(ctx, http.MethodHead, "/v1/blobs/"+url.PathEscape(digest), nil, "", nil)
	if err == nil {
		resp.Body.Close()
		return true, nil
	}
	if IsNotFound(err) {
		return false, nil
	}
	return false, err
}

// StartUpload opens a resumable upload session.
func (c *Client) StartUpload(ctx context.Context) (*structs.UploadSession, error) {
	var out structs.UploadSession
	if _, err := c.do(ctx, http.MethodPost, "/v1/blobs/uploads", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadOffset asks how many bytes a session holds (where to resume).
func (c *Client) UploadOffset(ctx context.Context, id string) (int64, error) {
	var out structs.UploadSession
	_, err := c.do(ctx, http.MethodGet, "/v1/blobs/uploads/"+url.PathEscape(id), nil, &out)
	return out.Offset, err
}

// UploadChunk sends n bytes of r as the part of the session that starts at
// start and returns the session's new size.
func (c *Client) UploadChunk(ctx context.Context, id string, start int64, r io.Reader, n int64) (int64, error) {
	p := "/v1/blobs/uploads/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.Address()+p, io.LimitReader(r, n))
	if err != nil {
		return 0, fmt.Errorf("upload chunk: %w", err)
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", start, start+n-1))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &reachError{addr: c.Address(), err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, errorFrom(resp, http.MethodPatch, p)
	}
	var out structs.UploadSession
	if err := decodeAnswer(resp.Body, &out); err != nil {
		return 0, fmt.Errorf("upload chunk: decode answer: %w", err)
	}
	return out.Offset, nil
}

// CommitUpload makes a session's content a blob once its sha256 matches
// digest.
func (c *Client) CommitUpload(ctx context.Context, id, digest string) (*structs.BlobInfo, error) {
	var out structs.BlobInfo
	p := "/v1/blobs/uploads/" + url.PathEscape(id) + "?digest=" + url.QueryEscape(digest)
	if _, err := c.do(ctx, http.MethodPut, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DefaultChunkSize is what UploadFile sends per request.
const DefaultChunkSize = int64(64) << 20

// UploadFile uploads a file whose sha256 is digest through a resumable
// session, in chunks; after a failed chunk it asks the servers how far they
// got and goes on from there (up to retries times in a row). A blob the
// servers already hold is not sent again.
func (c *Client) UploadFile(ctx context.Context, f io.ReaderAt, size int64, digest string, chunk int64, retries int) (*structs.BlobInfo, error) {
	if ok, err := c.HasBlob(ctx, digest); err != nil {
		return nil, err
	} else if ok {
		return &structs.BlobInfo{Digest: digest, Size: size}, nil
	}
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	sess, err := c.StartUpload(ctx)
	if err != nil {
		return nil, err
	}
	off, failures := int64(0), 0
	for off < size {
		n := min(chunk, size-off)
		got, err := c.UploadChunk(ctx, sess.ID, off, io.NewSectionReader(f, off, n), n)
		if err == nil {
			off, failures = got, 0
			continue
		}
		if ctx.Err() != nil || errors.Is(err, structs.ErrNotFound) || failures >= retries {
			return nil, fmt.Errorf("upload %s at byte %d: %w", digest, off, err)
		}
		failures++
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(failures) * 200 * time.Millisecond):
		}
		if got, oerr := c.UploadOffset(ctx, sess.ID); oerr == nil {
			off = got
		}
	}
	return c.CommitUpload(ctx, sess.ID, digest)
}
