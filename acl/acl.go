package acl

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nai-project/nai/structs"
)

// Kind says what sent a request.
type Kind int

const (
	// Anonymous: no credential was presented.
	Anonymous Kind = iota
	// KindToken: an API token (of a user, of policies, or both).
	KindToken
	// KindNode: a client node presenting its node secret.
	KindNode
	// KindServer: another server presenting the servers' shared secret.
	KindServer
)

// Identity is who sent a request, as the server resolved it from state.
type Identity struct {
	Kind Kind
	// Token is the caller's token (KindToken).
	Token *structs.Token
	// User is the token's user; nil for a token that acts for nobody
	// (the bootstrap management token, a node registration token).
	User *structs.User
	// Groups are the user's groups and its role in each, its personal
	// group included.
	Groups map[string]structs.GroupRole
	// NodeID is the node whose secret was presented (KindNode).
	NodeID string
}

// Capability is what a route needs before its handler runs. Finer
// decisions about one object are the object checks'.
type Capability string

const (
	// Public routes need no credential at all.
	Public Capability = "public"
	// Authenticated routes need any known caller: a token, a client
	// node's secret, or a server.
	Authenticated Capability = "authenticated"
	// User routes need a token (or a server); the handler then decides per
	// object (jobs, datasets, models) and filters lists.
	User Capability = "user"
	// OperatorRead and OperatorWrite are the cluster's: nodes, queues,
	// quotas, drains, blobs, raft, audit.
	OperatorRead  Capability = "operator:read"
	OperatorWrite Capability = "operator:write"
	// ACLWrite manages users, groups and tokens.
	ACLWrite Capability = "acl:write"
	// NodeRegister adds a client node to the cluster; a registered node
	// may refresh its own registration with its node secret (the handler
	// checks it is its own).
	NodeRegister Capability = "node:register"
	// Client is a client node's own API (its allocations, its reports);
	// the handler checks the node is the one named.
	Client Capability = "client"
	// Server is for servers only (blob copies between servers).
	Server Capability = "server"
)

// Capabilities lists every capability, for route table tests and docs.
func Capabilities() []Capability {
	return []Capability{Public, Authenticated, User, OperatorRead, OperatorWrite, ACLWrite, NodeRegister, Client, Server}
}

// Right is what a caller wants to do with one job, dataset or model.
type Right string

const (
	// Read sees a job's metadata, or a dataset's or model's versions.
	Read Right = "read"
	// ReadData reads a job's logs, outputs and metrics, or pulls a
	// dataset's or model's content.
	ReadData Right = "read-data"
	// Write submits a job, or pushes a version, under a group.
	Write Right = "write"
	// Manage cancels a job or changes its priority, or removes a version.
	Manage Right = "manage"
)

// ACL answers what one identity may do.
type ACL struct {
	disabled   bool
	id         Identity
	management bool
	operator   bool
	node       bool
}

// Disabled is the ACL of a cluster that runs without ACLs: everyone may do
// everything, and ownership comes from what the caller says.
func Disabled() *ACL { return &ACL{disabled: true} }

// New builds the ACL of an identity.
func New(id Identity) *ACL {
	a := &ACL{id: id}
	switch id.Kind {
	case KindServer:
		a.management = true
	case KindToken:
		if id.Token != nil {
			a.management = id.Token.HasPolicy(structs.PolicyManagement)
			a.operator = a.management || id.Token.HasPolicy(structs.PolicyOperator)
			a.node = a.management || id.Token.HasPolicy(structs.PolicyNode)
		}
	}
	if a.id.Groups == nil {
		a.id.Groups = map[string]structs.GroupRole{}
	}
	return a
}

// Enabled reports whether ACLs are enforced.
func (a *ACL) Enabled() bool { return !a.disabled }

// Identity returns who the ACL is for.
func (a *ACL) Identity() Identity { return a.id }

// IsManagement reports whether the caller may do everything.
func (a *ACL) IsManagement() bool { return a.disabled || a.management }

// IsOperator reports whether the caller has the operator's rights.
func (a *ACL) IsOperator() bool { return a.disabled || a.operator }

// UserName is the user the caller acts as, "" for none.
func (a *ACL) UserName() string {
	if a.id.User != nil {
		return a.id.User.Name
	}
	return ""
}

// NodeID is the client node the caller is, "" for none.
func (a *ACL) NodeID() string {
	if a.id.Kind == KindNode {
		return a.id.NodeID
	}
	return ""
}

// Role is the caller's role in group g, "" when not a member.
func (a *ACL) Role(g string) structs.GroupRole { return a.id.Groups[g] }

// Check says whether the caller may call a route that needs c: nil, or a
// 401 (no usable credential) or 403 (a caller without the capability)
// error that names it.
func (a *ACL) Check(c Capability) error {
	if a.disabled || c == Public {
		return nil
	}
	if a.id.Kind == Anonymous {
		return structs.NewError(structs.CodeUnauthorized,
			"this request needs a token (%s): send \"Authorization: Bearer <secret>\"; set NAI_TOKEN or run `nai login` for the CLI", c)
	}
	ok := false
	switch c {
	case Authenticated:
		ok = true
	case User:
		ok = a.id.Kind == KindToken || a.id.Kind == KindServer
	case OperatorRead, OperatorWrite:
		ok = a.operator || a.management
	case ACLWrite:
		ok = a.management
	case NodeRegister:
		ok = a.node || a.management || a.id.Kind == KindNode
	case Client:
		ok = a.id.Kind == KindNode || a.management
	case Server:
		ok = a.id.Kind == KindServer
	}
	if ok {
		return nil
	}
	return a.deny("this request needs %s", c)
}

// deny makes a 403 error that says what was asked and who asked.
func (a *ACL) deny(format string, args ...any) error {
	return structs.NewError(structs.CodeForbidden, "permission denied: %s; %s", fmt.Sprintf(format, args...), a.describe())
}

// describe says who the caller is and what it has, for refusals.
func (a *ACL) describe() string {
	switch a.id.Kind {
	case KindNode:
		return fmt.Sprintf("the caller is client node %s", a.id.NodeID)
	case KindServer:
		return "the caller is a server"
	case Anonymous:
		return "the caller sent no token"
	}
	var b strings.Builder
	b.WriteString("the token")
	if t := a.id.Token; t != nil {
		if t.Name != "" {
			fmt.Fprintf(&b, " %q", t.Name)
		}
		fmt.Fprintf(&b, " (accessor %s)", short(t.AccessorID))
	}
	if a.id.User != nil {
		fmt.Fprintf(&b, " acts as user %s", a.id.User.Name)
	} else {
		b.WriteString(" acts for no user")
	}
	var pol []string
	if t := a.id.Token; t != nil {
		pol = t.Policies
	}
	if len(pol) > 0 {
		fmt.Fprintf(&b, ", with policies %s", strings.Join(pol, ", "))
	}
	if len(a.id.Groups) > 0 {
		gs := make([]string, 0, len(a.id.Groups))
		for _, g := range slices.Sorted(maps.Keys(a.id.Groups)) {
			gs = append(gs, g+":"+string(a.id.Groups[g]))
		}
		fmt.Fprintf(&b, ", in groups %s", strings.Join(gs, ", "))
	}
	return b.String()
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// roleFor is the role a right on a group's objects needs.
func roleFor(r Right) structs.GroupRole {
	switch r {
	case Read, ReadData:
		return structs.RoleReader
	case Write:
		return structs.RoleMember
	}
	return structs.RoleAdmin
}

// CheckJob says whether the caller may do r to a job owned by user and
// group (nil when it may). The owner may do everything to its own jobs;
// others need the group role the right asks for; operators read every
// job's metadata.
func (a *ACL) CheckJob(id, owner, group string, r Right) error {
	if a.disabled || a.management {
		return nil
	}
	if a.id.Kind != KindToken {
		return a.deny("job %s is not visible to this caller", id)
	}
	if a.id.User != nil && owner == a.id.User.Name {
		return nil
	}
	if r == Read && a.operator {
		return nil
	}
	need := roleFor(r)
	if group != "" && a.id.Groups[group].AtLeast(need) {
		return nil
	}
	if a.operator {
		return a.deny("%s job %s of user %s needs %s, or a management token (the operator policy reads every job but cancels or changes none)", verb(r, "job"), id, owner, needs(group, need))
	}
	return a.deny("%s job %s of user %s needs %s", verb(r, "job"), id, owner, needs(group, need))
}

// CheckArtifact says whether the caller may do r to a dataset or model of
// owner and group. Rights follow the group's roles; the owner of an
// artifact without a group (made before ACLs) has them all.
func (a *ACL) CheckArtifact(kind structs.ArtifactKind, name, owner, group string, r Right) error {
	if a.disabled || a.management {
		return nil
	}
	if a.id.Kind != KindToken {
		return a.deny("%s %s is not visible to this caller", kind, name)
	}
	need := roleFor(r)
	if group == "" && a.id.User != nil && owner == a.id.User.Name {
		return nil
	}
	if group != "" && a.id.Groups[group].AtLeast(need) {
		return nil
	}
	return a.deny("%s %s %s needs %s", verb(r, string(kind)), kind, name, needs(group, need))
}

// CheckGroupWrite says whether the caller may submit jobs or push
// versions under group.
func (a *ACL) CheckGroupWrite(group string) error {
	if a.disabled || a.management {
		return nil
	}
	if a.id.User == nil {
		return a.deny("submitting or pushing needs a token of a user (this one acts for nobody)")
	}
	if a.id.Groups[group].AtLeast(structs.RoleMember) {
		return nil
	}
	return a.deny("submitting or pushing under group %s needs role member or admin in it", group)
}

// CheckGroupAdmin says whether the caller may manage group g's members.
func (a *ACL) CheckGroupAdmin(group string) error {
	if a.disabled || a.management {
		return nil
	}
	if a.id.Groups[group] == structs.RoleAdmin {
		return nil
	}
	return a.deny("changing the members of group %s needs role admin in it, or a management token", group)
}

// CanSeeJob reports whether the caller may see a job (lists show only
// those).
func (a *ACL) CanSeeJob(owner, group string) bool { return a.CheckJob("", owner, group, Read) == nil }

// CanSeeArtifact reports whether the caller may see a dataset or model.
func (a *ACL) CanSeeArtifact(kind structs.ArtifactKind, owner, group string) bool {
	return a.CheckArtifact(kind, "", owner, group, Read) == nil
}

// HidesJob reports whether a refusal about a job of owner and group must
// read as if the job did not exist: the caller may not even see it, so a
// 403 would tell it that the job exists. A caller that may see the job
// but lacks a stronger right (reading its logs, cancelling it) is told
// which right it lacks: it knows the job exists. Operators see every
// job.
func (a *ACL) HidesJob(owner, group string) bool { return !a.CanSeeJob(owner, group) }

// HidesArtifact is HidesJob for a dataset, model or plugin. Operators
// are refused openly: they learn every version's name from the blob list
// (GET /v1/operator/blobs) anyway.
func (a *ACL) HidesArtifact(kind structs.ArtifactKind, owner, group string) bool {
	return !a.operator && !a.CanSeeArtifact(kind, owner, group)
}

// CheckRunAs says whether the caller may run a task as unix account
// account when its own account is own: another account needs the
// operator's rights.
func (a *ACL) CheckRunAs(account, own string) error {
	if a.disabled || a.operator || a.management || account == own {
		return nil
	}
	return a.deny("task.user %q needs operator rights; your jobs run as your unix account %q (leave task.user out)", account, own)
}

func verb(r Right, what string) string {
	switch r {
	case Read:
		return "seeing"
	case ReadData:
		if what == "job" {
			return "reading the logs, metrics or outputs of"
		}
		return "pulling"
	case Write:
		return "writing to"
	}
	if what == "job" {
		return "cancelling or changing"
	}
	return "removing a version of"
}

func needs(group string, role structs.GroupRole) string {
	if group == "" {
		return "being its owner"
	}
	roles := []string{}
	for _, r := range []structs.GroupRole{structs.RoleReader, structs.RoleMember, structs.RoleAdmin} {
		if r.AtLeast(role) {
			roles = append(roles, string(r))
		}
	}
	list := roles[len(roles)-1]
	if len(roles) > 1 {
		list = strings.Join(roles[:len(roles)-1], ", ") + " or " + list
	}
	return fmt.Sprintf("role %s in group %s", list, group)
}
