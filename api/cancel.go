package api

import (
	"context"
	"net/http"

	"github.com/nai-project/nai/structs"
)

// CancelMany cancels many jobs and sweeps in one request and one raft
// commit. Targets that name no job come back in NotFound, jobs that had
// already ended in Ended (left alone); one the caller
// may not cancel refuses the whole request. An agent of a release without
// bulk cancel answers a not-found error (IsNotFound): cancel one by one
// then.
func (c *Client) CancelMany(ctx context.Context, targets []structs.CancelTarget) (*structs.JobCancelManyResponse, error) {
	var out structs.JobCancelManyResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/cancel", structs.JobCancelManyRequest{Targets: targets}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
