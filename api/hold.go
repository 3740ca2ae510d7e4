package api

import (
	"context"
	"net/http"

	"github.com/nai-project/nai/structs"
)

// HoldJobs holds pending jobs (scontrol hold), all of them or none; an
// array id holds its pending members. It answers the jobs held.
func (c *Client) HoldJobs(ctx context.Context, targets []structs.CancelTarget) (*structs.JobHoldResponse, error) {
	return c.holdOrRelease(ctx, "/v1/jobs/hold", targets)
}

// ReleaseJobs releases held jobs (scontrol release), all of them or none;
// an array id releases its held members. It answers the jobs released.
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
