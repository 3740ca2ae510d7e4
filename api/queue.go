package api

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/nai-project/nai/structs"
)

// QueueRows lists the queue as Queue does, with only the fields a queue
// row shows (structs.JobRow): a third of the bytes of whole jobs.
func (c *Client) QueueRows(ctx context.Context, all bool) ([]structs.JobRow, error) {
	var out []structs.JobRow
	_, err := c.do(ctx, http.MethodGet, "/v1/queue?view=row"+allParam(all), nil, &out)
	return out, err
}

// QueueJSON streams the queue as Queue lists it, whole jobs as indented
// JSON (json.MarshalIndent(jobs, "", "  ") and a newline), for a caller
// that prints it as it is. The caller closes the reader.
func (c *Client) QueueJSON(ctx context.Context, all bool) (io.ReadCloser, error) {
	resp, err := c.rawRead(ctx, "/v1/queue?pretty=true"+allParam(all))
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	return resp.Body, nil
}

// QueueTable streams the queue as `nai queue` prints it (text, the
// servers' own rendering), for a caller that prints it as it is. The
// caller closes the reader.
func (c *Client) QueueTable(ctx context.Context, all bool) (io.ReadCloser, error) {
	resp, err := c.rawRead(ctx, "/v1/queue?view=table"+allParam(all))
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	return resp.Body, nil
}

func allParam(all bool) string {
	if all {
		return "&all=true"
	}
	return ""
}
