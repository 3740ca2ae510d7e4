package api

import (
	"context"
	"net/http"

	"github.com/nai-project/nai/structs"
)

// HoldJobs holds pending jobs (scontrol hold); an array id holds its
// pending members. A job that is not pending refuses the whole request; a
// job held already is left as it is and named in the answer's Unchanged.
// It answers the jobs held.
func (c *Client) HoldJobs(ctx context.Context, targets []structs.CancelTarget) (*structs.JobHoldResponse, error) {
	return c.holdOrRelease(ctx, "/v1/jobs/hold", targets)
}

// ReleaseJobs releases held jobs (scontrol release); an array id releases
// its held members. A job that is not pending, or held by an operator when
// the caller is not one, refuses the whole request; a job not held is left
// as it is and named in the answer's Unchanged. It answers the jobs
// released.
func (c *Client) ReleaseJobs(ctx context.Context, targets []structs.CancelTarget) (*structs.JobHoldResponse, error) {
	return c.holdOrRelease(ctx, "/v1/jobs/release", targets)
}

func (c *Client) holdOrRelease(ctx context.Context, path string, targets []structs.CancelTarget) (*structs.JobHoldResponse, error) {
	var out structs.JobHoldResponse
	if _, err := c.do(ctx, http.MethodPost, path, structs.JobHoldTargets{Targets: targets}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
