package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// ReplicaHeader names the replica that answered a service call.
const ReplicaHeader = structs.ReplicaHeader

// Serve deploys a model version as a service (`nai serve`).
func (c *Client) Serve(ctx context.Context, req *structs.ServeRequest) (*structs.ServiceResponse, error) {
	var out structs.ServiceResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/services", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Services lists the running services the caller may see.
func (c *Client) Services(ctx context.Context) ([]*structs.Service, error) {
	var out []*structs.Service
	_, err := c.do(ctx, http.MethodGet, "/v1/services", nil, &out)
	return out, err
}

// Service returns one service's status and the state index it was read at.
func (c *Client) Service(ctx context.Context, name string) (*structs.Service, uint64, error) {
	return c.WaitService(ctx, name, 0, 0)
}

// WaitService blocks until the service or its replicas change after index
// (or wait passes) and returns its status with the new index.
func (c *Client) WaitService(ctx context.Context, name string, index uint64, wait time.Duration) (*structs.Service, uint64, error) {
	var out structs.Service
	p := "/v1/services/" + url.PathEscape(name)
	if index > 0 {
		p += fmt.Sprintf("?index=%d&wait=%s", index, wait)
	}
	idx, err := c.do(ctx, http.MethodGet, p, nil, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, idx, nil
}

// ScaleService sets how many replicas a service runs.
func (c *Client) ScaleService(ctx context.Context, name string, replicas int) (*structs.ServiceResponse, error) {
	return c.UpdateService(ctx, name, &structs.ServiceUpdateRequest{Replicas: &replicas})
}

// UpdateService scales a service or rolls it out to another model version.
func (c *Client) UpdateService(ctx context.Context, name string, req *structs.ServiceUpdateRequest) (*structs.ServiceResponse, error) {
	var out structs.ServiceResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(name), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopService stops a service.
func (c *Client) StopService(ctx context.Context, name string) (*structs.ServiceResponse, error) {
	var out structs.ServiceResponse
	if _, err := c.do(ctx, http.MethodDelete, "/v1/services/"+url.PathEscape(name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ServiceURL is where the gateway answers for a service's path (which
// starts with "/").
func (c *Client) ServiceURL(name, path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return c.Address() + "/v1/services/" + url.PathEscape(name) + path
}

// CallService sends a request to a service through the gateway, with this
// client's token. The service's answer comes back whatever its status (the
// caller closes the body); the gateway's own refusals (no such service,
// none of its replicas healthy, no access) come back as coded errors.
func (c *Client) CallService(ctx context.Context, method, name, path string, body io.Reader, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.ServiceURL(name, path), body)
	if err != nil {
		return nil, fmt.Errorf("call service %s: %w", name, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &reachError{addr: c.Address(), err: err}
	}
	if resp.Header.Get(ReplicaHeader) == "" && resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, errorFrom(resp, method, req.URL.Path)
	}
	return resp, nil
}
