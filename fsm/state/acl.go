package state

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// The identity tables: users, groups (with their members), tokens (by
// accessor and by the hash of their secret), client nodes' secrets, and the
// ACL bookkeeping row.
const (
	tableUsers       = "users"
	tableGroups      = "groups"
	tableTokens      = "tokens"
	tableNodeSecrets = "node_secrets"
	tableACLMeta     = "acl_meta"

	// TableACL is the index every identity table bumps: a resolved
	// token is valid until it moves.
	TableACL = "acl"
)

// aclMetaID is the key of the one ACLMeta row.
const aclMetaID = "acl"

func aclTableDefs() []tableDef {
	return []tableDef{
		def[structs.User](&memdb.TableSchema{
			Name: tableUsers,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
			},
		}),
		def[structs.Group](&memdb.TableSchema{
			Name: tableGroups,
			Indexes: map[string]*memdb.IndexSchema{
				"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
				"member": {Name: "member", AllowMissing: true, Indexer: memberIndex{}},
			},
		}),
		def[structs.Token](&memdb.TableSchema{
			Name: tableTokens,
			Indexes: map[string]*memdb.IndexSchema{
				"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "AccessorID"}},
				"secret": {Name: "secret", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "SecretHash"}},
				"user":   {Name: "user", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "User"}},
			},
		}),
		def[structs.NodeSecret](&memdb.TableSchema{
			Name: tableNodeSecrets,
			Indexes: map[string]*memdb.IndexSchema{
				"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
				"secret": {Name: "secret", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "SecretHash"}},
			},
		}),
		def[aclMetaRow](&memdb.TableSchema{
			Name: tableACLMeta,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			},
		}),
	}
}

// aclMetaRow is the stored ACLMeta with its fixed key.
type aclMetaRow struct {
	ID string `json:"id"`
	structs.ACLMeta
}

// memberIndex indexes a group under each of its members' names.
type memberIndex struct{}

func (memberIndex) FromObject(obj any) (bool, [][]byte, error) {
	g, ok := obj.(*structs.Group)
	if !ok {
		return false, nil, fmt.Errorf("member index: unexpected %T", obj)
	}
	var out [][]byte
	for _, m := range g.Members {
		out = append(out, []byte(m.User+"\x00"))
	}
	return len(out) > 0, out, nil
}

func (memberIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("member index takes one argument, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("member index argument must be a string, got %T", args[0])
	}
	return []byte(s + "\x00"), nil
}

// --- writes ---

func aclMeta(txn *memdb.Txn) (*structs.ACLMeta, error) {
	row, err := first[aclMetaRow](txn, nil, tableACLMeta, "id", aclMetaID)
	if err != nil || row == nil {
		return &structs.ACLMeta{}, err
	}
	m := row.ACLMeta
	return &m, nil
}

func putACLMeta(txn *memdb.Txn, index uint64, m *structs.ACLMeta) error {
	m.ModifyIndex = index
	if err := txn.Insert(tableACLMeta, &aclMetaRow{ID: aclMetaID, ACLMeta: *m}); err != nil {
		return fmt.Errorf("write acl meta: %w", err)
	}
	return nil
}

// aclWrite runs fn in a write transaction and bumps the identity index.
func (s *Store) aclWrite(index uint64, fn func(txn *memdb.Txn) error) error {
	return s.write(func(txn *memdb.Txn) error {
		if err := fn(txn); err != nil {
			return err
		}
		return bumpIndex(txn, TableACL, index)
	})
}

// BootstrapACL stores the first management token. It works once; a second
// bootstrap needs ResetIndex equal to the index of the first (the reset
// procedure in docs/operations.md).
func (s *Store) BootstrapACL(index uint64, req *structs.ACLBootstrapRequest) error {
	if req == nil || req.Token == nil {
		return structs.NewError(structs.CodeInvalid, "acl bootstrap: the request has no token")
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		meta, err := aclMeta(txn)
		if err != nil {
			return err
		}
		if meta.BootstrapIndex != 0 && req.ResetIndex != 0 && req.ResetIndex != meta.BootstrapIndex {
			return structs.NewError(structs.CodeConflict,
				"the reset file names index %d, but the ACL bootstrap to reset is at index %d: write %d into it",
				req.ResetIndex, meta.BootstrapIndex, meta.BootstrapIndex)
		}
		if meta.BootstrapIndex != 0 && req.ResetIndex != meta.BootstrapIndex {
			return structs.NewError(structs.CodeConflict,
				"ACLs were already bootstrapped (at index %d): use a management token; to bootstrap again, follow the reset procedure in docs/operations.md with reset index %d",
				meta.BootstrapIndex, meta.BootstrapIndex)
		}
		t := req.Token.Copy()
		t.Policies = []string{structs.PolicyManagement}
		t.User = ""
		t.CreateTime = req.Now
		if err := insertToken(txn, index, t); err != nil {
			return err
		}
		meta.BootstrapIndex, meta.BootstrapTime = index, req.Now
		return putACLMeta(txn, index, meta)
	})
}

// SetServerSecret records the servers' shared secret the first time; later
// requests change nothing (several leaders may race to set one).
func (s *Store) SetServerSecret(index uint64, req *structs.ServerSecretRequest) error {
	if req == nil || len(req.Secret) < 32 {
		return structs.NewError(structs.CodeInvalid, "server secret: expected at least 32 characters")
	}
	return s.write(func(txn *memdb.Txn) error {
		meta, err := aclMeta(txn)
		if err != nil {
			return err
		}
		if meta.ServerSecret != "" {
			return nil
		}
		meta.ServerSecret = req.Secret
		if err := putACLMeta(txn, index, meta); err != nil {
			return err
		}
		return bumpIndex(txn, TableACL, index)
	})
}

func insertToken(txn *memdb.Txn, index uint64, t *structs.Token) error {
	if t.AccessorID == "" || len(t.SecretHash) != 64 {
		return structs.NewError(structs.CodeInvalid, "token needs an accessor and a sha256 secret hash")
	}
	for _, p := range t.Policies {
		if !structs.ValidPolicy(p) {
			return structs.NewError(structs.CodeInvalid, "policy %q is unknown: expected management, operator or node", p)
		}
	}
	if old, err := first[structs.Token](txn, nil, tableTokens, "id", t.AccessorID); err != nil {
		return err
	} else if old != nil {
		return structs.NewError(structs.CodeConflict, "token accessor %s exists", t.AccessorID)
	}
	if old, err := first[structs.Token](txn, nil, tableTokens, "secret", t.SecretHash); err != nil {
		return err
	} else if old != nil {
		return structs.NewError(structs.CodeConflict, "a token with this secret exists")
	}
	t.CreateIndex, t.ModifyIndex = index, index
	if err := txn.Insert(tableTokens, t); err != nil {
		return fmt.Errorf("insert token %s: %w", t.AccessorID, err)
	}
	return nil
}

// CreateToken stores a token made by a management caller.
func (s *Store) CreateToken(index uint64, req *structs.TokenCreateRequest) error {
	if req == nil || req.Token == nil {
		return structs.NewError(structs.CodeInvalid, "create token: the request has no token")
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		t := req.Token.Copy()
		if t.User != "" {
			u, err := first[structs.User](txn, nil, tableUsers, "id", t.User)
			if err != nil {
				return err
			}
			if u == nil {
				return structs.NewError(structs.CodeNotFound, "user %s not found: create it first (nai user create %s)", t.User, t.User)
			}
		}
		t.CreateTime = req.Now
		return insertToken(txn, index, t)
	})
}

// RevokeToken removes a token. The last management token cannot go.
func (s *Store) RevokeToken(index uint64, req *structs.TokenRevokeRequest) error {
	if req == nil || req.AccessorID == "" {
		return structs.NewError(structs.CodeInvalid, "revoke token: the request names no accessor")
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		t, err := first[structs.Token](txn, nil, tableTokens, "id", req.AccessorID)
		if err != nil {
			return err
		}
		if t == nil {
			return structs.NewError(structs.CodeNotFound, "token with accessor %s not found (see nai token list)", req.AccessorID)
		}
		if err := keepOneManagement(txn, []string{t.AccessorID}); err != nil {
			return err
		}
		if err := txn.Delete(tableTokens, t); err != nil {
			return fmt.Errorf("delete token %s: %w", t.AccessorID, err)
		}
		return nil
	})
}

// keepOneManagement refuses a change that would remove every management
// token that has not expired: then nobody could manage users and tokens.
func keepOneManagement(txn *memdb.Txn, removing []string) error {
	all, err := list[structs.Token](txn, nil, tableTokens, "id")
	if err != nil {
		return err
	}
	had, left := 0, 0
	for _, t := range all {
		if !t.HasPolicy(structs.PolicyManagement) {
			continue
		}
		had++
		if !slices.Contains(removing, t.AccessorID) {
			left++
		}
	}
	if had > 0 && left == 0 {
		return structs.NewError(structs.CodeConflict, "this would remove the last management token, and nobody could manage users and tokens any more: create another management token first (nai token create -policy management)")
	}
	return nil
}

// UpsertUser creates a user with its personal group, or changes a user.
func (s *Store) UpsertUser(index uint64, req *structs.UserUpsertRequest) error {
	if req == nil || req.User == nil {
		return structs.NewError(structs.CodeInvalid, "user: the request has no user")
	}
	if err := req.User.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "%v", err)
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		u := req.User.Copy()
		old, err := first[structs.User](txn, nil, tableUsers, "id", u.Name)
		if err != nil {
			return err
		}
		switch {
		case old != nil && req.Create:
			return structs.NewError(structs.CodeConflict, "user %s exists", u.Name)
		case old == nil && !req.Create:
			return structs.NewError(structs.CodeNotFound, "user %s not found", u.Name)
		case old != nil:
			u.CreateIndex, u.CreateTime = old.CreateIndex, old.CreateTime
		default:
			g, err := first[structs.Group](txn, nil, tableGroups, "id", u.Name)
			if err != nil {
				return err
			}
			if g != nil {
				return structs.NewError(structs.CodeConflict, "a group named %s exists: every user has a personal group of its own name, so choose another user name", u.Name)
			}
			u.CreateIndex, u.CreateTime = index, req.Now
			personal := &structs.Group{Name: u.Name, Personal: true, CreateTime: req.Now, CreateIndex: index, ModifyIndex: index,
				Members: []structs.GroupMember{{User: u.Name, Role: structs.RoleAdmin}}}
			if err := txn.Insert(tableGroups, personal); err != nil {
				return fmt.Errorf("insert personal group %s: %w", u.Name, err)
			}
		}
		u.ModifyIndex = index
		if err := txn.Insert(tableUsers, u); err != nil {
			return fmt.Errorf("insert user %s: %w", u.Name, err)
		}
		return nil
	})
}

// DeleteUser removes a user, its personal group, its memberships and its
// tokens. A user with pending or running jobs is refused unless Force,
// which cancels those jobs in the same transaction.
func (s *Store) DeleteUser(index uint64, req *structs.UserDeleteRequest) error {
	if req == nil || req.Name == "" {
		return structs.NewError(structs.CodeInvalid, "remove user: the request names no user")
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		u, err := first[structs.User](txn, nil, tableUsers, "id", req.Name)
		if err != nil {
			return err
		}
		if u == nil {
			return structs.NewError(structs.CodeNotFound, "user %s not found", req.Name)
		}
		live, err := liveJobs(txn, func(j *structs.Job) bool { return j.User == u.Name })
		if err != nil {
			return err
		}
		if len(live) > 0 && !req.Force {
			return structs.NewError(structs.CodeConflict, "user %s has %d pending or running jobs (%s): cancel them first, or remove with -force, which cancels them",
				u.Name, len(live), jobIDList(live))
		}
		tokens, err := list[structs.Token](txn, nil, tableTokens, "user", u.Name)
		if err != nil {
			return err
		}
		var accessors []string
		for _, t := range tokens {
			accessors = append(accessors, t.AccessorID)
		}
		if err := keepOneManagement(txn, accessors); err != nil {
			return err
		}
		for _, t := range tokens {
			if err := txn.Delete(tableTokens, t); err != nil {
				return fmt.Errorf("delete token %s: %w", t.AccessorID, err)
			}
		}
		groups, err := list[structs.Group](txn, nil, tableGroups, "member", u.Name)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.Personal && g.Name == u.Name {
				if err := txn.Delete(tableGroups, g); err != nil {
					return fmt.Errorf("delete personal group %s: %w", g.Name, err)
				}
				continue
			}
			c := g.Copy()
			c.Members = slices.DeleteFunc(c.Members, func(m structs.GroupMember) bool { return m.User == u.Name })
			c.ModifyIndex = index
			if err := txn.Insert(tableGroups, c); err != nil {
				return fmt.Errorf("update group %s: %w", g.Name, err)
			}
		}
		if err := txn.Delete(tableUsers, u); err != nil {
			return fmt.Errorf("delete user %s: %w", u.Name, err)
		}
		if len(live) > 0 {
			return cancelJobs(txn, index, live, structs.ExitCancelled, req.Now)
		}
		return nil
	})
}

func liveJobs(txn *memdb.Txn, match func(*structs.Job) bool) ([]*structs.Job, error) {
	var out []*structs.Job
	for _, st := range []structs.JobStatus{structs.JobPending, structs.JobRunning} {
		js, err := list[structs.Job](txn, nil, tableJobs, "status", string(st))
		if err != nil {
			return nil, err
		}
		for _, j := range js {
			if match(j) {
				out = append(out, j)
			}
		}
	}
	return out, nil
}

func jobIDList(jobs []*structs.Job) string {
	ids := make([]string, 0, min(len(jobs), 10))
	for i, j := range jobs {
		if i == 10 {
			ids = append(ids, "...")
			break
		}
		ids = append(ids, j.ID)
	}
	return strings.Join(ids, ", ")
}

// UpsertGroup creates a group; its members must be users.
func (s *Store) UpsertGroup(index uint64, req *structs.GroupUpsertRequest) error {
	if req == nil || req.Group == nil {
		return structs.NewError(structs.CodeInvalid, "group: the request has no group")
	}
	g := req.Group.Copy()
	if !structs.ValidName(g.Name) {
		return structs.NewError(structs.CodeInvalid, "group name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit", g.Name)
	}
	if len(g.Description) > structs.MaxDescriptionLen {
		return structs.NewError(structs.CodeInvalid, "description is %d bytes long: the limit is %d", len(g.Description), structs.MaxDescriptionLen)
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		old, err := first[structs.Group](txn, nil, tableGroups, "id", g.Name)
		if err != nil {
			return err
		}
		if old != nil && old.Personal {
			return structs.NewError(structs.CodeConflict, "%s is user %s's personal group: choose another group name", g.Name, g.Name)
		}
		if old != nil {
			return structs.NewError(structs.CodeConflict, "group %s exists", g.Name)
		}
		if u, err := first[structs.User](txn, nil, tableUsers, "id", g.Name); err != nil {
			return err
		} else if u != nil {
			return structs.NewError(structs.CodeConflict, "%s is a user's personal group: choose another group name", g.Name)
		}
		seen := map[string]bool{}
		for _, m := range g.Members {
			if err := m.Role.Validate(); err != nil {
				return structs.NewError(structs.CodeInvalid, "member %s: %v", m.User, err)
			}
			if seen[m.User] {
				return structs.NewError(structs.CodeInvalid, "member %s is listed twice", m.User)
			}
			seen[m.User] = true
			if u, err := first[structs.User](txn, nil, tableUsers, "id", m.User); err != nil {
				return err
			} else if u == nil {
				return structs.NewError(structs.CodeNotFound, "member %s is not a user", m.User)
			}
		}
		g.Personal = false
		g.CreateTime, g.CreateIndex, g.ModifyIndex = req.Now, index, index
		if err := txn.Insert(tableGroups, g); err != nil {
			return fmt.Errorf("insert group %s: %w", g.Name, err)
		}
		return nil
	})
}

// DeleteGroup removes a group that owns no pending or running job. A
// personal group goes only with its user.
func (s *Store) DeleteGroup(index uint64, req *structs.GroupDeleteRequest) error {
	if req == nil || req.Name == "" {
		return structs.NewError(structs.CodeInvalid, "remove group: the request names no group")
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		g, err := first[structs.Group](txn, nil, tableGroups, "id", req.Name)
		if err != nil {
			return err
		}
		if g == nil {
			return structs.NewError(structs.CodeNotFound, "group %s not found", req.Name)
		}
		if g.Personal {
			return structs.NewError(structs.CodeConflict, "%s is user %s's personal group: it goes when the user is removed", g.Name, g.Name)
		}
		live, err := liveJobs(txn, func(j *structs.Job) bool { return j.Group == g.Name })
		if err != nil {
			return err
		}
		if len(live) > 0 {
			return structs.NewError(structs.CodeConflict, "group %s owns %d pending or running jobs (%s): cancel them first", g.Name, len(live), jobIDList(live))
		}
		if err := txn.Delete(tableGroups, g); err != nil {
			return fmt.Errorf("delete group %s: %w", g.Name, err)
		}
		return nil
	})
}

// SetGroupMember adds a member, changes its role, or removes it.
func (s *Store) SetGroupMember(index uint64, req *structs.GroupMemberRequest) error {
	if req == nil || req.Group == "" || req.User == "" {
		return structs.NewError(structs.CodeInvalid, "group member: the request needs a group and a user")
	}
	if !req.Remove {
		if err := req.Role.Validate(); err != nil {
			return structs.NewError(structs.CodeInvalid, "%v", err)
		}
	}
	return s.aclWrite(index, func(txn *memdb.Txn) error {
		g, err := first[structs.Group](txn, nil, tableGroups, "id", req.Group)
		if err != nil {
			return err
		}
		if g == nil {
			return structs.NewError(structs.CodeNotFound, "group %s not found (create it with nai group create %s)", req.Group, req.Group)
		}
		if u, err := first[structs.User](txn, nil, tableUsers, "id", req.User); err != nil {
			return err
		} else if u == nil {
			return structs.NewError(structs.CodeNotFound, "user %s not found", req.User)
		}
		if g.Personal && req.User == g.Name {
			return structs.NewError(structs.CodeConflict, "user %s is always the admin of its personal group", req.User)
		}
		c := g.Copy()
		i := slices.IndexFunc(c.Members, func(m structs.GroupMember) bool { return m.User == req.User })
		switch {
		case req.Remove && i < 0:
			return structs.NewError(structs.CodeNotFound, "user %s is not a member of group %s", req.User, req.Group)
		case req.Remove:
			c.Members = slices.Delete(c.Members, i, i+1)
		case i < 0:
			c.Members = append(c.Members, structs.GroupMember{User: req.User, Role: req.Role})
		default:
			c.Members[i].Role = req.Role
		}
		c.ModifyIndex = index
		if err := txn.Insert(tableGroups, c); err != nil {
			return fmt.Errorf("update group %s: %w", g.Name, err)
		}
		return nil
	})
}

// putNodeSecret records a client node's secret hash on its first
// registration and refuses another secret for the same node.
func putNodeSecret(txn *memdb.Txn, index uint64, nodeID, hash string) error {
	if hash == "" {
		return nil
	}
	old, err := first[structs.NodeSecret](txn, nil, tableNodeSecrets, "id", nodeID)
	if err != nil {
		return err
	}
	if old != nil {
		if old.SecretHash != hash {
			return structs.NewError(structs.CodeForbidden, "node %s is registered with another node secret: a host cannot take over another's node id", nodeID)
		}
		return nil
	}
	if other, err := first[structs.NodeSecret](txn, nil, tableNodeSecrets, "secret", hash); err != nil {
		return err
	} else if other != nil {
		return structs.NewError(structs.CodeConflict, "node %s presents the secret of node %s: every node needs its own", nodeID, other.NodeID)
	}
	if err := txn.Insert(tableNodeSecrets, &structs.NodeSecret{NodeID: nodeID, SecretHash: hash, CreateIndex: index}); err != nil {
		return fmt.Errorf("insert node secret of %s: %w", nodeID, err)
	}
	return bumpIndex(txn, TableACL, index)
}

// --- reads ---

// ACLMeta returns the ACL bookkeeping row (zero when never written).
func (sn *Snapshot) ACLMeta() (*structs.ACLMeta, error) { return aclMeta(sn.txn) }

// UserByName returns a user, or nil.
func (sn *Snapshot) UserByName(ws memdb.WatchSet, name string) (*structs.User, error) {
	return first[structs.User](sn.txn, ws, tableUsers, "id", name)
}

// Users returns every user by name.
func (sn *Snapshot) Users(ws memdb.WatchSet) ([]*structs.User, error) {
	return list[structs.User](sn.txn, ws, tableUsers, "id")
}

// GroupByName returns a group, or nil.
func (sn *Snapshot) GroupByName(ws memdb.WatchSet, name string) (*structs.Group, error) {
	return first[structs.Group](sn.txn, ws, tableGroups, "id", name)
}

// Groups returns every group by name.
func (sn *Snapshot) Groups(ws memdb.WatchSet) ([]*structs.Group, error) {
	return list[structs.Group](sn.txn, ws, tableGroups, "id")
}

// GroupRoles returns the groups a user is a member of, with its role in
// each.
func (sn *Snapshot) GroupRoles(user string) (map[string]structs.GroupRole, error) {
	gs, err := list[structs.Group](sn.txn, nil, tableGroups, "member", user)
	if err != nil {
		return nil, err
	}
	out := make(map[string]structs.GroupRole, len(gs))
	for _, g := range gs {
		out[g.Name] = g.Role(user)
	}
	return out, nil
}

// TokenByAccessor returns a token, or nil.
func (sn *Snapshot) TokenByAccessor(ws memdb.WatchSet, id string) (*structs.Token, error) {
	return first[structs.Token](sn.txn, ws, tableTokens, "id", id)
}

// TokenBySecretHash returns the token whose secret hashes to h, or nil.
func (sn *Snapshot) TokenBySecretHash(h string) (*structs.Token, error) {
	return first[structs.Token](sn.txn, nil, tableTokens, "secret", h)
}

// Tokens returns every token (user "" ) or a user's tokens, by accessor.
func (sn *Snapshot) Tokens(ws memdb.WatchSet, user string) ([]*structs.Token, error) {
	if user != "" {
		return list[structs.Token](sn.txn, ws, tableTokens, "user", user)
	}
	return list[structs.Token](sn.txn, ws, tableTokens, "id")
}

// NodeBySecretHash returns the node id whose secret hashes to h, "" when
// none.
func (sn *Snapshot) NodeBySecretHash(h string) (string, error) {
	ns, err := first[structs.NodeSecret](sn.txn, nil, tableNodeSecrets, "secret", h)
	if err != nil || ns == nil {
		return "", err
	}
	return ns.NodeID, nil
}

// NodeSecretHash returns the stored secret hash of a node, "" when none.
func (sn *Snapshot) NodeSecretHash(nodeID string) (string, error) {
	ns, err := first[structs.NodeSecret](sn.txn, nil, tableNodeSecrets, "id", nodeID)
	if err != nil || ns == nil {
		return "", err
	}
	return ns.SecretHash, nil
}
