package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// PeersFile is the name, in a server's raft dir (DATA_DIR/server/raft),
// of the file an operator writes to recover from a lost quorum: the
// servers that remain, as [{"id": "s1", "address": "10.0.0.1:4647"}, ...].
// At start the server replaces its raft configuration with it and deletes
// it. Every remaining server needs the same file. See docs/operations.md.
const PeersFile = "peers.json"

// recoverFromPeersFile applies a peers file, if there is one, before raft
// starts.
func (s *Server) recoverFromPeersFile(rc *raft.Config, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport, dir string) error {
	path := filepath.Join(dir, PeersFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	conf, err := raft.ReadConfigJSON(path)
	if err != nil {
		return fmt.Errorf("recovery file %s: %w (expected [{\"id\": \"NODE_NAME\", \"address\": \"HOST:RAFT_PORT\"}, ...])", path, err)
	}
	found := false
	for _, srv := range conf.Servers {
		found = found || srv.ID == rc.LocalID
	}
	if !found {
		return fmt.Errorf("recovery file %s does not name this server (%s): every remaining server must be in it", path, rc.LocalID)
	}
	scratch, err := s.fsmForRecovery()
	if err != nil {
		return err
	}
	cp := *rc
	if err := raft.RecoverCluster(&cp, scratch, logs, stable, snaps, trans, conf); err != nil {
		return fmt.Errorf("recover raft configuration from %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("recovered from %s but could not delete it (delete it before the next start): %w", path, err)
	}
	s.logger.Warn("recovered the raft configuration from the peers file; it was deleted", "file", path, "servers", len(conf.Servers))
	return nil
}
