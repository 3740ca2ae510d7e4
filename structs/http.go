package structs

import "time"

// The HTTP API's own small pieces: headers and the bodies of answers that
// carry no domain object.

const (
	// IndexHeader carries the state index a read reflects, for blocking
	// queries (?index=N&wait=30s).
	IndexHeader = "X-Nai-Index"
	// AllocHeader names the allocation (attempt) whose log a log answer
	// holds, so a follower starts again at byte 0 when a job runs anew.
	AllocHeader = "X-Nai-Alloc"
	// LastIndexHeader is the newest state index of the server that
	// answered, when it answered; MinIndexHeader asks a server to answer
	// only from a state at least that new. A client sends the highest
	// last index it saw, so what it wrote (through the leader) is what it
	// reads from any server.
	LastIndexHeader = "X-Nai-Last-Index"
	MinIndexHeader  = "X-Nai-Min-Index"
	// OffsetHeader is the byte offset of the first byte of a log answer:
	// a negative ?offset= counts from the end, and this says where that
	// was, so a reader can ask for what comes before it.
	OffsetHeader = "X-Nai-Offset"
	// SizeHeader is the size of the log when the answer began.
	SizeHeader = "X-Nai-Size"
	// NextOffsetHeader is where the next read of a growing file starts
	// (a client's answer of an allocation's metrics file).
	NextOffsetHeader = "X-Nai-Next-Offset"
	// TotalHeader is how many items a paged list holds in all
	// (GET /v1/queue?limit=N).
	TotalHeader = "X-Nai-Total"
	// ReplicaHeader names, in every answer a service gave through the
	// gateway, the allocation of the replica that answered; an answer
	// without it is the gateway's own (an error).
	ReplicaHeader = "X-Nai-Replica"
)

// LogRange resolves a log read's ?offset= and ?limit= against the log's
// size: a negative offset counts back from the end (-65536: the last 64
// KiB), a limit of 0 means to the end. It returns where to start and how
// many bytes to send (-1: all there is, following).
func LogRange(offset, limit, size int64) (start, n int64) {
	start = offset
	if start < 0 {
		start = max(size+offset, 0)
	}
	if limit <= 0 {
		return start, -1
	}
	return start, limit
}

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

// JobCancelResponse answers DELETE /v1/jobs/{id}. Cancelled lists the
// jobs the request stopped (a pending job ends at once, a running one is
// asked to stop), Ended those it named that had already ended, which
// nothing changes: a sweep's id names every member. A server of an earlier
// release sends neither list.
type JobCancelResponse struct {
	JobID     string     `json:"job_id"`
	Index     uint64     `json:"index"`
	Cancelled []string   `json:"cancelled,omitempty"`
	Ended     []EndedJob `json:"ended,omitempty"`
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

// GPUFaultInjected answers the injection of a fault into a fake GPU of a
// dev agent.
type GPUFaultInjected struct {
	Fault string    `json:"fault"`
	Time  time.Time `json:"time"`
}
