package server

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// The first leader makes the configuration's initial tokens; after that
// the acl block is not read again: a revoked node token stays revoked when
// the server comes back, and `nai acl bootstrap` is refused.
func TestInitialTokens(t *testing.T) {
	ctx := context.Background()
	mgmtSecret, nodeSecret := strings.Repeat("m", 40), strings.Repeat("n", 40)
	dir := t.TempDir()
	initial := func(c *Config) {
		c.ACL = ACLConfig{Enabled: true, InitialManagementToken: mgmtSecret, InitialNodeToken: nodeSecret}
	}
	s, anon := testServer(t, dir, initial)
	mgmt := anon.WithToken(mgmtSecret)
	var who *structs.Whoami
	waitUntil(t, "the initial management token works", func() bool {
		var err error
		who, err = mgmt.TokenSelf(ctx)
		return err == nil
	})
	if who.Token == nil || !slices.Contains(who.Token.Policies, structs.PolicyManagement) {
		t.Fatalf("the initial management token is %+v", who.Token)
	}
	// The node token is the leader's next entry after the bootstrap.
	var node *structs.Whoami
	waitUntil(t, "the initial node token works", func() bool {
		var err error
		node, err = anon.WithToken(nodeSecret).TokenSelf(ctx)
		return err == nil
	})
	if node.Token == nil || !slices.Equal(node.Token.Policies, []string{structs.PolicyNode}) {
		t.Fatalf("the initial node token: %+v", node)
	}
	if _, err := anon.ACLBootstrap(ctx); structs.CodeOf(err) != structs.CodeConflict {
		t.Errorf("acl bootstrap after the initial tokens: %v, want a conflict", err)
	}
	if err := mgmt.RevokeToken(ctx, node.Token.AccessorID); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()

	_, again := testServer(t, dir, initial)
	waitUntil(t, "the restarted server answers", func() bool {
		_, err := again.WithToken(mgmtSecret).TokenSelf(ctx)
		return err == nil
	})
	if _, err := again.WithToken(nodeSecret).TokenSelf(ctx); structs.CodeOf(err) != structs.CodeUnauthorized {
		t.Errorf("the revoked initial node token works again after a restart: %v", err)
	}
}
