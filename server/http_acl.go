package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// aclRoutes are identity and access: bootstrap, tokens, users, groups.
func (s *Server) aclRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/acl/bootstrap", Cap: acl.Public, handle: s.aclBootstrap, Doc: "make the first management token; works once (see the reset procedure)"},
		{Method: "GET", Path: "/v1/acl/token/self", Cap: acl.Authenticated, handle: s.tokenSelf, Doc: "the caller's token, user and groups"},
		{Method: "GET", Path: "/v1/acl/tokens", Cap: acl.User, handle: s.tokenList, Doc: "tokens: all for management (?user=U), else the caller's own"},
		{Method: "POST", Path: "/v1/acl/tokens", Cap: acl.User, handle: s.tokenCreate, Doc: "make a token; its secret is in this answer only (management: any; a user: its own, no policies, expiring no later than the caller's)"},
		{Method: "GET", Path: "/v1/acl/tokens/{accessor}", Cap: acl.User, handle: s.tokenGet, Doc: "one token (management, or its own user)"},
		{Method: "DELETE", Path: "/v1/acl/tokens/{accessor}", Cap: acl.User, handle: s.tokenRevoke, Doc: "revoke a token and those it made (management, or its own user)"},
		{Method: "GET", Path: "/v1/acl/users", Cap: acl.User, handle: s.userList, Doc: "users: all for operators and management, else the caller"},
		{Method: "POST", Path: "/v1/acl/users", Cap: acl.ACLWrite, handle: s.userCreate, Doc: "make a user and its personal group"},
		{Method: "GET", Path: "/v1/acl/users/{name}", Cap: acl.User, handle: s.userGet, Doc: "one user with its groups (itself, operators, management)"},
		{Method: "PUT", Path: "/v1/acl/users/{name}", Cap: acl.ACLWrite, handle: s.userUpdate, Doc: "change a user's unix account"},
		{Method: "DELETE", Path: "/v1/acl/users/{name}", Cap: acl.ACLWrite, handle: s.userDelete, Doc: "remove a user, its personal group and tokens (?force=true cancels its live jobs)"},
		{Method: "GET", Path: "/v1/acl/groups", Cap: acl.User, handle: s.groupList, Doc: "groups: all for operators and management, else the caller's"},
		{Method: "POST", Path: "/v1/acl/groups", Cap: acl.ACLWrite, handle: s.groupCreate, Doc: "make a group"},
		{Method: "GET", Path: "/v1/acl/groups/{name}", Cap: acl.User, handle: s.groupGet, Doc: "one group with members, quota and shares (its members, operators, management)"},
		{Method: "DELETE", Path: "/v1/acl/groups/{name}", Cap: acl.ACLWrite, handle: s.groupDelete, Doc: "remove a group that owns no live job"},
		{Method: "PUT", Path: "/v1/acl/groups/{name}/members/{user}", Cap: acl.User, handle: s.groupMemberPut, Doc: "add a member or change its role (group admin, management)"},
		{Method: "DELETE", Path: "/v1/acl/groups/{name}/members/{user}", Cap: acl.User, handle: s.groupMemberDelete, Doc: "remove a member (group admin, management)"},
	}
}

// newSecret makes a token secret: 32 random bytes, URL-safe.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Server) requireACLs() error {
	if !s.cfg.ACL.Enabled {
		return structs.NewError(structs.CodeInvalid, "ACLs are not enabled on this cluster: set acl { enabled = true } in the servers' configuration (nai agent -dev: -acl-enabled)")
	}
	return nil
}

// aclBootstrap makes the first management token. A second call is
// refused, unless the operator wrote the first bootstrap's index into the
// reset file on the leader (docs/operations.md).
func (s *Server) aclBootstrap(r *request) (any, uint64, error) {
	drain(r.Request)
	if err := s.requireACLs(); err != nil {
		return nil, 0, err
	}
	var reset uint64
	if b, err := os.ReadFile(s.cfg.ACL.BootstrapResetFile); err == nil {
		n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			return nil, 0, structs.NewError(structs.CodeInvalid, "the reset file %s holds %q: expected the bootstrap index the refusal named", s.cfg.ACL.BootstrapResetFile, strings.TrimSpace(string(b)))
		}
		reset = n
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, 0, err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, 0, err
	}
	now := time.Now().UTC()
	t := &structs.Token{AccessorID: uuid.NewString(), SecretHash: hashSecret(secret), Name: "bootstrap", Policies: []string{structs.PolicyManagement}, CreateTime: now}
	_, idx, err := s.apply(fsm.ACLBootstrap, &structs.ACLBootstrapRequest{Token: t, ResetIndex: reset, Now: now})
	if err != nil {
		if structs.CodeOf(err) == structs.CodeConflict {
			// Say what this leader made of the reset file: the
			// generic refusal left the operator guessing whether the
			// file was read at all.
			if reset != 0 {
				return nil, 0, structs.NewError(structs.CodeConflict, "the reset file %s on the leader (%s) was found but not used: %s", s.cfg.ACL.BootstrapResetFile, s.cfg.NodeName, err.Error())
			}
			return nil, 0, structs.NewError(structs.CodeConflict, "%s (the leader, %s, has no reset file at %s)", err.Error(), s.cfg.NodeName, s.cfg.ACL.BootstrapResetFile)
		}
		return nil, 0, err
	}
	if reset != 0 {
		s.logger.Warn("ACL bootstrap reset used: a new management token was made", "reset_index", reset)
	}
	r.audit = "token " + t.AccessorID
	t.CreateIndex, t.ModifyIndex = idx, idx
	return &structs.TokenWithSecret{Token: t.Public(), SecretID: secret}, idx, nil
}

func (s *Server) tokenSelf(r *request) (any, uint64, error) {
	if !r.acl.Enabled() {
		return &structs.Whoami{ACLDisabled: true}, 0, nil
	}
	id := r.acl.Identity()
	out := &structs.Whoami{Groups: id.Groups}
	if id.Token != nil {
		out.Token = id.Token.Public()
	}
	if id.User != nil {
		out.User = id.User.Copy()
	}
	if id.Kind == acl.KindNode {
		return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: the caller is client node %s, not a token", id.NodeID)
	}
	return out, 0, nil
}

// mayManageToken: management, or the token's own user.
func mayManageToken(a *acl.ACL, t *structs.Token) error {
	if a.IsManagement() || (t.User != "" && t.User == a.UserName()) {
		return nil
	}
	if t.User == "" {
		// A management or policy token (the bootstrap token, a node
		// token) acts as no user.
		what := "a token of no user"
		if len(t.Policies) > 0 {
			what = "a token of no user, with policies " + strings.Join(t.Policies, ", ")
		}
		return structs.NewError(structs.CodeForbidden, "permission denied: token %s is %s; only management tokens act on it", shortID(t.AccessorID), what)
	}
	return structs.NewError(structs.CodeForbidden, "permission denied: token %s belongs to another user; only management tokens act on others' tokens", shortID(t.AccessorID))
}

func (s *Server) tokenList(r *request) (any, uint64, error) {
	user := r.URL.Query().Get("user")
	if !r.acl.IsManagement() {
		if user != "" && user != r.acl.UserName() {
			return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: listing the tokens of user %s needs a management token", user)
		}
		user = r.acl.UserName()
		if user == "" {
			return []*structs.Token{}, 0, nil
		}
	}
	ts, err := r.snap.Tokens(nil, user)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*structs.Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Public())
	}
	return out, r.snap.TableIndex("acl"), nil
}

func (s *Server) tokenCreate(r *request) (any, uint64, error) {
	if err := s.requireACLs(); err != nil {
		return nil, 0, err
	}
	var spec structs.TokenCreateSpec
	if err := decodeBody(r.Request, &spec); err != nil {
		return nil, 0, err
	}
	if err := spec.Validate(); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "%v", err)
	}
	now := time.Now().UTC()
	if r.acl.IsManagement() {
		if spec.User == "" && len(spec.Policies) == 0 {
			return nil, 0, structs.NewError(structs.CodeInvalid, "a token needs a user (-user U) or a policy (-policy management|operator|node): a management token acts as no user")
		}
	} else if err := ownToken(r, &spec, now); err != nil {
		return nil, 0, err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, 0, err
	}
	t := &structs.Token{AccessorID: uuid.NewString(), SecretHash: hashSecret(secret), Name: spec.Name, User: spec.User,
		Policies: slices.Compact(slices.Sorted(slices.Values(spec.Policies))), CreateTime: now}
	if !r.acl.IsManagement() {
		t.MadeBy = r.acl.Identity().Token.AccessorID
	}
	ttl := spec.TTL.D()
	if ttl == 0 && spec.User != "" {
		ttl = structs.DefaultTokenTTL
	}
	if ttl > 0 {
		t.ExpirationTime = now.Add(ttl)
	}
	_, idx, err := s.apply(fsm.TokenCreate, &structs.TokenCreateRequest{Token: t, Now: now})
	if err != nil {
		return nil, 0, err
	}
	r.audit = "token " + t.AccessorID
	t.CreateIndex, t.ModifyIndex = idx, idx
	return &structs.TokenWithSecret{Token: t.Public(), SecretID: secret}, idx, nil
}

// ownToken checks, and completes, a token that a caller without a
// management token makes: for its own user, with no policy, expiring no
// later than the caller's token (so a stolen token cannot outlive its
// revocation by minting a longer one), and at most MaxOwnTokens unexpired
// tokens for the user.
func ownToken(r *request, spec *structs.TokenCreateSpec, now time.Time) error {
	user := r.acl.UserName()
	caller := r.acl.Identity().Token
	if user == "" || caller == nil {
		return structs.NewError(structs.CodeForbidden, "permission denied: this token acts as no user, so it makes no token; making one for a user or a policy needs a management token")
	}
	if spec.User == "" {
		spec.User = user
	}
	if spec.User != user {
		return structs.NewError(structs.CodeForbidden, "permission denied: a user makes tokens for itself only (you are %s, the token would be %s's); tokens for other users need a management token", user, spec.User)
	}
	if len(spec.Policies) > 0 {
		return structs.NewError(structs.CodeForbidden, "permission denied: policies (%s) are given by management tokens only; a token you make acts as you", strings.Join(spec.Policies, ", "))
	}
	ttl := spec.TTL.D()
	if ttl == 0 {
		ttl = structs.DefaultTokenTTL
		if !caller.ExpirationTime.IsZero() {
			ttl = min(ttl, caller.ExpirationTime.Sub(now))
		}
	}
	if !caller.ExpirationTime.IsZero() && now.Add(ttl).After(caller.ExpirationTime) {
		left := caller.ExpirationTime.Sub(now).Truncate(time.Second)
		return structs.NewError(structs.CodeInvalid, "a token you make cannot outlive the token making it: yours expires at %s (in %s); ask for at most -ttl %s, or ask an administrator for a longer one",
			caller.ExpirationTime.Format(time.RFC3339), left, left)
	}
	if ttl <= 0 {
		return structs.NewError(structs.CodeInvalid, "your token has expired")
	}
	spec.TTL = structs.Duration(ttl)
	tokens, err := r.snap.Tokens(nil, user)
	if err != nil {
		return err
	}
	live := 0
	for _, t := range tokens {
		if !t.Expired(now) {
			live++
		}
	}
	if live >= structs.MaxOwnTokens {
		return structs.NewError(structs.CodeConflict, "user %s holds %d unexpired tokens, the most a user may make for itself: revoke some first (nai token list, nai token revoke ACCESSOR)", user, live)
	}
	return nil
}

func (s *Server) tokenFor(r *request) (*structs.Token, error) {
	id := r.PathValue("accessor")
	t, err := r.snap.TokenByAccessor(nil, id)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, structs.NewError(structs.CodeNotFound, "token with accessor %s not found (see nai token list)", id)
	}
	if err := mayManageToken(r.acl, t); err != nil {
		return nil, err
	}
	return t, nil
}

func (s *Server) tokenGet(r *request) (any, uint64, error) {
	t, err := s.tokenFor(r)
	if err != nil {
		return nil, 0, err
	}
	return t.Public(), t.ModifyIndex, nil
}

func (s *Server) tokenRevoke(r *request) (any, uint64, error) {
	t, err := s.tokenFor(r)
	if err != nil {
		return nil, 0, err
	}
	r.audit = "token " + t.AccessorID
	// The tokens it made (and they made) go first, so that none is left
	// if a revoke fails half way: a leaked token's offspring die with it.
	made, err := madeFrom(r.snap, t)
	if err != nil {
		return nil, 0, err
	}
	now := time.Now().UTC()
	for _, c := range made {
		if _, _, err := s.apply(fsm.TokenRevoke, &structs.TokenRevokeRequest{AccessorID: c.AccessorID, Now: now}); err != nil {
			return nil, 0, fmt.Errorf("revoke token %s, made by %s: %w", shortID(c.AccessorID), shortID(t.AccessorID), err)
		}
	}
	if len(made) > 0 {
		r.audit += fmt.Sprintf(" and the %d it made", len(made))
	}
	return s.applyIndex(fsm.TokenRevoke, &structs.TokenRevokeRequest{AccessorID: t.AccessorID, Now: now})
}

// madeFrom lists the tokens t made for its user, and those they made, in
// turn: deepest first. A token a user makes is its own user's (ownToken),
// so only that user's tokens are looked at.
func madeFrom(snap *state.Snapshot, t *structs.Token) ([]*structs.Token, error) {
	if t.User == "" {
		return nil, nil
	}
	tokens, err := snap.Tokens(nil, t.User)
	if err != nil {
		return nil, err
	}
	children := map[string][]*structs.Token{}
	for _, c := range tokens {
		if c.MadeBy != "" {
			children[c.MadeBy] = append(children[c.MadeBy], c)
		}
	}
	var out []*structs.Token
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		if depth > structs.MaxOwnTokens { // a cycle cannot be made; bound it anyway
			return
		}
		for _, c := range children[id] {
			walk(c.AccessorID, depth+1)
			out = append(out, c)
		}
	}
	walk(t.AccessorID, 0)
	return out, nil
}

// seesAllAccounts: operators and management see every user and group.
func seesAllAccounts(a *acl.ACL) bool { return a.IsOperator() || a.IsManagement() }

func (s *Server) userList(r *request) (any, uint64, error) {
	users, err := r.snap.Users(nil)
	if err != nil {
		return nil, 0, err
	}
	out := []*structs.User{}
	for _, u := range users {
		if seesAllAccounts(r.acl) || u.Name == r.acl.UserName() {
			out = append(out, u)
		}
	}
	return out, r.snap.TableIndex("acl"), nil
}

func (s *Server) userGet(r *request) (any, uint64, error) {
	name := r.PathValue("name")
	if !seesAllAccounts(r.acl) && name != r.acl.UserName() {
		return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: seeing user %s needs operator rights", name)
	}
	u, err := r.snap.UserByName(nil, name)
	if err != nil {
		return nil, 0, err
	}
	if u == nil {
		return nil, 0, structs.NewError(structs.CodeNotFound, "user %s not found", name)
	}
	c := u.Copy()
	if c.Groups, err = r.snap.GroupRoles(name); err != nil {
		return nil, 0, err
	}
	return c, u.ModifyIndex, nil
}

func (s *Server) userCreate(r *request) (any, uint64, error) {
	var u structs.User
	if err := decodeBody(r.Request, &u); err != nil {
		return nil, 0, err
	}
	if err := u.Validate(); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "%v", err)
	}
	r.audit = "user " + u.Name
	u.CreateIndex, u.ModifyIndex, u.Groups = 0, 0, nil
	_, idx, err := s.apply(fsm.UserUpsert, &structs.UserUpsertRequest{User: &u, Create: true, Now: time.Now().UTC()})
	if err != nil {
		return nil, 0, err
	}
	u.CreateIndex, u.ModifyIndex = idx, idx
	return &u, idx, nil
}

func (s *Server) userUpdate(r *request) (any, uint64, error) {
	var u structs.User
	if err := decodeBody(r.Request, &u); err != nil {
		return nil, 0, err
	}
	name := r.PathValue("name")
	if u.Name == "" {
		u.Name = name
	}
	if u.Name != name {
		return nil, 0, structs.NewError(structs.CodeInvalid, "the body names user %q but the path names %q", u.Name, name)
	}
	if err := u.Validate(); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "%v", err)
	}
	u.Groups = nil
	return s.applyIndex(fsm.UserUpsert, &structs.UserUpsertRequest{User: &u, Now: time.Now().UTC()})
}

func (s *Server) userDelete(r *request) (any, uint64, error) {
	drain(r.Request)
	force := r.URL.Query().Get("force") == "true"
	return s.applyIndex(fsm.UserDelete, &structs.UserDeleteRequest{Name: r.PathValue("name"), Force: force, Now: time.Now().UTC()})
}

func (s *Server) groupList(r *request) (any, uint64, error) {
	groups, err := r.snap.Groups(nil)
	if err != nil {
		return nil, 0, err
	}
	out := []*structs.Group{}
	for _, g := range groups {
		if seesAllAccounts(r.acl) || r.acl.Role(g.Name) != "" {
			out = append(out, g)
		}
	}
	return out, r.snap.TableIndex("acl"), nil
}

func (s *Server) groupGet(r *request) (any, uint64, error) {
	name := r.PathValue("name")
	if !seesAllAccounts(r.acl) && r.acl.Role(name) == "" {
		return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: seeing group %s needs being a member of it, or operator rights", name)
	}
	g, err := r.snap.GroupByName(nil, name)
	if err != nil {
		return nil, 0, err
	}
	if g == nil {
		return nil, 0, structs.NewError(structs.CodeNotFound, "group %s not found", name)
	}
	c := g.Copy()
	quotas, err := r.snap.Quotas(nil)
	if err != nil {
		return nil, 0, err
	}
	for _, q := range quotas {
		if q.Kind == structs.AccountGroup && q.Name == name {
			qq := q.Quota
			c.Quota = &qq
		}
	}
	shares, err := r.snap.Shares(nil)
	if err != nil {
		return nil, 0, err
	}
	for _, sh := range shares {
		if sh.Kind == structs.AccountGroup && sh.Name == name {
			v := sh.Shares
			c.Shares = &v
		}
	}
	return c, g.ModifyIndex, nil
}

func (s *Server) groupCreate(r *request) (any, uint64, error) {
	var g structs.Group
	if err := decodeBody(r.Request, &g); err != nil {
		return nil, 0, err
	}
	r.audit = "group " + g.Name
	g.CreateIndex, g.ModifyIndex, g.Quota, g.Shares = 0, 0, nil, nil
	_, idx, err := s.apply(fsm.GroupUpsert, &structs.GroupUpsertRequest{Group: &g, Now: time.Now().UTC()})
	if err != nil {
		return nil, 0, err
	}
	g.CreateIndex, g.ModifyIndex = idx, idx
	if g.Members == nil {
		g.Members = []structs.GroupMember{}
	}
	return &g, idx, nil
}

func (s *Server) groupDelete(r *request) (any, uint64, error) {
	drain(r.Request)
	return s.applyIndex(fsm.GroupDelete, &structs.GroupDeleteRequest{Name: r.PathValue("name"), Now: time.Now().UTC()})
}

// groupMemberBody is the body of PUT /v1/acl/groups/{name}/members/{user}.
type groupMemberBody struct {
	Role structs.GroupRole `json:"role"`
}

func (s *Server) groupMemberPut(r *request) (any, uint64, error) {
	var body groupMemberBody
	if err := decodeBody(r.Request, &body); err != nil {
		return nil, 0, err
	}
	if body.Role == "" {
		body.Role = structs.RoleMember
	}
	return s.groupMember(r, body.Role, false)
}

func (s *Server) groupMemberDelete(r *request) (any, uint64, error) {
	drain(r.Request)
	return s.groupMember(r, "", true)
}

func (s *Server) groupMember(r *request, role structs.GroupRole, remove bool) (any, uint64, error) {
	if err := s.requireACLs(); err != nil {
		return nil, 0, err
	}
	group, user := r.PathValue("name"), r.PathValue("user")
	if g, err := r.snap.GroupByName(nil, group); err != nil {
		return nil, 0, err
	} else if g == nil {
		return nil, 0, structs.NewError(structs.CodeNotFound, "group %s not found (nai group create %s)", group, group)
	}
	if err := r.acl.CheckGroupAdmin(group); err != nil {
		return nil, 0, err
	}
	r.audit = "group " + group + " member " + user
	return s.applyIndex(fsm.GroupMember, &structs.GroupMemberRequest{Group: group, User: user, Role: role, Remove: remove, Now: time.Now().UTC()})
}
