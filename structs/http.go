package structs

// The HTTP API's own small pieces: headers and the bodies of answers that
// carry no domain object.

const (
	// IndexHeader carries the state index a read reflects, for blocking
	// queries (?index=N&wait=30s).
	IndexHeader = "X-Nai-Index"
	// AllocHeader names the allocation (attempt) whose log a log answer
	// holds, so a follower starts again at byte 0 when a job runs anew.
	AllocHeader = "X-Nai-Alloc"
	// ReplicaHeader names, in every answer a service gave through the
	// gateway, the allocation of the replica that answered; an answer
	// without it is the gateway's own (an error).
	ReplicaHeader = "X-Nai-Replica"
)

// ErrorBody is the body of every error answer:
// {"error": {"code": "not_found", "message": "job 42 not found"}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// IndexResponse answers a write that returns no object: the raft index
// at which it was committed.
type IndexResponse struct {
	Index uint64 `json:"index"`
}

// JobCancelResponse answers DELETE /v1/jobs/{id}.
type JobCancelResponse struct {
	JobID string `json:"job_id"`
	Index uint64 `json:"index"`
}

// ArtifactDeleteResponse answers the removal of a dataset or model version.
type ArtifactDeleteResponse struct {
	Kind    ArtifactKind `json:"kind"`
	Name    string       `json:"name"`
	Version int          `json:"version"`
	Index   uint64       `json:"index"`
}

// BlobInfo describes stored content: its sha256 and size.
type BlobInfo struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// UploadSession is a resumable upload's state on a server.
type UploadSession struct {
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
}
