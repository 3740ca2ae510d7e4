package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nai-project/nai/structs"
)

// QueueOptions choose a page of the queue (GET /v1/queue).
type QueueOptions struct {
	All                       bool // finished jobs too
	User, Group, Queue, State string
	Offset, Limit             int // Limit 0: every job
	// Index and Wait make a blocking query: the answer comes when the
	// jobs change after Index, or when Wait passes.
	Index uint64
	Wait  time.Duration
}

func (o QueueOptions) query() string {
	q := url.Values{}
	if o.All {
		q.Set("all", "true")
	}
	for k, v := range map[string]string{"user": o.User, "group": o.Group, "queue": o.Queue, "state": o.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Index > 0 {
		q.Set("index", strconv.FormatUint(o.Index, 10))
		if o.Wait > 0 {
			q.Set("wait", o.Wait.String())
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// QueuePage returns one page of the queue, how many jobs match in all, and
// the index of the jobs it reflects.
func (c *Client) QueuePage(ctx context.Context, o QueueOptions) ([]*structs.Job, int, uint64, error) {
	path := "/v1/queue" + o.query()
	resp, err := c.send(ctx, http.MethodGet, path, nil, "", nil)
	if err != nil {
		return nil, 0, 0, err
	}
	defer resp.Body.Close()
	var out []*structs.Job
	if err := decodeAnswer(resp.Body, &out); err != nil {
		return nil, 0, 0, fmt.Errorf("GET %s: decode answer: %w", path, err)
	}
	idx, _ := strconv.ParseUint(resp.Header.Get(IndexHeader), 10, 64)
	total, err := strconv.Atoi(resp.Header.Get(structs.TotalHeader))
	if err != nil {
		total = len(out)
	}
	return out, total, idx, nil
}

// WaitNodes blocks until the nodes (or what holds their GPUs) change after
// index, or wait passes, and returns them with the new index.
func (c *Client) WaitNodes(ctx context.Context, index uint64, wait time.Duration) ([]*structs.Node, uint64, error) {
	var out []*structs.Node
	p := "/v1/nodes"
	if index > 0 {
		p += fmt.Sprintf("?index=%d&wait=%s", index, wait)
	}
	idx, err := c.do(ctx, http.MethodGet, p, nil, &out)
	return out, idx, err
}

// MetricsFrom returns a job's metric history from line from on: all of it
// once the job has ended, what it wrote so far while it runs.
func (c *Client) MetricsFrom(ctx context.Context, id string, from int) (*structs.JobMetrics, error) {
	var out structs.JobMetrics
	p := "/v1/jobs/" + url.PathEscape(id) + "/metrics?all=true"
	if from > 0 {
		p += "&from=" + strconv.Itoa(from)
	}
	if _, err := c.do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
