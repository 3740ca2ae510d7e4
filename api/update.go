package api

import (
	"context"
	"net/http"

	"github.com/nai-project/nai/structs"
)

// UpdateJobs changes pending jobs (scontrol update), all of them or none;
// an array id updates its pending members. It answers the jobs changed.
func (c *Client) UpdateJobs(ctx context.Context, targets []structs.CancelTarget, u structs.JobUpdate) (*structs.JobUpdateResponse, error) {
	var out structs.JobUpdateResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/jobs/update", structs.JobUpdateTargets{Targets: targets, Update: u}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
