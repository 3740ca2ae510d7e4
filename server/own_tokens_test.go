package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// TestOwnTokens: a user makes tokens for itself without a management
// token, and only such tokens: its own user, no policy, expiring no later
// than the token that makes them, at most MaxOwnTokens unexpired; each
// refusal changes nothing.
func TestOwnTokens(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	owner := f.as(t, "owner") // u1
	self, err := owner.TokenSelf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	callerExpiry := self.Token.ExpirationTime
	if callerExpiry.IsZero() {
		t.Fatal("the fixture's user token has no expiry")
	}
	countTokens := func() int { // u1's unexpired tokens
		t.Helper()
		list, err := owner.Tokens(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, tok := range list {
			if !tok.Expired(time.Now()) {
				live++
			}
		}
		return live
	}
	before := countTokens()

	// No user named: the caller's; no ttl: at most the caller's expiry.
	made, err := owner.CreateToken(ctx, &structs.TokenCreateSpec{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if made.User != "u1" || len(made.Policies) != 0 || made.SecretID == "" {
		t.Fatalf("made %+v, want a token of u1 without policies, with its secret", made.Token)
	}
	if made.ExpirationTime.IsZero() || made.ExpirationTime.After(callerExpiry) {
		t.Fatalf("made token expires %v, the caller's %v: it must not outlive it", made.ExpirationTime, callerExpiry)
	}
	// The new token works, as u1, and u1 may revoke it.
	mine, err := owner.WithToken(made.SecretID).TokenSelf(ctx)
	if err != nil || mine.User == nil || mine.User.Name != "u1" {
		t.Fatalf("the made token: %+v, %v", mine, err)
	}
	short, err := owner.WithToken(made.SecretID).CreateToken(ctx, &structs.TokenCreateSpec{User: "u1", TTL: structs.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(short.ExpirationTime); d > time.Hour || d < 50*time.Minute {
		t.Fatalf("a 1h token expires in %v", d)
	}
	if err := owner.RevokeToken(ctx, short.AccessorID); err != nil {
		t.Fatal(err)
	}
	n := countTokens()
	if n != before+1 {
		t.Fatalf("%d tokens after making two and revoking one, had %d", n, before)
	}

	refused := []struct {
		name   string
		caller string
		spec   structs.TokenCreateSpec
		code   structs.ErrorCode
		want   string
	}{
		{"another user", "owner", structs.TokenCreateSpec{User: "u2"}, structs.CodeForbidden, "a user makes tokens for itself only (you are u1, the token would be u2's)"},
		{"a policy", "owner", structs.TokenCreateSpec{Policies: []string{structs.PolicyManagement}}, structs.CodeForbidden, "policies (management) are given by management tokens only"},
		{"an operator's own policy", "operator", structs.TokenCreateSpec{Policies: []string{structs.PolicyOperator}}, structs.CodeForbidden, "policies (operator) are given by management tokens only"},
		{"longer than the caller's", "owner", structs.TokenCreateSpec{TTL: structs.Duration(structs.DefaultTokenTTL + time.Hour)}, structs.CodeInvalid, "cannot outlive the token making it"},
		{"a node token", "nodetoken", structs.TokenCreateSpec{User: "u1"}, structs.CodeForbidden, "this token acts as no user, so it makes no token"},
		{"management, neither user nor policy", "management", structs.TokenCreateSpec{Name: "x"}, structs.CodeInvalid, "a token needs a user (-user U) or a policy"},
		{"a bad ttl", "owner", structs.TokenCreateSpec{TTL: -1}, structs.CodeInvalid, "ttl -1ns is out of range"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.as(t, tc.caller).CreateToken(ctx, &tc.spec)
			var e *structs.Error
			if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("err %v, want %s containing %q", err, tc.code, tc.want)
			}
		})
	}
	if got := countTokens(); got != n {
		t.Fatalf("refusals changed u1's tokens: %d, had %d", got, n)
	}

	// Revoking a token revokes those it made, and theirs: a leaked
	// token's offspring go with it. The maker is recorded.
	ci, err := owner.CreateToken(ctx, &structs.TokenCreateSpec{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if ci.MadeBy != self.Token.AccessorID {
		t.Fatalf("made_by %q, want the maker's accessor %s", ci.MadeBy, self.Token.AccessorID)
	}
	child, err := owner.WithToken(ci.SecretID).CreateToken(ctx, &structs.TokenCreateSpec{Name: "child"})
	if err != nil {
		t.Fatal(err)
	}
	grandchild, err := owner.WithToken(child.SecretID).CreateToken(ctx, &structs.TokenCreateSpec{Name: "grandchild"})
	if err != nil {
		t.Fatal(err)
	}
	if grandchild.MadeBy != child.AccessorID {
		t.Fatalf("grandchild made_by %q, want %s", grandchild.MadeBy, child.AccessorID)
	}
	if err := f.as(t, "management").RevokeToken(ctx, ci.AccessorID); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"ci": ci.SecretID, "child": child.SecretID, "grandchild": grandchild.SecretID} {
		var e *structs.Error
		if _, err := owner.WithToken(secret).TokenSelf(ctx); !errors.As(err, &e) || e.Code != structs.CodeUnauthorized {
			t.Errorf("%s after its maker's revoke: %v, want unauthorized", name, err)
		}
	}
	if _, err := owner.TokenSelf(ctx); err != nil {
		t.Fatalf("the maker's own maker was revoked too: %v", err)
	}
	if got := countTokens(); got != n {
		t.Fatalf("%d tokens after making three and revoking the first, had %d", got, n)
	}

	// At most MaxOwnTokens unexpired: the next is refused, a revoke makes
	// room. Management is not bounded.
	for got := n; got < structs.MaxOwnTokens; got++ {
		if _, err := owner.CreateToken(ctx, &structs.TokenCreateSpec{Name: fmt.Sprintf("t%d", got)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = owner.CreateToken(ctx, &structs.TokenCreateSpec{Name: "one-too-many"})
	var e *structs.Error
	if !errors.As(err, &e) || e.Code != structs.CodeConflict || !strings.Contains(e.Message, "revoke some first") {
		t.Fatalf("token %d: err %v, want a conflict that says to revoke some", structs.MaxOwnTokens+1, err)
	}
	if err := owner.RevokeToken(ctx, made.AccessorID); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.CreateToken(ctx, &structs.TokenCreateSpec{Name: "after-a-revoke"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.as(t, "management").CreateToken(ctx, &structs.TokenCreateSpec{User: "u1"}); err != nil {
		t.Fatalf("management past the bound: %v", err)
	}
}
