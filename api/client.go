package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/nai-project/nai/structs"
)

// --- the client agent's calls ---

// RegisterNode registers or refreshes a node's fingerprint; secret is the
// node's own secret, which its later calls present as their token.
func (c *Client) RegisterNode(ctx context.Context, n *structs.Node, secret string) error {
	_, err := c.do(ctx, http.MethodPut, "/v1/client/nodes", structs.NodeRegisterRequest{Node: n, SecretID: secret}, nil)
	return err
}

// NodeDiskRecovered ends the drain a node's own disk check began (its data
// dir was below min_free_disk), now that space is back. The servers refuse
// it (409) when the node's drain is not that one.
func (c *Client) NodeDiskRecovered(ctx context.Context, nodeID string) (*structs.Node, error) {
	var n structs.Node
	if _, err := c.do(ctx, http.MethodPost, "/v1/client/nodes/"+url.PathEscape(nodeID)+"/disk-recovered", nil, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// NodeAllocations long-polls the allocations placed on a node: it answers
// when the state index passes index, or after wait.
//
// Any server answers it from its own state (stale): a follower is at most
// a few milliseconds behind the leader, the answer is never older than the
// index asked for unless the wait ran out, and the followers then carry
// the nodes' long-polls instead of forwarding every one to the leader.
// When the node's index is behind the one asked for (a snapshot restore
// moved it back, or a follower is behind), the answer comes at once with
// that lower index: ask again from 0.
//
// The answer is compact: an allocation created at or before index (which
// the answer that gave index listed in full) comes without its job. Ask
// from index 0 for every allocation in full.
func (c *Client) NodeAllocations(ctx context.Context, nodeID string, index uint64, wait time.Duration) ([]*structs.Allocation, uint64, error) {
	var out []*structs.Allocation
	p := fmt.Sprintf("/v1/client/nodes/%s/allocations?index=%d&wait=%s&stale&compact", url.PathEscape(nodeID), index, wait)
	idx, err := c.do(ctx, http.MethodGet, p, nil, &out)
	return out, idx, err
}

// UpdateAllocs reports allocation status from a client.
func (c *Client) UpdateAllocs(ctx context.Context, nodeID string, updates []*structs.AllocUpdate) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/client/allocations", structs.AllocUpdateRequest{NodeID: nodeID, Updates: updates}, nil)
	return err
}

// UploadOutputs streams an allocation's tar+gzip output archive to the servers.
func (c *Client) UploadOutputs(ctx context.Context, allocID string, archive io.Reader) (*structs.BlobInfo, error) {
	resp, err := c.raw(ctx, http.MethodPut, "/v1/client/allocations/"+url.PathEscape(allocID)+"/outputs", archive, "application/gzip")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out structs.BlobInfo
	if err := decodeAnswer(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("upload outputs of %s: decode answer: %w", allocID, err)
	}
	return &out, nil
}

// AllocLogs streams an allocation's log from the agent of the node that
// runs it (the servers use this to answer /v1/jobs/{id}/logs).
func (c *Client) AllocLogs(ctx context.Context, allocID string, o LogOptions) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/client/allocations/"+url.PathEscape(allocID)+"/logs?"+o.query(), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// UploadBlob streams content into the servers' blob store (a job's code
// folder as tar+gzip, say) and returns its digest and size.
func (c *Client) UploadBlob(ctx context.Context, r io.Reader) (*structs.BlobInfo, error) {
	resp, err := c.raw(ctx, http.MethodPut, "/v1/blobs", r, "application/octet-stream")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out structs.BlobInfo
	if err := decodeAnswer(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("upload blob: decode answer: %w", err)
	}
	return &out, nil
}

// Blob streams one blob by its sha256 digest. The caller closes it.
func (c *Client) Blob(ctx context.Context, digest string) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/blobs/"+url.PathEscape(digest), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// InjectGPUFault injects a fault ("2:xid=79", "1:lost", "0:ecc=3") into a
// fake GPU of the dev agent at this client's address (POST
// /v1/client/dev/gpu-fault). Agents with real GPUs answer not found.
func (c *Client) InjectGPUFault(ctx context.Context, fault string) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/client/dev/gpu-fault", map[string]string{"fault": fault}, nil)
	return err
}
