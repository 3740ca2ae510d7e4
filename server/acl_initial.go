package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// Initial tokens from the configuration, as Consul's initial_management:
// a cluster provisioned by scripts (contrib/install/provision.sh, the
// Vagrantfile) gets its management token and the GPU hosts' node token
// without anyone running `nai acl bootstrap` once the servers are up. The
// first leader of a cluster whose ACLs were never bootstrapped makes both,
// with the secrets the servers' acl block gives; from then on the block is
// not read again, so a revoked initial token stays revoked.

// minInitialSecret is the shortest secret accepted for an initial token.
const minInitialSecret = 32

// ValidInitialSecret checks a secret an operator chose for an initial
// token: long enough to be unguessable, and sendable in a header.
func ValidInitialSecret(s string) error {
	if len(s) < minInitialSecret {
		return fmt.Errorf("has %d characters: expected at least %d random ones (such as `openssl rand -base64 32`)", len(s), minInitialSecret)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("has spaces or characters other than printable ASCII")
	}
	return nil
}

// ensureInitialTokens bootstraps ACLs from the configuration on a leader
// of a cluster that was never bootstrapped.
func (s *Server) ensureInitialTokens() error {
	acl := s.cfg.ACL
	if !acl.Enabled || acl.InitialManagementToken == "" {
		return nil
	}
	meta, err := s.State().Snapshot().ACLMeta()
	if err != nil {
		return err
	}
	if meta.BootstrapIndex != 0 {
		return nil
	}
	now := time.Now().UTC()
	mgmt := &structs.Token{AccessorID: uuid.NewString(), SecretHash: hashSecret(acl.InitialManagementToken),
		Name: "initial management (acl.initial_management_token)", Policies: []string{structs.PolicyManagement}, CreateTime: now}
	if _, _, err := s.apply(fsm.ACLBootstrap, &structs.ACLBootstrapRequest{Token: mgmt, Now: now}); err != nil {
		if structs.CodeOf(err) == structs.CodeConflict {
			return nil // another leader was first
		}
		return fmt.Errorf("bootstrap ACLs with the initial management token: %w", err)
	}
	s.logger.Info("ACLs bootstrapped with the initial management token of the configuration", "accessor", mgmt.AccessorID)
	if acl.InitialNodeToken == "" {
		return nil
	}
	node := &structs.Token{AccessorID: uuid.NewString(), SecretHash: hashSecret(acl.InitialNodeToken),
		Name: "initial node token (acl.initial_node_token)", Policies: []string{structs.PolicyNode}, CreateTime: now}
	if _, _, err := s.apply(fsm.TokenCreate, &structs.TokenCreateRequest{Token: node, Now: now}); err != nil {
		return fmt.Errorf("make the initial node token (make one with `nai token create -policy node`): %w", err)
	}
	s.logger.Info("made the initial node token of the configuration", "accessor", node.AccessorID)
	return nil
}
