package structs

import (
	"slices"
	"time"
)

// Blob is the raft-replicated metadata of one content-addressed blob (the
// bytes live in each server's blob store, named by Digest). Holders are
// the servers (raft server ids, i.e. node names) that hold a verified copy;
// every server copies the blobs it lacks until a blob has the configured
// number of replicas. A blob that nothing references for the retention
// period is tombstoned (Deleted): each holder then removes its copy and
// says so, and the row goes when no holder is left.
type Blob struct {
	Digest     string    `json:"digest"`
	Size       int64     `json:"size"`
	Holders    []string  `json:"holders"`
	CreateTime time.Time `json:"create_time,omitzero"`
	// UnreferencedSince is when garbage collection first saw the blob
	// referenced by nothing; zero while something references it.
	UnreferencedSince time.Time `json:"unreferenced_since,omitzero"`
	Deleted           bool      `json:"deleted,omitempty"`
	DeleteTime        time.Time `json:"delete_time,omitzero"`
	CreateIndex       uint64    `json:"create_index"`
	ModifyIndex       uint64    `json:"modify_index"`

	// Filled in answers (GET /v1/operator/blobs), not stored: what refers
	// to the blob, and how many copies the answering server wants.
	References []BlobRef `json:"references,omitempty"`
	Wanted     int       `json:"wanted,omitempty"`
}

// Copy returns a copy whose slices may be changed.
func (b *Blob) Copy() *Blob {
	c := *b
	c.Holders = slices.Clone(b.Holders)
	c.References = slices.Clone(b.References)
	return &c
}

// HeldBy reports whether server holds a copy.
func (b *Blob) HeldBy(server string) bool { return slices.Contains(b.Holders, server) }

// Kinds of blob reference.
const (
	BlobRefJobOutput  = "job-output"
	BlobRefJobMetrics = "job-metrics"
	BlobRefJobLogs    = "job-logs"
	BlobRefJobCode    = "job-code"
	BlobRefDataset    = "dataset"
	BlobRefModel      = "model"
	BlobRefPlugin     = "plugin"
)

// BlobRef names one thing in state that needs a blob: a job (its outputs,
// metrics history or code) or a dataset or model version ("name:3").
type BlobRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// BlobRegisterRequest records that Server holds a verified copy of Digest
// (raft message BlobRegister). It creates the row on the first copy and
// revives a tombstoned one (the content was uploaded again).
type BlobRegisterRequest struct {
	Digest string    `json:"digest"`
	Size   int64     `json:"size"`
	Server string    `json:"server"`
	Now    time.Time `json:"now,omitzero"`
}

// Validate checks a register request.
func (r *BlobRegisterRequest) Validate() error {
	switch {
	case !ValidDigest(r.Digest):
		return NewError(CodeInvalid, "blob digest %q is invalid: expected 64 lower-case hex digits (sha256)", r.Digest)
	case r.Size < 0:
		return NewError(CodeInvalid, "blob size %d is negative", r.Size)
	case r.Server == "":
		return NewError(CodeInvalid, "blob holder: the server name is required")
	}
	return nil
}

// BlobDropRequest records that Server no longer holds Digest (raft message
// BlobDrop): it removed a corrupt copy or a tombstoned blob.
type BlobDropRequest struct {
	Digest string `json:"digest"`
	Server string `json:"server"`
}

// Validate checks a drop request.
func (r *BlobDropRequest) Validate() error {
	switch {
	case !ValidDigest(r.Digest):
		return NewError(CodeInvalid, "blob digest %q is invalid: expected 64 lower-case hex digits (sha256)", r.Digest)
	case r.Server == "":
		return NewError(CodeInvalid, "blob holder: the server name is required")
	}
	return nil
}

// BlobSweepRequest is one garbage-collection pass (raft message BlobSweep),
// decided by the leader: blobs referenced by nothing since before
// Now-Retention are tombstoned; holders not in Servers (servers that left
// raft) are forgotten, when Servers is not empty.
type BlobSweepRequest struct {
	Now       time.Time     `json:"now"`
	Retention time.Duration `json:"retention"`
	Servers   []string      `json:"servers,omitempty"`
}

// BlobSweepResponse says what a sweep changed.
type BlobSweepResponse struct {
	Marked     int      `json:"marked"`     // newly seen unreferenced
	Tombstoned []string `json:"tombstoned"` // digests now deleted
	Removed    int      `json:"removed"`    // tombstones gone (no holder left)
}
