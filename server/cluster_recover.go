package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	buf, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read recovery file: %w", err)
	}
	conf, err := parsePeersFile(buf)
	if err != nil {
		return fmt.Errorf("recovery file %s: %w (expected %s); nothing was changed", path, err, peersFileShape)
	}
	var self *raft.Server
	for i := range conf.Servers {
		if conf.Servers[i].ID == rc.LocalID {
			self = &conf.Servers[i]
		}
	}
	if self == nil {
		return fmt.Errorf("recovery file %s does not name this server (%s): every remaining server must be in it; nothing was changed", path, rc.LocalID)
	}
	// The others would dial this server at the address the file gives it.
	if own := trans.LocalAddr(); self.Address != own {
		return fmt.Errorf("recovery file %s gives this server (%s) the address %s, but its raft address is %s (bind_addr:ports.raft); nothing was changed", path, rc.LocalID, self.Address, own)
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

// peersFileShape is what an error about a malformed peers file shows.
const peersFileShape = `[{"id": "NODE_NAME", "address": "HOST:RAFT_PORT"}, ...]`

// peersEntry is one server of a peers file, as raft's own peers.json
// (version 3) spells it.
type peersEntry struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	NonVoter bool   `json:"non_voter"`
}

// parsePeersFile reads a peers file and checks every entry: a non-empty,
// unique id, a unique HOST:PORT address, at least one voter. It names
// every problem at once; raft's own reader checks less (any non-empty
// string passes as an address) and stops at the first.
func parsePeersFile(buf []byte) (raft.Configuration, error) {
	var entries []peersEntry
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return raft.Configuration{}, fmt.Errorf("not a JSON list of servers: %w", err)
	}
	if dec.More() {
		return raft.Configuration{}, errors.New("text after the JSON list")
	}
	if len(entries) == 0 {
		return raft.Configuration{}, errors.New("names no server")
	}
	var problems []string
	ids := map[string]int{}
	addrs := map[string]int{}
	voters := 0
	var conf raft.Configuration
	for i, e := range entries {
		n := i + 1
		id := strings.TrimSpace(e.ID)
		label := fmt.Sprintf("entry %d", n)
		if e.ID != "" {
			label += fmt.Sprintf(" (%s)", e.ID)
		}
		switch {
		case id == "":
			problems = append(problems, fmt.Sprintf("entry %d: no id (the server's node_name)", n))
		case id != e.ID:
			problems = append(problems, fmt.Sprintf("entry %d: id %q has spaces around it", n, e.ID))
		case ids[id] != 0:
			problems = append(problems, fmt.Sprintf("entry %d: id %q is also entry %d's", n, id, ids[id]))
		default:
			ids[id] = n
		}
		if err := checkRaftAddress(e.Address); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", label, err))
		} else if addrs[e.Address] != 0 {
			problems = append(problems, fmt.Sprintf("%s: address %s is also entry %d's", label, e.Address, addrs[e.Address]))
		} else {
			addrs[e.Address] = n
		}
		suffrage := raft.Voter
		if e.NonVoter {
			suffrage = raft.Nonvoter
		} else {
			voters++
		}
		conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(e.ID), Address: raft.ServerAddress(e.Address), Suffrage: suffrage})
	}
	if voters == 0 {
		problems = append(problems, "no entry is a voter")
	}
	if len(problems) > 0 {
		return raft.Configuration{}, errors.New(strings.Join(problems, "; "))
	}
	return conf, nil
}

// checkRaftAddress says what is wrong with a peers file's address, which
// must be HOST:PORT with a port from 1 to 65535.
func checkRaftAddress(addr string) error {
	if addr == "" {
		return errors.New("no address (HOST:RAFT_PORT)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q is not HOST:RAFT_PORT", addr)
	}
	if host == "" || strings.ContainsAny(host, " \t/") {
		return fmt.Errorf("address %q has no usable host", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("address %q: port %q is not a number from 1 to 65535", addr, port)
	}
	return nil
}
