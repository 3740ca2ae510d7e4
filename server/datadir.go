package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// nodeNameFile, in the server's data dir, records the node name the data
// was made under. Raft knows a server by its node name: a server restarted
// on the same data under another name looked like a second server at the
// same raft address, which the leader could never add ("found duplicate
// address in configuration", every second). A data dir without the file
// (made by an earlier version) is adopted by the name that starts on it.
const nodeNameFile = "node-name"

// claimDataDir refuses a data dir recorded under another node name and
// records name in one that has no record yet.
func claimDataDir(dir, name string) error {
	path := filepath.Join(dir, nodeNameFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	switch recorded := strings.TrimSpace(string(b)); recorded {
	case name:
		return nil
	case "":
		// No record yet: adopt the data dir.
	default:
		return fmt.Errorf("data dir %s belongs to the server %q (recorded in %s), not to %q: start it with node_name = %q (-node-name %s), or, to rename the server, make it leave the cluster (SIGINT) and start %q with an empty data dir",
			dir, recorded, path, name, recorded, recorded, name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	if err := os.WriteFile(path, []byte(name+"\n"), 0o600); err != nil {
		return fmt.Errorf("record the node name in %s: %w", path, err)
	}
	return nil
}
