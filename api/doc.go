// Package api is the Go client of nai's HTTP API. The CLI, the client agent
// and the tests use it; it sends and receives the structs types themselves.
//
// The routes (JSON, snake_case keys; errors are
// {"error": {"code": "...", "message": "..."}} with a fitting status):
//
//	PUT    /v1/jobs                         submit: {"jobs": [Job...]} or {"job": Job} -> JobRegisterResponse
//	POST   /v1/jobs/plan                    dry run of a submission (same body) -> JobPlanResponse; writes nothing
//	GET    /v1/jobs[?all=true|?array=ID]    list jobs (pending and running; all: finished too; array: a sweep's members)
//	GET    /v1/jobs/{id}                    one job
//	DELETE /v1/jobs/{id}                    cancel
//	GET    /v1/jobs/{id}/allocations        its allocations (attempts)
//	GET    /v1/jobs/{id}/logs?type=stdout|stderr&follow=true&offset=N   raw text
//	GET    /v1/jobs/{id}/outputs            tar+gzip of what it left in NAI_OUTPUT_DIR
//	GET    /v1/jobs/{id}/metrics            JobMetrics
//	GET    /v1/queue[?all=true]             jobs in the order the scheduler considers them
//	GET    /v1/queue/priority               priority factors of every pending job, in queue order
//	GET    /v1/jobs/{id}/priority           PriorityFactors of a pending job (like sprio)
//	GET    /v1/queues                       queues in force (with the implicit "default")
//	GET    /v1/queues/{name}                one queue
//	PUT    /v1/queues/{name}                create or replace a queue: Queue -> {"index"}
//	DELETE /v1/queues/{name}                remove a queue definition
//	GET    /v1/share                        fair share per group and user (like sshare): []ShareInfo
//	GET    /v1/shares                       shares set by operators; PUT Share sets one
//	DELETE /v1/shares/{kind}/{name}         back to the default shares (kind: user or group)
//	GET    /v1/quotas                       quotas; PUT AccountQuota sets one
//	DELETE /v1/quotas/{kind}/{name}         remove a quota
//	GET    /v1/nodes                        list nodes
//	GET    /v1/nodes/{id}                   one node (id or name), GPUs with the job holding each
//	POST   /v1/nodes/{id}/drain             start or cancel a drain: NodeDrainSpec; answers the Node
//	POST   /v1/nodes/{id}/eligibility       eligible for new work or not: NodeEligibilitySpec; answers the Node
//	GET    /v1/status/leader                the leader's raft address
//	PUT    /v1/blobs                        upload content (a code folder as tar+gzip) -> {"digest","size"}
//	GET    /v1/blobs/{digest}               download it
//	HEAD   /v1/blobs/{digest}               does the servers' store hold it (200 or 404)
//	POST   /v1/blobs/uploads                open a resumable upload -> {"id","offset"}
//	GET    /v1/blobs/uploads/{id}           how many bytes it holds -> {"id","offset"}
//	PATCH  /v1/blobs/uploads/{id}           append a chunk (Content-Range: bytes START-END/*; START = offset)
//	PUT    /v1/blobs/uploads/{id}?digest=   commit once the sha256 matches -> {"digest","size"}
//	DELETE /v1/blobs/uploads/{id}           abort
//	GET    /v1/operator/blobs               every blob: holders, references, wanted copies (under-replicated first)
//	PUT    /v1/operator/blobs/{digest}/holders          a server records its copy: BlobRegisterRequest (servers only)
//	DELETE /v1/operator/blobs/{digest}/holders/{server} a server dropped its copy (servers only)
//	PUT    /v1/datasets/{name}              push a version: ArtifactPushRequest {digest|path, files, description, group} -> ArtifactPushResponse
//	GET    /v1/datasets                     list datasets (Artifact, with versions)
//	GET    /v1/datasets/{name}              one dataset; each version lists the jobs that read it (used_by)
//	DELETE /v1/datasets/{name}/versions/{v} remove a version (409 while a pending or running job reads it)
//	PUT|GET|DELETE /v1/models/...           the same for models; versions carry metrics and lineage
//	GET    /v1/jobs/{id}/metrics?all=true   JobMetrics with history: every NAI_METRICS_FILE line
//
// The client agent's routes:
//
//	PUT    /v1/client/nodes                              register: NodeRegisterRequest
//	GET    /v1/client/nodes/{id}/allocations?index=&wait=  long-poll: its allocations, each with its Job
//	POST   /v1/client/allocations                        AllocUpdateRequest
//	PUT    /v1/client/allocations/{id}/outputs           tar+gzip body -> {"digest","size"}
//	GET    /v1/client/allocations/{id}/logs?type=&follow=&offset=  served by the node's own agent
//	POST   /v1/client/dev/gpu-fault {"fault": "2:xid=79"}  dev agents with fake GPUs only (404 otherwise)
//
// Reads return the state index in the X-Nai-Index header; list reads take
// ?index=N&wait=30s and answer when the index passes N (blocking queries).
package api
