package structs

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Identity and access: users, groups, tokens. All of it lives in raft; the
// acl package decides what an identity may do, the server's one HTTP door
// asks it on every request.

// Token policies. A token without one acts as its user: its own jobs, and
// the jobs, datasets and models of its groups by role.
const (
	// PolicyManagement may do everything, including managing users,
	// groups and tokens.
	PolicyManagement = "management"
	// PolicyOperator runs the cluster: nodes, drains, queues, shares,
	// quotas, blobs, raft, the audit log; it reads every job's metadata
	// (not logs, outputs or metrics) and may run tasks as another account.
	PolicyOperator = "operator"
	// PolicyNode may register client nodes, and nothing else: it is the
	// token a GPU host's agent is configured with.
	PolicyNode = "node"
)

// ValidPolicy reports whether p names a policy.
func ValidPolicy(p string) bool {
	return p == PolicyManagement || p == PolicyOperator || p == PolicyNode
}

// GroupRole is a member's role in a group.
type GroupRole string

const (
	// RoleReader sees the group's jobs and pulls its datasets and models.
	RoleReader GroupRole = "reader"
	// RoleMember also submits jobs and pushes datasets and models under
	// the group.
	RoleMember GroupRole = "member"
	// RoleAdmin also cancels others' jobs of the group and removes its
	// datasets and models.
	RoleAdmin GroupRole = "admin"
)

// Rank orders roles: reader < member < admin; 0 for none.
func (r GroupRole) Rank() int {
	switch r {
	case RoleReader:
		return 1
	case RoleMember:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r grants everything min grants.
func (r GroupRole) AtLeast(min GroupRole) bool { return r.Rank() >= min.Rank() && r.Rank() > 0 }

// Validate checks the role.
func (r GroupRole) Validate() error {
	if r.Rank() == 0 {
		return fmt.Errorf("role %q is unknown: expected reader, member or admin", r)
	}
	return nil
}

// User is a person (or a service account) known to the cluster. Every user
// has a personal group of the same name, of which it is the admin.
type User struct {
	Name string `json:"name"`
	// UnixAccount is the account the user's tasks run as on GPU hosts;
	// empty means the same as Name.
	UnixAccount string    `json:"unix_account,omitempty"`
	CreateTime  time.Time `json:"create_time,omitzero"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`

	// Groups is filled in answers (group -> role), not stored: the
	// groups table is the one record of membership.
	Groups map[string]GroupRole `json:"groups,omitempty"`
}

// Account is the unix account the user's tasks run as.
func (u *User) Account() string {
	if u.UnixAccount != "" {
		return u.UnixAccount
	}
	return u.Name
}

// Copy returns a copy.
func (u *User) Copy() *User {
	c := *u
	c.Groups = nil
	return &c
}

// Validate checks a user definition.
func (u *User) Validate() error {
	var errs []error
	if !ValidName(u.Name) {
		errs = append(errs, fmt.Errorf("user name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters", u.Name, MaxNameLen))
	}
	if u.UnixAccount != "" && !validUnixName(u.UnixAccount) {
		errs = append(errs, fmt.Errorf("unix account %q is invalid: expected a login name such as \"alice\" (letters, digits, '.', '_' and '-', at most 32 characters)", u.UnixAccount))
	}
	return errors.Join(errs...)
}

func validUnixName(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// GroupMember is one user's membership of a group.
type GroupMember struct {
	User string    `json:"user"`
	Role GroupRole `json:"role"`
}

// Group is a set of users that share jobs, datasets and models. A personal
// group (Personal) is made with its user and removed with it.
type Group struct {
	Name        string        `json:"name"`
	Personal    bool          `json:"personal,omitempty"`
	Description string        `json:"description,omitempty"`
	Members     []GroupMember `json:"members"`
	CreateTime  time.Time     `json:"create_time,omitzero"`
	CreateIndex uint64        `json:"create_index"`
	ModifyIndex uint64        `json:"modify_index"`

	// Filled in answers, not stored: the group's quota and shares (the
	// quotas and shares tables hold them).
	Quota  *Quota   `json:"quota,omitempty"`
	Shares *float64 `json:"shares,omitempty"`
}

// Copy returns a deep copy.
func (g *Group) Copy() *Group {
	c := *g
	c.Members = slices.Clone(g.Members)
	c.Quota, c.Shares = nil, nil
	return &c
}

// Role returns user's role in the group, "" when not a member.
func (g *Group) Role(user string) GroupRole {
	for _, m := range g.Members {
		if m.User == user {
			return m.Role
		}
	}
	return ""
}

// Token is an API credential. Only a hash of its secret is stored: the
// secret is shown once, when the token is made. The accessor names the
// token in lists and revocations and grants nothing.
type Token struct {
	AccessorID string `json:"accessor_id"`
	// SecretHash is the hex sha256 of the secret; never sent in answers.
	SecretHash string `json:"secret_hash,omitempty"`
	Name       string `json:"name,omitempty"`
	// User is who the token acts as; empty for a token of the management
	// or node policy that belongs to nobody (the bootstrap token).
	User     string   `json:"user,omitempty"`
	Policies []string `json:"policies,omitempty"`
	// ExpirationTime is when the token stops working; zero: never.
	ExpirationTime time.Time `json:"expiration_time,omitzero"`
	CreateTime     time.Time `json:"create_time,omitzero"`
	// MadeBy is the accessor of the token that made this one, when a user
	// made it for itself (TokenCreateSpec); revoking that token revokes
	// this one, and those it made, too. Empty for a token management made.
	MadeBy      string `json:"made_by,omitempty"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Copy returns a deep copy.
func (t *Token) Copy() *Token {
	c := *t
	c.Policies = slices.Clone(t.Policies)
	return &c
}

// Public returns a copy fit for an answer: without the secret's hash.
func (t *Token) Public() *Token {
	c := t.Copy()
	c.SecretHash = ""
	return c
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpirationTime.IsZero() && !now.Before(t.ExpirationTime)
}

// HasPolicy reports whether the token carries policy p.
func (t *Token) HasPolicy(p string) bool { return slices.Contains(t.Policies, p) }

// TokenWithSecret answers the creation of a token: the only time its
// secret is shown.
type TokenWithSecret struct {
	*Token
	SecretID string `json:"secret_id"`
}

// MaxTokenTTL bounds a token's lifetime.
const MaxTokenTTL = 10 * 366 * 24 * time.Hour

// ACLMeta is the cluster's ACL bookkeeping (one row): whether the ACL
// system was bootstrapped, at which raft index, and the secret servers
// present to each other (never sent in answers).
type ACLMeta struct {
	BootstrapIndex uint64    `json:"bootstrap_index,omitempty"`
	BootstrapTime  time.Time `json:"bootstrap_time,omitzero"`
	// ServerSecret is what servers present to each other (blob copies
	// between servers). Only servers read it: raft's data dirs are
	// theirs, and no answer carries it.
	ServerSecret string `json:"server_secret,omitempty"`
	ModifyIndex  uint64 `json:"modify_index"`
}

// NodeSecret records the hash of a client node's secret, presented by the
// node's agent on every call of the client API.
type NodeSecret struct {
	NodeID      string `json:"node_id"`
	SecretHash  string `json:"secret_hash"`
	CreateIndex uint64 `json:"create_index"`
}

// --- raft requests and API bodies ---

// ACLBootstrapRequest makes the first management token (raft message). The
// server chooses the accessor and the secret (of which only the hash goes
// to raft); ResetIndex allows a second bootstrap after the operator wrote
// the bootstrap index to the reset file (docs/operations.md).
type ACLBootstrapRequest struct {
	Token      *Token    `json:"token"`
	ResetIndex uint64    `json:"reset_index,omitempty"`
	Now        time.Time `json:"now"`
}

// ServerSecretRequest stores the servers' shared secret once (raft
// message); a second one is ignored.
type ServerSecretRequest struct {
	Secret string `json:"secret"`
}

// UserUpsertRequest creates or changes a user (raft message); a new user
// gets its personal group in the same transaction.
type UserUpsertRequest struct {
	User *User `json:"user"`
	// Create refuses an existing user (nai user create); otherwise the
	// user is changed.
	Create bool      `json:"create,omitempty"`
	Now    time.Time `json:"now"`
}

// UserDeleteRequest removes a user, its personal group, its memberships
// and its tokens (raft message). Without Force, a user with pending or
// running jobs is refused.
type UserDeleteRequest struct {
	Name  string    `json:"name"`
	Force bool      `json:"force,omitempty"`
	Now   time.Time `json:"now"`
}

// GroupUpsertRequest creates a group (raft message).
type GroupUpsertRequest struct {
	Group *Group    `json:"group"`
	Now   time.Time `json:"now"`
}

// GroupDeleteRequest removes a group (raft message); a group that still
// owns pending or running jobs is refused.
type GroupDeleteRequest struct {
	Name string    `json:"name"`
	Now  time.Time `json:"now"`
}

// GroupMemberRequest adds a member, changes a member's role, or (Remove)
// removes a member (raft message).
type GroupMemberRequest struct {
	Group  string    `json:"group"`
	User   string    `json:"user"`
	Role   GroupRole `json:"role,omitempty"`
	Remove bool      `json:"remove,omitempty"`
	Now    time.Time `json:"now"`
}

// TokenCreateRequest stores a new token (raft message); the server chose
// its accessor, secret (hashed) and expiry.
type TokenCreateRequest struct {
	Token *Token    `json:"token"`
	Now   time.Time `json:"now"`
}

// TokenRevokeRequest removes a token by accessor (raft message). Revoking
// the last token of the management policy is refused: nobody could manage
// the cluster any more.
type TokenRevokeRequest struct {
	AccessorID string    `json:"accessor_id"`
	Now        time.Time `json:"now"`
}

// TokenCreateSpec is the body of POST /v1/acl/tokens. A management token
// makes any token; any other user token makes tokens for its own user
// only, without policies, that expire no later than it does (a token for
// a CI job, a laptop): User empty means the caller's user.
type TokenCreateSpec struct {
	Name     string   `json:"name,omitempty"`
	User     string   `json:"user,omitempty"`
	Policies []string `json:"policies,omitempty"`
	// TTL is how long the token works; zero: DefaultTokenTTL for user
	// tokens, no expiry for policy tokens without a user.
	TTL Duration `json:"ttl,omitempty"`
}

// DefaultTokenTTL is the lifetime of a user token made without -ttl.
const DefaultTokenTTL = 720 * time.Hour

// MaxOwnTokens bounds the unexpired tokens a user may hold when making one
// for itself, so that a leaked token cannot mint without end (management
// tokens are not bounded).
const MaxOwnTokens = 64

// Validate checks the spec.
func (s *TokenCreateSpec) Validate() error {
	var errs []error
	if s.User != "" && !ValidName(s.User) {
		errs = append(errs, fmt.Errorf("user name %q is invalid", s.User))
	}
	for _, p := range s.Policies {
		if !ValidPolicy(p) {
			errs = append(errs, fmt.Errorf("policy %q is unknown: expected management, operator or node", p))
		}
	}
	if len(s.Name) > MaxNameLen {
		errs = append(errs, fmt.Errorf("token name is %d characters long: the limit is %d", len(s.Name), MaxNameLen))
	}
	if s.TTL < 0 || s.TTL.D() > MaxTokenTTL {
		errs = append(errs, fmt.Errorf("ttl %s is out of range: expected a positive duration such as \"720h\", at most %s", s.TTL, Duration(MaxTokenTTL)))
	}
	return errors.Join(errs...)
}

// ACLBootstrapResponse answers nai acl bootstrap.
type ACLBootstrapResponse = TokenWithSecret

// Whoami answers GET /v1/acl/token/self: the token and what it acts as.
type Whoami struct {
	Token  *Token               `json:"token,omitempty"`
	User   *User                `json:"user,omitempty"`
	Groups map[string]GroupRole `json:"groups,omitempty"`
	// ACLDisabled is true when the cluster runs without ACLs: then every
	// caller may do everything.
	ACLDisabled bool `json:"acl_disabled,omitempty"`
}

// AuditEvent records one write to the API: who asked, what, on which
// object, with which result, when.
type AuditEvent struct {
	// ID orders events: the raft index that stored it and its place in
	// that entry ("1234.5").
	ID   string    `json:"id,omitempty"`
	Time time.Time `json:"time"`
	// User is the caller's user; Accessor its token's accessor; Caller
	// says what it was when not a user's token (anonymous, node ID,
	// server, management token).
	User     string `json:"user,omitempty"`
	Accessor string `json:"accessor,omitempty"`
	Caller   string `json:"caller,omitempty"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	// Object names what the write touched when the path does not say
	// it (the id of a submitted job).
	Object string `json:"object,omitempty"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
	// Remote is the address the request came from.
	Remote string `json:"remote,omitempty"`
	Server string `json:"server,omitempty"`
}

// AuditAppendRequest stores a batch of audit events (raft message). Events
// older than Before are dropped, and the oldest beyond Keep.
type AuditAppendRequest struct {
	Events []*AuditEvent `json:"events"`
	Keep   int           `json:"keep,omitempty"`
	Before time.Time     `json:"before,omitzero"`
}
