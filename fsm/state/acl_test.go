package state

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func hash(c string) string { return strings.Repeat(c, 64)[:64] }

func (f *fixture) user(name string) {
	f.t.Helper()
	if err := f.s.UpsertUser(f.next(), &structs.UserUpsertRequest{Create: true, User: &structs.User{Name: name}, Now: t0}); err != nil {
		f.t.Fatalf("create user %s: %v", name, err)
	}
}

func (f *fixture) token(accessor, user string, policies ...string) {
	f.t.Helper()
	t := &structs.Token{AccessorID: accessor, SecretHash: hash(accessor[len(accessor)-1:]), User: user, Policies: policies}
	if err := f.s.CreateToken(f.next(), &structs.TokenCreateRequest{Token: t, Now: t0}); err != nil {
		f.t.Fatalf("create token %s: %v", accessor, err)
	}
}

func TestUsersAndGroups(t *testing.T) {
	f := newFixture(t)
	f.user("alice")
	f.user("bob")
	sn := f.s.Snapshot()
	g, _ := sn.GroupByName(nil, "alice")
	if g == nil || !g.Personal || g.Role("alice") != structs.RoleAdmin {
		t.Fatalf("personal group %+v", g)
	}
	if err := f.s.UpsertGroup(f.next(), &structs.GroupUpsertRequest{Group: &structs.Group{Name: "vision", Members: []structs.GroupMember{{User: "alice", Role: structs.RoleAdmin}}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetGroupMember(f.next(), &structs.GroupMemberRequest{Group: "vision", User: "bob", Role: structs.RoleReader}); err != nil {
		t.Fatal(err)
	}
	roles, _ := f.s.Snapshot().GroupRoles("bob")
	if d := cmp.Diff(map[string]structs.GroupRole{"bob": structs.RoleAdmin, "vision": structs.RoleReader}, roles); d != "" {
		t.Errorf("bob's roles (-want +got):\n%s", d)
	}
	// Promote, then remove.
	if err := f.s.SetGroupMember(f.next(), &structs.GroupMemberRequest{Group: "vision", User: "bob", Role: structs.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if roles, _ := f.s.Snapshot().GroupRoles("bob"); roles["vision"] != structs.RoleMember {
		t.Errorf("after promotion: %v", roles)
	}
	if err := f.s.SetGroupMember(f.next(), &structs.GroupMemberRequest{Group: "vision", User: "bob", Remove: true}); err != nil {
		t.Fatal(err)
	}
	if roles, _ := f.s.Snapshot().GroupRoles("bob"); roles["vision"] != "" {
		t.Errorf("after removal: %v", roles)
	}
	if f.s.Snapshot().TableIndex(TableACL) != f.index {
		t.Errorf("acl index %d, want %d", f.s.Snapshot().TableIndex(TableACL), f.index)
	}
}

// TestACLBadInput: every refusal is coded, says what was expected, and
// changes nothing.
func TestACLBadInput(t *testing.T) {
	setup := func(t *testing.T) *fixture {
		f := newFixture(t)
		f.node(testNode("n1", 4))
		f.user("alice")
		f.user("bob")
		f.token("root1", "", structs.PolicyManagement)
		f.token("alice2", "alice")
		if err := f.s.UpsertGroup(f.next(), &structs.GroupUpsertRequest{Group: &structs.Group{Name: "vision"}}); err != nil {
			t.Fatal(err)
		}
		j := newJob("train").Build()
		j.User = "bob"
		f.start(j, "n1")
		return f
	}
	tests := []struct {
		name string
		do   func(f *fixture) error
		code structs.ErrorCode
		want string
	}{
		{"revoke the last management token", func(f *fixture) error {
			return f.s.RevokeToken(f.next(), &structs.TokenRevokeRequest{AccessorID: "root1"})
		}, structs.CodeConflict, "last management token"},
		{"revoke an unknown token", func(f *fixture) error {
			return f.s.RevokeToken(f.next(), &structs.TokenRevokeRequest{AccessorID: "nope"})
		}, structs.CodeNotFound, "nope not found"},
		{"member of a missing group", func(f *fixture) error {
			return f.s.SetGroupMember(f.next(), &structs.GroupMemberRequest{Group: "nlp", User: "alice", Role: structs.RoleMember})
		}, structs.CodeNotFound, "group nlp not found"},
		{"missing user as member", func(f *fixture) error {
			return f.s.SetGroupMember(f.next(), &structs.GroupMemberRequest{Group: "vision", User: "carol", Role: structs.RoleMember})
		}, structs.CodeNotFound, "user carol not found"},
		{"unknown role", func(f *fixture) error {
			return f.s.SetGroupMember(f.next(), &structs.GroupMemberRequest{Group: "vision", User: "alice", Role: "owner"})
		}, structs.CodeInvalid, "expected reader, member or admin"},
		{"demote a user in its personal group", func(f *fixture) error {
			return f.s.SetGroupMember(f.next(), &structs.GroupMemberRequest{Group: "alice", User: "alice", Role: structs.RoleReader})
		}, structs.CodeConflict, "personal group"},
		{"remove a user with running jobs", func(f *fixture) error {
			return f.s.DeleteUser(f.next(), &structs.UserDeleteRequest{Name: "bob"})
		}, structs.CodeConflict, "-force"},
		{"create an existing user", func(f *fixture) error {
			return f.s.UpsertUser(f.next(), &structs.UserUpsertRequest{Create: true, User: &structs.User{Name: "alice"}})
		}, structs.CodeConflict, "user alice exists"},
		{"a user named like a group", func(f *fixture) error {
			return f.s.UpsertUser(f.next(), &structs.UserUpsertRequest{Create: true, User: &structs.User{Name: "vision"}})
		}, structs.CodeConflict, "a group named vision exists"},
		{"a group named like a user", func(f *fixture) error {
			return f.s.UpsertGroup(f.next(), &structs.GroupUpsertRequest{Group: &structs.Group{Name: "bob"}})
		}, structs.CodeConflict, "personal group"},
		{"a bad user name", func(f *fixture) error {
			return f.s.UpsertUser(f.next(), &structs.UserUpsertRequest{Create: true, User: &structs.User{Name: "a b"}})
		}, structs.CodeInvalid, "user name"},
		{"a bad unix account", func(f *fixture) error {
			return f.s.UpsertUser(f.next(), &structs.UserUpsertRequest{Create: true, User: &structs.User{Name: "carol", UnixAccount: "car ol"}})
		}, structs.CodeInvalid, "unix account"},
		{"remove a personal group", func(f *fixture) error {
			return f.s.DeleteGroup(f.next(), &structs.GroupDeleteRequest{Name: "alice"})
		}, structs.CodeConflict, "personal group"},
		{"token for a missing user", func(f *fixture) error {
			return f.s.CreateToken(f.next(), &structs.TokenCreateRequest{Token: &structs.Token{AccessorID: "x", SecretHash: hash("9"), User: "carol"}})
		}, structs.CodeNotFound, "user carol not found"},
		{"token with a reused secret", func(f *fixture) error {
			return f.s.CreateToken(f.next(), &structs.TokenCreateRequest{Token: &structs.Token{AccessorID: "x", SecretHash: hash("2"), User: "alice"}})
		}, structs.CodeConflict, "secret exists"},
		{"token with an unknown policy", func(f *fixture) error {
			return f.s.CreateToken(f.next(), &structs.TokenCreateRequest{Token: &structs.Token{AccessorID: "x", SecretHash: hash("9"), Policies: []string{"root"}}})
		}, structs.CodeInvalid, "policy \"root\""},
		{"second bootstrap", func(f *fixture) error {
			if err := f.s.BootstrapACL(f.next(), &structs.ACLBootstrapRequest{Token: &structs.Token{AccessorID: "b1", SecretHash: hash("b")}}); err != nil {
				return err
			}
			return f.s.BootstrapACL(f.next(), &structs.ACLBootstrapRequest{Token: &structs.Token{AccessorID: "b2", SecretHash: hash("c")}})
		}, structs.CodeConflict, "already bootstrapped"},
		{"another node's secret", func(f *fixture) error {
			n := testNode("n2", 1)
			if err := f.s.UpsertNode(f.next(), &structs.NodeRegisterRequest{Node: n, SecretHash: hash("d")}); err != nil {
				return err
			}
			return f.s.UpsertNode(f.next(), &structs.NodeRegisterRequest{Node: n, SecretHash: hash("e")})
		}, structs.CodeForbidden, "another node secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			before := dump(t, f.s)
			err := tt.do(f)
			if err == nil || structs.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (code %s), want %s mentioning %q", err, structs.CodeOf(err), tt.code, tt.want)
			}
			// Two-step cases changed state with their first, valid step;
			// a one-step refusal changes nothing.
			if !strings.HasPrefix(tt.name, "second") && tt.name != "another node's secret" {
				if d := cmp.Diff(before, dump(t, f.s)); d != "" {
					t.Errorf("a refused request changed the state:\n%s", d)
				}
			}
		})
	}
}

func TestDeleteUserForce(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	f.user("bob")
	f.token("root1", "", structs.PolicyManagement)
	f.token("bob2", "bob")
	if err := f.s.UpsertGroup(f.next(), &structs.GroupUpsertRequest{Group: &structs.Group{Name: "vision", Members: []structs.GroupMember{{User: "bob", Role: structs.RoleMember}}}}); err != nil {
		t.Fatal(err)
	}
	j := newJob("train").Build()
	j.User = "bob"
	id, allocID := f.start(j, "n1")
	pending := newJob("later").Build()
	pending.User = "bob"
	pid := f.register(pending)[0]
	if err := f.s.DeleteUser(f.next(), &structs.UserDeleteRequest{Name: "bob", Force: true, Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sn := f.s.Snapshot()
	if u, _ := sn.UserByName(nil, "bob"); u != nil {
		t.Error("user still there")
	}
	if g, _ := sn.GroupByName(nil, "bob"); g != nil {
		t.Error("personal group still there")
	}
	if g, _ := sn.GroupByName(nil, "vision"); g == nil || len(g.Members) != 0 {
		t.Errorf("vision %+v, want no members", g)
	}
	if tok, _ := sn.TokenByAccessor(nil, "bob2"); tok != nil {
		t.Error("bob's token survived")
	}
	if a := f.allocByID(allocID); a.DesiredStatus != structs.DesiredStop {
		t.Errorf("running job %s: alloc desired %s, want stop", id, a.DesiredStatus)
	}
	if j := f.job(pid); j.Status != structs.JobCancelled {
		t.Errorf("pending job: %s", j.Status)
	}
}

func TestBootstrapReset(t *testing.T) {
	f := newFixture(t)
	if err := f.s.BootstrapACL(f.next(), &structs.ACLBootstrapRequest{Token: &structs.Token{AccessorID: "b1", SecretHash: hash("b")}}); err != nil {
		t.Fatal(err)
	}
	first := f.index
	err := f.s.BootstrapACL(f.next(), &structs.ACLBootstrapRequest{Token: &structs.Token{AccessorID: "b2", SecretHash: hash("c")}, ResetIndex: first})
	if err != nil {
		t.Fatalf("bootstrap with the reset index: %v", err)
	}
	meta, _ := f.s.Snapshot().ACLMeta()
	if meta.BootstrapIndex != f.index {
		t.Errorf("bootstrap index %d, want %d", meta.BootstrapIndex, f.index)
	}
	// The old reset index no longer works.
	if err := f.s.BootstrapACL(f.next(), &structs.ACLBootstrapRequest{Token: &structs.Token{AccessorID: "b3", SecretHash: hash("d")}, ResetIndex: first}); err == nil {
		t.Error("a stale reset index worked")
	}
}
