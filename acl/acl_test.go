package acl

import (
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// identities used by the tables below: u1 owns things in group "vision";
// the others relate to it in every way the rules distinguish.
func identities() map[string]*ACL {
	user := func(name string, groups map[string]structs.GroupRole, policies ...string) *ACL {
		g := map[string]structs.GroupRole{name: structs.RoleAdmin}
		for k, v := range groups {
			g[k] = v
		}
		return New(Identity{Kind: KindToken, Token: &structs.Token{AccessorID: "acc-" + name, Policies: policies},
			User: &structs.User{Name: name}, Groups: g})
	}
	return map[string]*ACL{
		"disabled":   Disabled(),
		"anonymous":  New(Identity{}),
		"owner":      user("u1", map[string]structs.GroupRole{"vision": structs.RoleMember}),
		"stranger":   user("u2", nil),
		"reader":     user("u3", map[string]structs.GroupRole{"vision": structs.RoleReader}),
		"member":     user("u4", map[string]structs.GroupRole{"vision": structs.RoleMember}),
		"admin":      user("u5", map[string]structs.GroupRole{"vision": structs.RoleAdmin}),
		"operator":   user("op", nil, structs.PolicyOperator),
		"management": New(Identity{Kind: KindToken, Token: &structs.Token{AccessorID: "root", Policies: []string{structs.PolicyManagement}}}),
		"nodetoken":  New(Identity{Kind: KindToken, Token: &structs.Token{AccessorID: "nt", Policies: []string{structs.PolicyNode}}}),
		"node":       New(Identity{Kind: KindNode, NodeID: "n1"}),
		"server":     New(Identity{Kind: KindServer}),
	}
}

// allowed is a compact expectation: the identities that may, all others
// may not.
func allowed(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func TestCheckCapability(t *testing.T) {
	tests := []struct {
		cap  Capability
		want map[string]bool
	}{
		{Public, allowed("disabled", "anonymous", "owner", "stranger", "reader", "member", "admin", "operator", "management", "nodetoken", "node", "server")},
		{Authenticated, allowed("disabled", "owner", "stranger", "reader", "member", "admin", "operator", "management", "nodetoken", "node", "server")},
		{User, allowed("disabled", "owner", "stranger", "reader", "member", "admin", "operator", "management", "nodetoken", "server")},
		{OperatorRead, allowed("disabled", "operator", "management", "server")},
		{OperatorWrite, allowed("disabled", "operator", "management", "server")},
		{ACLWrite, allowed("disabled", "management", "server")},
		{NodeRegister, allowed("disabled", "nodetoken", "management", "node", "server")},
		{Client, allowed("disabled", "node", "management", "server")},
		{Server, allowed("disabled", "server")},
	}
	ids := identities()
	for _, tt := range tests {
		for name, a := range ids {
			err := a.Check(tt.cap)
			if got := err == nil; got != tt.want[name] {
				t.Errorf("%s: Check(%s) = %v, want allowed=%v", name, tt.cap, err, tt.want[name])
			}
			if err == nil {
				continue
			}
			code := structs.CodeOf(err)
			if name == "anonymous" && code != structs.CodeUnauthorized || name != "anonymous" && code != structs.CodeForbidden {
				t.Errorf("%s: Check(%s) code %s", name, tt.cap, code)
			}
			if !strings.Contains(err.Error(), string(tt.cap)) {
				t.Errorf("%s: refusal %q does not name %s", name, err, tt.cap)
			}
		}
	}
}

func TestCheckJob(t *testing.T) {
	tests := []struct {
		right Right
		want  map[string]bool
	}{
		{Read, allowed("disabled", "owner", "reader", "member", "admin", "operator", "management", "server")},
		{ReadData, allowed("disabled", "owner", "reader", "member", "admin", "management", "server")},
		{Write, allowed("disabled", "owner", "member", "admin", "management", "server")},
		{Manage, allowed("disabled", "owner", "admin", "management", "server")},
	}
	ids := identities()
	for _, tt := range tests {
		for name, a := range ids {
			err := a.CheckJob("7", "u1", "vision", tt.right)
			if got := err == nil; got != tt.want[name] {
				t.Errorf("%s: CheckJob(%s) = %v, want allowed=%v", name, tt.right, err, tt.want[name])
			}
			if err != nil && (structs.CodeOf(err) != structs.CodeForbidden || !strings.Contains(err.Error(), "job 7")) {
				t.Errorf("%s: refusal %v", name, err)
			}
		}
	}
	// A job without a group is its owner's alone.
	if err := ids["admin"].CheckJob("8", "u1", "", Read); err == nil {
		t.Error("an admin of another group sees a job without a group")
	}
}

func TestCheckArtifact(t *testing.T) {
	tests := []struct {
		right Right
		want  map[string]bool
	}{
		{Read, allowed("disabled", "owner", "reader", "member", "admin", "management", "server")},
		{ReadData, allowed("disabled", "owner", "reader", "member", "admin", "management", "server")},
		{Write, allowed("disabled", "owner", "member", "admin", "management", "server")},
		{Manage, allowed("disabled", "admin", "management", "server")},
	}
	ids := identities()
	for _, tt := range tests {
		for name, a := range ids {
			err := a.CheckArtifact(structs.KindModel, "digits", "u1", "vision", tt.right)
			if got := err == nil; got != tt.want[name] {
				t.Errorf("%s: CheckArtifact(%s) = %v, want allowed=%v", name, tt.right, err, tt.want[name])
			}
		}
	}
	// The refusal names the role that would do.
	err := ids["reader"].CheckArtifact(structs.KindModel, "digits", "u1", "vision", Manage)
	if err == nil || !strings.Contains(err.Error(), "role admin in group vision") || !strings.Contains(err.Error(), "user u3") {
		t.Errorf("refusal %v", err)
	}
}

func TestCheckGroupWriteAndRunAs(t *testing.T) {
	ids := identities()
	want := allowed("disabled", "owner", "member", "admin", "management", "server")
	for name, a := range ids {
		if got := a.CheckGroupWrite("vision") == nil; got != want[name] {
			t.Errorf("%s: CheckGroupWrite = %v", name, got)
		}
	}
	// Every user may write under its personal group.
	if err := ids["stranger"].CheckGroupWrite("u2"); err != nil {
		t.Error(err)
	}
	if err := ids["owner"].CheckRunAs("root", "u1"); err == nil || !strings.Contains(err.Error(), "operator") {
		t.Errorf("run as root: %v", err)
	}
	if err := ids["owner"].CheckRunAs("u1", "u1"); err != nil {
		t.Error(err)
	}
	if err := ids["operator"].CheckRunAs("svc", "op"); err != nil {
		t.Error(err)
	}
}

func TestRoles(t *testing.T) {
	if !structs.RoleAdmin.AtLeast(structs.RoleReader) || structs.RoleReader.AtLeast(structs.RoleMember) || structs.GroupRole("").AtLeast("") {
		t.Error("role order")
	}
	if err := structs.GroupRole("owner").Validate(); err == nil {
		t.Error("unknown role accepted")
	}
}

// An operator refused a job it may only read is told what would do.
func TestOperatorCannotCancelJobsSaysManagement(t *testing.T) {
	op := New(Identity{Kind: KindToken, Token: &structs.Token{AccessorID: "op", User: "op", Policies: []string{structs.PolicyOperator}},
		User: &structs.User{Name: "op"}})
	err := op.CheckJob("7", "alice", "vision", Manage)
	if structs.CodeOf(err) != structs.CodeForbidden || !strings.Contains(err.Error(), "management token") {
		t.Fatalf("operator cancelling alice's job: %v", err)
	}
	if err := op.CheckJob("7", "alice", "vision", Read); err != nil {
		t.Fatalf("operator reading alice's job: %v", err)
	}
}

// TestHides: a job or artifact is hidden from exactly the callers that
// may not see it, but for operators, who see every job, and every
// artifact version through the blob list: they are refused openly.
func TestHides(t *testing.T) {
	hidden := allowed("anonymous", "stranger", "nodetoken", "node")
	for name, a := range identities() {
		if got := a.HidesJob("u1", "vision"); got != hidden[name] {
			t.Errorf("%s: HidesJob = %v, want %v", name, got, hidden[name])
		}
		for _, kind := range []structs.ArtifactKind{structs.KindDataset, structs.KindModel, structs.KindPlugin} {
			if got := a.HidesArtifact(kind, "u1", "vision"); got != hidden[name] {
				t.Errorf("%s: HidesArtifact(%s) = %v, want %v", name, kind, got, hidden[name])
			}
		}
	}
	// The owner of an artifact made before groups sees it; others not.
	ids := identities()
	if ids["owner"].HidesArtifact(structs.KindModel, "u1", "") || !ids["reader"].HidesArtifact(structs.KindModel, "u1", "") {
		t.Error("an artifact without a group is seen by its owner alone")
	}
}
