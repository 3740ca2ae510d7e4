package state

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// The blobs table: one *structs.Blob per digest, saying which servers hold
// a copy. References are not stored: they are whatever the jobs,
// allocations, datasets and models tables name, computed when needed, so
// they can never disagree with those tables.
const (
	tableBlobs = "blobs"
	TableBlobs = tableBlobs
)

func blobsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableBlobs,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Digest"}},
		},
	}
}

func putBlob(txn *memdb.Txn, index uint64, b *structs.Blob) error {
	if err := txn.Insert(tableBlobs, b); err != nil {
		return fmt.Errorf("write blob %s: %w", b.Digest, err)
	}
	return bumpIndex(txn, tableBlobs, index)
}

// RegisterBlob records that a server holds a verified copy of a blob. The
// first copy creates the row; a copy of a tombstoned blob revives it with
// this server as its only holder (the others are removing theirs).
func (s *Store) RegisterBlob(index uint64, req *structs.BlobRegisterRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "register blob: empty request")
	}
	if err := req.Validate(); err != nil {
		return err
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Blob](txn, nil, tableBlobs, "id", req.Digest)
		if err != nil {
			return err
		}
		var b *structs.Blob
		switch {
		case old == nil:
			b = &structs.Blob{Digest: req.Digest, Size: req.Size, CreateTime: req.Now, CreateIndex: index}
		case old.Deleted:
			b = old.Copy()
			b.Deleted, b.DeleteTime, b.UnreferencedSince = false, time.Time{}, time.Time{}
			b.Holders = nil
		case old.HeldBy(req.Server):
			return nil
		default:
			if old.Size != req.Size {
				return structs.NewError(structs.CodeConflict, "blob %s is %d bytes, not %d", req.Digest, old.Size, req.Size)
			}
			b = old.Copy()
		}
		b.Holders = append(b.Holders, req.Server)
		slices.Sort(b.Holders)
		b.ModifyIndex = index
		return putBlob(txn, index, b)
	})
}

// DropBlob records that a server no longer holds a blob. A tombstone whose
// last holder is gone is removed.
func (s *Store) DropBlob(index uint64, req *structs.BlobDropRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "drop blob: empty request")
	}
	if err := req.Validate(); err != nil {
		return err
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Blob](txn, nil, tableBlobs, "id", req.Digest)
		if err != nil {
			return err
		}
		if old == nil || !old.HeldBy(req.Server) {
			return nil
		}
		b := old.Copy()
		b.Holders = slices.DeleteFunc(b.Holders, func(h string) bool { return h == req.Server })
		b.ModifyIndex = index
		if b.Deleted && len(b.Holders) == 0 {
			if err := txn.Delete(tableBlobs, old); err != nil {
				return fmt.Errorf("remove blob %s: %w", b.Digest, err)
			}
			return bumpIndex(txn, tableBlobs, index)
		}
		return putBlob(txn, index, b)
	})
}

// SweepBlobs is one garbage-collection pass: see sweepBlob.
func (s *Store) SweepBlobs(index uint64, req *structs.BlobSweepRequest) (*structs.BlobSweepResponse, error) {
	if req == nil || req.Now.IsZero() || req.Retention < 0 {
		return nil, structs.NewError(structs.CodeInvalid, "blob sweep: a time and a non-negative retention are required")
	}
	resp := &structs.BlobSweepResponse{Tombstoned: []string{}}
	err := s.write(func(txn *memdb.Txn) error {
		refs, err := blobRefs(txn)
		if err != nil {
			return err
		}
		blobs, err := list[structs.Blob](txn, nil, tableBlobs, "id")
		if err != nil {
			return err
		}
		for _, old := range blobs {
			b, ch := sweepBlob(old, len(refs[old.Digest]) > 0, req)
			switch ch {
			case sweepNone:
				continue
			case sweepRemove:
				resp.Removed++
				if err := txn.Delete(tableBlobs, old); err != nil {
					return fmt.Errorf("remove blob %s: %w", old.Digest, err)
				}
				if err := bumpIndex(txn, tableBlobs, index); err != nil {
					return err
				}
				continue
			case sweepMark:
				resp.Marked++
			case sweepTombstone:
				resp.Tombstoned = append(resp.Tombstoned, b.Digest)
			}
			b.ModifyIndex = index
			if err := putBlob(txn, index, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

type sweepChange int

const (
	sweepNone sweepChange = iota
	sweepUpdate
	sweepMark
	sweepTombstone
	sweepRemove
)

// sweepBlob decides what one pass does to one blob, as a pure function so
// the leader can ask whether a pass would change anything before it
// writes one to raft: holders that left raft are forgotten; a referenced
// blob is unmarked; an unreferenced one is marked, and tombstoned once it
// has been unreferenced for the retention period; a tombstone nobody holds
// any more is removed. It returns the new row (nil for none or remove).
func sweepBlob(old *structs.Blob, referenced bool, req *structs.BlobSweepRequest) (*structs.Blob, sweepChange) {
	b := old.Copy()
	change := sweepNone
	if len(req.Servers) > 0 {
		n := len(b.Holders)
		b.Holders = slices.DeleteFunc(b.Holders, func(h string) bool { return !slices.Contains(req.Servers, h) })
		if len(b.Holders) != n {
			change = sweepUpdate
		}
	}
	switch {
	case b.Deleted:
		if len(b.Holders) == 0 {
			return nil, sweepRemove
		}
	case referenced:
		if !b.UnreferencedSince.IsZero() {
			b.UnreferencedSince = time.Time{}
			change = sweepUpdate
		}
	case b.UnreferencedSince.IsZero():
		b.UnreferencedSince = req.Now
		change = sweepMark
	case req.Now.Sub(b.UnreferencedSince) >= req.Retention:
		b.Deleted, b.DeleteTime = true, req.Now
		if len(b.Holders) == 0 {
			return nil, sweepRemove
		}
		change = sweepTombstone
	}
	if change == sweepNone {
		return nil, sweepNone
	}
	return b, change
}

// blobRefs maps each digest that state names to what names it: jobs'
// code, outputs and metric histories, allocations' outputs and metric
// histories (an attempt's output outlives its retry), and every dataset
// and model version. Jobs' pinned dataset and model references are not
// counted: the versions themselves are, and a version in use by a pending
// or running job cannot be removed.
func blobRefs(txn *memdb.Txn) (map[string][]structs.BlobRef, error) {
	out := map[string][]structs.BlobRef{}
	add := func(digest, kind, id string) {
		if digest == "" {
			return
		}
		r := structs.BlobRef{Kind: kind, ID: id}
		if !slices.Contains(out[digest], r) {
			out[digest] = append(out[digest], r)
		}
	}
	jobs, err := list[structs.Job](txn, nil, tableJobs, "id")
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		add(j.Code, structs.BlobRefJobCode, j.ID)
		add(j.OutputDigest, structs.BlobRefJobOutput, j.ID)
		add(j.MetricsDigest, structs.BlobRefJobMetrics, j.ID)
		add(j.StdoutDigest, structs.BlobRefJobLogs, j.ID)
		add(j.StderrDigest, structs.BlobRefJobLogs, j.ID)
	}
	allocs, err := list[structs.Allocation](txn, nil, tableAllocs, "id")
	if err != nil {
		return nil, err
	}
	for _, a := range allocs {
		add(a.ClientStatus.OutputDigest, structs.BlobRefJobOutput, a.JobID)
		add(a.ClientStatus.MetricsDigest, structs.BlobRefJobMetrics, a.JobID)
		add(a.ClientStatus.StdoutDigest, structs.BlobRefJobLogs, a.JobID)
		add(a.ClientStatus.StderrDigest, structs.BlobRefJobLogs, a.JobID)
	}
	for _, t := range []struct {
		table, kind string
	}{{tableDatasets, structs.BlobRefDataset}, {tableModels, structs.BlobRefModel}, {tablePlugins, structs.BlobRefPlugin}} {
		as, err := list[structs.Artifact](txn, nil, t.table, "id")
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			for _, v := range a.Versions {
				add(v.Digest, t.kind, a.Name+":"+strconv.Itoa(v.Version))
				if v.Lineage != nil {
					add(v.Lineage.MetricsDigest, structs.BlobRefJobMetrics, v.Lineage.JobID)
				}
			}
		}
	}
	return out, nil
}

// BlobByDigest returns one blob's row, or nil when there is none.
func (sn *Snapshot) BlobByDigest(ws memdb.WatchSet, digest string) (*structs.Blob, error) {
	return first[structs.Blob](sn.txn, ws, tableBlobs, "id", digest)
}

// Blobs lists the blob rows (tombstones included) by digest.
func (sn *Snapshot) Blobs(ws memdb.WatchSet) ([]*structs.Blob, error) {
	return list[structs.Blob](sn.txn, ws, tableBlobs, "id")
}

// BlobReferences maps each digest state names to what names it.
func (sn *Snapshot) BlobReferences() (map[string][]structs.BlobRef, error) {
	return blobRefs(sn.txn)
}

// BlobSweepChanges counts the rows a sweep with req would change now, so
// the leader writes a sweep to raft only when it does something.
func (sn *Snapshot) BlobSweepChanges(req *structs.BlobSweepRequest) (int, error) {
	refs, err := blobRefs(sn.txn)
	if err != nil {
		return 0, err
	}
	blobs, err := sn.Blobs(nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range blobs {
		if _, ch := sweepBlob(b, len(refs[b.Digest]) > 0, req); ch != sweepNone {
			n++
		}
	}
	return n, nil
}
