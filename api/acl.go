package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/nai-project/nai/structs"
)

// ACLBootstrap makes the first management token of a cluster with ACLs on.
// It works once; the answer holds the only copy of the secret.
func (c *Client) ACLBootstrap(ctx context.Context) (*structs.TokenWithSecret, error) {
	var out structs.TokenWithSecret
	if _, err := c.do(ctx, http.MethodPost, "/v1/acl/bootstrap", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TokenSelf says who this client's token is: the token, its user and the
// user's groups.
func (c *Client) TokenSelf(ctx context.Context) (*structs.Whoami, error) {
	var out structs.Whoami
	if _, err := c.do(ctx, http.MethodGet, "/v1/acl/token/self", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateToken makes a token (management: any; a user: its own, see
// structs.TokenCreateSpec); the answer holds the only copy of its secret.
func (c *Client) CreateToken(ctx context.Context, spec *structs.TokenCreateSpec) (*structs.TokenWithSecret, error) {
	var out structs.TokenWithSecret
	if _, err := c.do(ctx, http.MethodPost, "/v1/acl/tokens", spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tokens lists tokens: every one (or one user's) for management, else the
// caller's own.
func (c *Client) Tokens(ctx context.Context, user string) ([]*structs.Token, error) {
	var out []*structs.Token
	p := "/v1/acl/tokens"
	if user != "" {
		p += "?user=" + url.QueryEscape(user)
	}
	_, err := c.do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// RevokeToken revokes a token by its accessor.
func (c *Client) RevokeToken(ctx context.Context, accessor string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/acl/tokens/"+url.PathEscape(accessor), nil, nil)
	return err
}

// CreateUser makes a user and its personal group.
func (c *Client) CreateUser(ctx context.Context, u *structs.User) (*structs.User, error) {
	var out structs.User
	if _, err := c.do(ctx, http.MethodPost, "/v1/acl/users", u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUser changes a user (its unix account).
func (c *Client) UpdateUser(ctx context.Context, u *structs.User) error {
	_, err := c.do(ctx, http.MethodPut, "/v1/acl/users/"+url.PathEscape(u.Name), u, nil)
	return err
}

// Users lists the users the caller may see.
func (c *Client) Users(ctx context.Context) ([]*structs.User, error) {
	var out []*structs.User
	_, err := c.do(ctx, http.MethodGet, "/v1/acl/users", nil, &out)
	return out, err
}

// User returns one user with its groups.
func (c *Client) User(ctx context.Context, name string) (*structs.User, error) {
	var out structs.User
	if _, err := c.do(ctx, http.MethodGet, "/v1/acl/users/"+url.PathEscape(name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser removes a user; force cancels its pending and running jobs
// (without it, a user with such jobs is refused).
func (c *Client) DeleteUser(ctx context.Context, name string, force bool) error {
	p := "/v1/acl/users/" + url.PathEscape(name)
	if force {
		p += "?force=true"
	}
	_, err := c.do(ctx, http.MethodDelete, p, nil, nil)
	return err
}

// CreateGroup makes a group.
func (c *Client) CreateGroup(ctx context.Context, g *structs.Group) (*structs.Group, error) {
	var out structs.Group
	if _, err := c.do(ctx, http.MethodPost, "/v1/acl/groups", g, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Groups lists the groups the caller may see.
func (c *Client) Groups(ctx context.Context) ([]*structs.Group, error) {
	var out []*structs.Group
	_, err := c.do(ctx, http.MethodGet, "/v1/acl/groups", nil, &out)
	return out, err
}

// Group returns one group with its members, quota and shares.
func (c *Client) Group(ctx context.Context, name string) (*structs.Group, error) {
	var out structs.Group
	if _, err := c.do(ctx, http.MethodGet, "/v1/acl/groups/"+url.PathEscape(name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteGroup removes a group.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/acl/groups/"+url.PathEscape(name), nil, nil)
	return err
}

// SetGroupMember adds a member to a group or changes its role.
func (c *Client) SetGroupMember(ctx context.Context, group, user string, role structs.GroupRole) error {
	_, err := c.do(ctx, http.MethodPut, "/v1/acl/groups/"+url.PathEscape(group)+"/members/"+url.PathEscape(user),
		map[string]structs.GroupRole{"role": role}, nil)
	return err
}

// RemoveGroupMember removes a member from a group.
func (c *Client) RemoveGroupMember(ctx context.Context, group, user string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/acl/groups/"+url.PathEscape(group)+"/members/"+url.PathEscape(user), nil, nil)
	return err
}

// AuditFilter selects audit events: since is an age ("24h", "30d"), a
// date or an RFC 3339 time; limit 0 means the server's default.
type AuditFilter struct {
	Since string
	User  string
	Limit int
}

// Audit returns the audit log of writes, oldest first.
func (c *Client) Audit(ctx context.Context, f AuditFilter) ([]*structs.AuditEvent, error) {
	q := url.Values{}
	if f.Since != "" {
		q.Set("since", f.Since)
	}
	if f.User != "" {
		q.Set("user", f.User)
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	p := "/v1/operator/audit"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var out []*structs.AuditEvent
	_, err := c.do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// ArtifactContent streams the tar+gzip content of one dataset or model
// version ("3", or "latest"). The caller closes it.
func (c *Client) ArtifactContent(ctx context.Context, kind structs.ArtifactKind, name, version string) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, artifactPath(kind)+"/"+url.PathEscape(name)+"/versions/"+url.PathEscape(version)+"/content", nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// UsageFilter selects a usage report: since and until are ages ("30d"),
// dates or RFC 3339 times; by is day (the default), user or group.
type UsageFilter struct {
	Since, Until string
	User, Group  string
	By           string
}

// Usage returns GPU-hours, CPU-hours and jobs by final state, summed by
// day, user or group (like sreport).
func (c *Client) Usage(ctx context.Context, f UsageFilter) (*structs.UsageReport, error) {
	q := url.Values{}
	for k, v := range map[string]string{"since": f.Since, "until": f.Until, "user": f.User, "group": f.Group, "by": f.By} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out structs.UsageReport
	if _, err := c.do(ctx, http.MethodGet, "/v1/usage?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
