package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// Version 1 of the snapshot stream, written by nai before snapshots walked
// the schema: one record type per table, named in the record. Raft keeps
// snapshots across upgrades, so this reader stays.

// Record types of the version 1 stream.
const (
	recJob     = "job"
	recAlloc   = "alloc"
	recNode    = "node"
	recIndex   = "index"
	recCounter = "counter"
	recQueue   = "queue"
	recShare   = "share"
	recQuota   = "quota"
	// recArtifact rows are datasets or models: their Kind says which.
	recArtifact = "artifact"
	recBlob     = "blob"
)

// recordV1 is one line of the persisted stream: a type and one object. The
// stream starts with a header and ends with an end record, so a truncated
// snapshot is detected instead of restored half.
type recordV1 struct {
	Type     string                `json:"type"`
	Version  int                   `json:"version,omitempty"`
	Job      *structs.Job          `json:"job,omitempty"`
	Alloc    *structs.Allocation   `json:"alloc,omitempty"`
	Node     *structs.Node         `json:"node,omitempty"`
	Index    *IndexEntry           `json:"index,omitempty"`
	Counter  *Counter              `json:"counter,omitempty"`
	Queue    *structs.Queue        `json:"queue,omitempty"`
	Share    *structs.Share        `json:"share,omitempty"`
	Quota    *structs.AccountQuota `json:"quota,omitempty"`
	Artifact *structs.Artifact     `json:"artifact,omitempty"`
	Blob     *structs.Blob         `json:"blob,omitempty"`
}

// readV1 reads the records after a version 1 header into txn and
// commits it when the end record comes.
func readV1(dec *json.Decoder, txn *memdb.Txn) error {
	n := 1
	for {
		var rec recordV1
		if err := dec.Decode(&rec); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("restore state: the snapshot ends after %d records without its end record", n)
			}
			return fmt.Errorf("restore state: record %d: %w", n, err)
		}
		n++
		var table string
		var obj any
		switch {
		case rec.Type == recEnd:
			if err := rebuildDerived(txn); err != nil {
				return err
			}
			txn.Commit()
			return nil
		case rec.Type == recJob && rec.Job != nil:
			table, obj = tableJobs, rec.Job
		case rec.Type == recAlloc && rec.Alloc != nil:
			table, obj = tableAllocs, rec.Alloc
		case rec.Type == recNode && rec.Node != nil:
			table, obj = tableNodes, rec.Node
		case rec.Type == recIndex && rec.Index != nil:
			table, obj = tableIndex, rec.Index
		case rec.Type == recCounter && rec.Counter != nil:
			table, obj = tableCounters, rec.Counter
		case rec.Type == recQueue && rec.Queue != nil:
			table, obj = tableQueues, rec.Queue
		case rec.Type == recShare && rec.Share != nil:
			table, obj = tableShares, rec.Share
		case rec.Type == recQuota && rec.Quota != nil:
			table, obj = tableQuotas, rec.Quota
		case rec.Type == recArtifact && rec.Artifact != nil:
			t, err := artifactTable(rec.Artifact.Kind)
			if err != nil {
				return fmt.Errorf("restore state: record %d: %w", n, err)
			}
			table, obj = t, rec.Artifact
		case rec.Type == recBlob && rec.Blob != nil:
			table, obj = tableBlobs, rec.Blob
		default:
			return fmt.Errorf("restore state: record %d: unknown or empty record of type %q", n, rec.Type)
		}
		if err := txn.Insert(table, obj); err != nil {
			return fmt.Errorf("restore state: record %d (%s): %w", n, rec.Type, err)
		}
	}
}
