package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/internal/snapshot"
	"github.com/nai-project/nai/internal/version"
	"github.com/nai-project/nai/structs"
)

// Snapshots for backups (`nai operator snapshot save|inspect|restore`), as
// Consul does them: save asks raft for a snapshot and streams it in a
// checksummed archive (internal/snapshot); restore checks an archive
// completely (checksums, cluster id, every record of the state) before it
// hands the state to raft's Restore on the leader, which installs it on
// every server. A snapshot holds every token's hash and the servers' shared
// secret, so both routes need a management token.
//
// Blobs (dataset, model, code and output bytes) are not in raft: they are
// backed up by copying the servers' blob dirs (docs/operations.md). After a
// restore each server drops the holdings its disk lacks and adopts the
// files it has (blob_replicate.go).

// maxSnapshotArchive bounds an uploaded archive; the state lives in memory,
// so a real one is far smaller.
const maxSnapshotArchive = 16 << 30

// snapshotRestoreTimeout bounds the wait for raft to take a restore in.
const snapshotRestoreTimeout = time.Minute

func (s *Server) snapshotRoutes() []route {
	return []route{
		{Method: "GET", Path: "/v1/operator/snapshot", Cap: acl.ACLWrite, stream: s.snapshotSave,
			Doc: "a raft snapshot of the whole state as a checksummed tar+gzip (it holds token hashes: management only; ?stale: this server's own state)"},
		{Method: "PUT", Path: "/v1/operator/snapshot", Cap: acl.ACLWrite, handle: s.snapshotRestore,
			Doc: "restore a snapshot on every server, after checking it (?force=true: one from another cluster)"},
	}
}

// clusterID is the id of the cluster this server belongs to, "" for a dev
// server (or a cluster member that has not joined one yet).
func (s *Server) clusterID() string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.id()
}

func (s *Server) snapshotSave(w http.ResponseWriter, r *request) error {
	fut := s.raft.Snapshot()
	if err := fut.Error(); err != nil {
		if errors.Is(err, raft.ErrNothingNewToSnapshot) {
			return structs.NewError(structs.CodeConflict, "nothing to snapshot yet: this server has applied no raft entry")
		}
		return structs.NewError(structs.CodeUnavailable, "take snapshot: %v", err)
	}
	rmeta, rc, err := fut.Open()
	if err != nil {
		return structs.NewError(structs.CodeUnavailable, "open snapshot: %v", err)
	}
	defer rc.Close()
	meta := &structs.SnapshotMeta{
		ID: rmeta.ID, Index: rmeta.Index, Term: rmeta.Term, ClusterID: s.clusterID(),
		Server: s.cfg.NodeName, Version: version.Get().Version, Format: structs.SnapshotFormat,
		Size: rmeta.Size, CreateTime: time.Now().UTC(),
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set(structs.IndexHeader, strconv.FormatUint(meta.Index, 10))
	if err := snapshot.Write(w, meta, rc); err != nil {
		// Headers are out: the client sees a truncated archive, which
		// its check refuses.
		s.logger.Error("snapshot save failed while streaming", "index", meta.Index, "err", err)
		return err
	}
	s.logger.Info("snapshot saved", "index", meta.Index, "term", meta.Term, "bytes", meta.Size, "by", callerName(r.acl))
	return nil
}

// callerName names a caller in logs.
func callerName(a *acl.ACL) string {
	if !a.Enabled() {
		return "anyone (ACLs off)"
	}
	id := a.Identity()
	switch {
	case a.UserName() != "":
		return "user " + a.UserName()
	case id.Token != nil:
		return "token " + shortID(id.Token.AccessorID)
	case id.Kind == acl.KindServer:
		return "a server"
	}
	return "?"
}

func (s *Server) snapshotRestore(r *request) (any, uint64, error) {
	force, err := boolQuery(r.Request, "force")
	if err != nil {
		return nil, 0, err
	}
	if !s.restoring.TryLock() {
		return nil, 0, structs.NewError(structs.CodeConflict, "another snapshot restore is under way on this server")
	}
	defer s.restoring.Unlock()

	tmp, err := os.CreateTemp(s.cfg.DataDir, ".restore-*.state")
	if err != nil {
		return nil, 0, fmt.Errorf("restore: spool the snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	body := http.MaxBytesReader(nil, r.Body, maxSnapshotArchive)
	meta, err := snapshot.Read(body, tmp)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, 0, structs.NewError(structs.CodeInvalid, "restore refused, nothing changed: the archive is larger than %s", structs.FormatSize(maxSnapshotArchive))
		case errors.Is(err, snapshot.ErrInvalid):
			return nil, 0, structs.NewError(structs.CodeInvalid, "restore refused, nothing changed: %v", err)
		}
		return nil, 0, fmt.Errorf("restore: spool the snapshot: %w", err)
	}
	mine := s.clusterID()
	if meta.ClusterID != mine && !force {
		return nil, 0, structs.NewError(structs.CodeConflict,
			"restore refused, nothing changed: the snapshot is of cluster %s (taken on %s at index %d, %s), this is cluster %s; "+
				"restoring it replaces every job, token and the servers' secret here with that cluster's: add -force (?force=true) if that is what you mean",
			orNone(meta.ClusterID), meta.Server, meta.Index, meta.CreateTime.Format(time.RFC3339), orNone(mine))
	}
	// raft stops a server whose FSM fails to restore: read every record
	// here first, as the FSM will.
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("restore: %w", err)
	}
	if _, err := state.Inspect(tmp); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "restore refused, nothing changed: the snapshot's checksums match but its state cannot be read: %v", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("restore: %w", err)
	}
	rmeta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, ID: meta.ID, Index: meta.Index, Term: meta.Term, Size: meta.Size}
	if err := s.raft.Restore(rmeta, tmp, snapshotRestoreTimeout); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return nil, 0, structs.NewError(structs.CodeNotLeader, "restore: this server is not the raft leader (leader: %s); nothing changed", s.LeaderAddr())
		}
		return nil, 0, structs.NewError(structs.CodeUnavailable, "restore: %v", err)
	}
	idx := s.raft.AppliedIndex()
	s.logger.Warn("state restored from a snapshot", "snapshot_index", meta.Index, "snapshot_cluster", meta.ClusterID,
		"snapshot_server", meta.Server, "taken", meta.CreateTime, "forced", meta.ClusterID != mine, "index", idx, "by", callerName(r.acl))
	// The restore replaced the audit log too: its own event, written
	// after, says from when the history now jumps.
	r.audit = fmt.Sprintf("snapshot %s (index %d, taken %s on %s; audit events and token changes after it were undone)",
		meta.ID, meta.Index, meta.CreateTime.UTC().Format(time.RFC3339), meta.Server)
	return &structs.SnapshotRestored{Meta: meta, Forced: meta.ClusterID != mine, Index: idx}, idx, nil
}

// afterRestore runs after the FSM took in a snapshot (an operator's
// restore, one sent by the leader, or this server's own at start): the
// identities cached from the old tables may no longer exist.
func (s *Server) afterRestore() {
	s.idents.reset()
}

func (c *identCache) reset() {
	c.mu.Lock()
	c.entries, c.index = map[string]identEntry{}, 0
	c.mu.Unlock()
}

func orNone(id string) string {
	if id == "" {
		return "(none: a dev agent)"
	}
	return id
}

// boolQuery reads an optional boolean query parameter.
func boolQuery(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, structs.NewError(structs.CodeInvalid, "?%s=%q: expected true or false", name, v)
	}
	return b, nil
}
