package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/nai-project/nai/structs"
)

// --- the cluster (servers, serf members, raft peers) ---

// Members lists every agent of the serf cluster.
func (c *Client) Members(ctx context.Context) ([]structs.AgentMember, error) {
	var out []structs.AgentMember
	_, err := c.do(ctx, http.MethodGet, "/v1/agent/members", nil, &out)
	return out, err
}

// structs.AgentSelf describes the agent this client talks to.
func (c *Client) AgentSelf(ctx context.Context) (*structs.AgentSelf, error) {
	var out structs.AgentSelf
	if _, err := c.do(ctx, http.MethodGet, "/v1/agent/self", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Peers returns the raft addresses of the servers in the raft
// configuration.
func (c *Client) Peers(ctx context.Context) ([]string, error) {
	var out []string
	_, err := c.do(ctx, http.MethodGet, "/v1/status/peers", nil, &out)
	return out, err
}

// RaftConfiguration lists the raft servers with their suffrage and which
// one leads.
func (c *Client) RaftConfiguration(ctx context.Context) ([]structs.RaftPeer, error) {
	var out []structs.RaftPeer
	_, err := c.do(ctx, http.MethodGet, "/v1/operator/raft/configuration", nil, &out)
	return out, err
}

// RaftConfigurationStale is the raft configuration as the server answering
// holds it, at once and without a leader (?stale): no other server is
// asked, so only that server's own entry (Self) carries its raft state and
// health. It is what a lost quorum leaves to look at.
func (c *Client) RaftConfigurationStale(ctx context.Context) ([]structs.RaftPeer, error) {
	var out []structs.RaftPeer
	_, err := c.do(ctx, http.MethodGet, "/v1/operator/raft/configuration?stale", nil, &out)
	return out, err
}

// RemoveRaftPeer removes a server from the raft configuration by its id
// (its node name): the way out of a dead server that will not come back.
func (c *Client) RemoveRaftPeer(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/operator/raft/peer?id="+url.QueryEscape(id), nil, nil)
	return err
}

// ForceLeave marks a failed agent as left in serf, so a server is removed
// from raft and a client's node is not waited for.
func (c *Client) ForceLeave(ctx context.Context, node string) error {
	_, err := c.do(ctx, http.MethodPut, "/v1/agent/force-leave?node="+url.QueryEscape(node), nil, nil)
	return err
}

// DrainNode starts, changes or cancels a node's drain (structs/node_drain.go)
// and returns the node as it is afterwards. id is a node id, a unique prefix
// of one, or a node name.
func (c *Client) DrainNode(ctx context.Context, id string, spec *structs.NodeDrainSpec) (*structs.Node, error) {
	var out structs.Node
	if _, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+"/drain", spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetNodeEligibility marks a node eligible for new work or not and returns
// the node as it is afterwards. A draining node is refused (ErrConflict).
func (c *Client) SetNodeEligibility(ctx context.Context, id string, eligible bool) (*structs.Node, error) {
	var out structs.Node
	spec := &structs.NodeEligibilitySpec{Eligible: eligible}
	if _, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+"/eligibility", spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Blobs lists every blob the servers know, with the servers holding it,
// what references it and how many copies are wanted; under-replicated
// blobs come first (GET /v1/operator/blobs).
func (c *Client) Blobs(ctx context.Context) ([]*structs.Blob, error) {
	var out []*structs.Blob
	_, err := c.do(ctx, http.MethodGet, "/v1/operator/blobs", nil, &out)
	return out, err
}
