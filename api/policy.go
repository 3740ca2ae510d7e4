package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/nai-project/nai/structs"
)

// Queues returns the queues in force, with the implicit default queue.
func (c *Client) Queues(ctx context.Context) ([]structs.Queue, error) {
	var out []structs.Queue
	_, err := c.do(ctx, http.MethodGet, "/v1/queues", nil, &out)
	return out, err
}

// QueueInfo returns one queue.
func (c *Client) QueueInfo(ctx context.Context, name string) (*structs.Queue, error) {
	var out structs.Queue
	if _, err := c.do(ctx, http.MethodGet, "/v1/queues/"+url.PathEscape(name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// indexAnswer is the answer of a policy write.
type indexAnswer struct {
	Index uint64 `json:"index"`
}

// ApplyQueue creates or replaces a queue and returns the raft index.
func (c *Client) ApplyQueue(ctx context.Context, q *structs.Queue) (uint64, error) {
	var out indexAnswer
	_, err := c.do(ctx, http.MethodPut, "/v1/queues/"+url.PathEscape(q.Name), q, &out)
	return out.Index, err
}

// DeleteQueue removes a queue definition.
func (c *Client) DeleteQueue(ctx context.Context, name string) (uint64, error) {
	var out indexAnswer
	_, err := c.do(ctx, http.MethodDelete, "/v1/queues/"+url.PathEscape(name), nil, &out)
	return out.Index, err
}

// ShareReport returns what `nai share` shows: shares, usage and fair-share
// factor of every group and user the scheduler knows.
func (c *Client) ShareReport(ctx context.Context) ([]structs.ShareInfo, error) {
	var out []structs.ShareInfo
	_, err := c.do(ctx, http.MethodGet, "/v1/share", nil, &out)
	return out, err
}

// Shares returns the shares set by operators.
func (c *Client) Shares(ctx context.Context) ([]*structs.Share, error) {
	var out []*structs.Share
	_, err := c.do(ctx, http.MethodGet, "/v1/shares", nil, &out)
	return out, err
}

// SetShare sets the shares of a user or group.
func (c *Client) SetShare(ctx context.Context, s *structs.Share) (uint64, error) {
	var out indexAnswer
	_, err := c.do(ctx, http.MethodPut, "/v1/shares", s, &out)
	return out.Index, err
}

// DeleteShare returns a user or group to the default shares.
func (c *Client) DeleteShare(ctx context.Context, kind structs.AccountKind, name string) (uint64, error) {
	var out indexAnswer
	_, err := c.do(ctx, http.MethodDelete, "/v1/shares/"+url.PathEscape(string(kind))+"/"+url.PathEscape(name), nil, &out)
	return out.Index, err
}

// Quotas returns the quotas set by operators.
func (c *Client) Quotas(ctx context.Context) ([]*structs.AccountQuota, error) {
	var out []*structs.AccountQuota
	_, err := c.do(ctx, http.MethodGet, "/v1/quotas", nil, &out)
	return out, err
}

// SetQuota sets the quota of a user or group.
func (c *Client) SetQuota(ctx context.Context, q *structs.AccountQuota) (uint64, error) {
	var out indexAnswer
	_, err := c.do(ctx, http.MethodPut, "/v1/quotas", q, &out)
	return out.Index, err
}

// DeleteQuota removes the quota of a user or group.
func (c *Client) DeleteQuota(ctx context.Context, kind structs.AccountKind, name string) (uint64, error) {
	var out indexAnswer
	_, err := c.do(ctx, http.MethodDelete, "/v1/quotas/"+url.PathEscape(string(kind))+"/"+url.PathEscape(name), nil, &out)
	return out.Index, err
}

// JobPriority returns the priority factors of a pending job.
func (c *Client) JobPriority(ctx context.Context, id string) (*structs.PriorityFactors, error) {
	var out structs.PriorityFactors
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/priority", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// QueuePriority returns the priority factors of every pending job, in the
// order the scheduler considers them.
func (c *Client) QueuePriority(ctx context.Context) ([]structs.PriorityFactors, error) {
	var out []structs.PriorityFactors
	_, err := c.do(ctx, http.MethodGet, "/v1/queue/priority", nil, &out)
	return out, err
}
