package structs

import "time"

// SnapshotFormat is the version of the snapshot archive nai writes
// (`nai operator snapshot save`): a tar+gzip of meta.json, state.bin and
// SHA256SUMS. Readers refuse newer formats rather than guess.
const SnapshotFormat = 1

// SnapshotMeta describes a snapshot archive: which raft state it holds and
// where it came from.
type SnapshotMeta struct {
	// ID is raft's name for the snapshot.
	ID string `json:"id"`
	// Index and Term are the last raft entry the state includes.
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
	// ClusterID is the cluster the state belongs to ("" for a dev agent).
	ClusterID string `json:"cluster_id"`
	// Server took the snapshot, running nai Version.
	Server  string `json:"server"`
	Version string `json:"version"`
	// Format is the archive's format (SnapshotFormat when written).
	Format int `json:"format"`
	// Size is the state's size in bytes.
	Size       int64     `json:"size"`
	CreateTime time.Time `json:"create_time"`
}

// SnapshotTable is the number of rows of one state table in a snapshot.
type SnapshotTable struct {
	Name string `json:"name"`
	Rows int    `json:"rows"`
}

// SnapshotInfo is what `nai operator snapshot inspect` shows: the meta, and
// the rows of every table, in the order the state store persists them.
type SnapshotInfo struct {
	Meta   *SnapshotMeta   `json:"meta"`
	Tables []SnapshotTable `json:"tables"`
}

// SnapshotRestored answers PUT /v1/operator/snapshot.
type SnapshotRestored struct {
	Meta *SnapshotMeta `json:"meta"`
	// Forced is true when the snapshot came from another cluster and the
	// caller said -force.
	Forced bool `json:"forced,omitempty"`
	// Index is the raft index the restored state continues from.
	Index uint64 `json:"index"`
}
