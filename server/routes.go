package server

import (
	"net/http"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/structs"
)

// routes is the whole HTTP API of a server: every route, once, with the
// capability it needs. Nothing else registers a handler (TestRouteTable
// walks this list, so a route without a rule fails the build).
//
// Capabilities, from acl: Public (no token), Authenticated (any known
// caller: a token, a client node, a server), User (a token; handlers then
// decide per job, dataset or model and filter lists), OperatorRead and
// OperatorWrite, ACLWrite (management), NodeRegister, Client (a client
// node for itself), Server (servers only).
func (s *Server) routes() []route {
	rs := []route{
		// Jobs.
		{Method: "PUT", Path: "/v1/jobs", Cap: acl.User, handle: s.jobRegister, Doc: "submit jobs owned by the caller: {\"job\": ...}, {\"jobs\": [...]} (a sweep's members written out) or {\"sweep\": {\"template\": JOB, \"members\": [{\"values\", \"changed\", \"changes\"}]}} (a sweep as one spec, expanded by the servers); jobs that carry sweep values are an array (array_id: its first member's id), one such job too: the array of one of #SBATCH --array=5, member A_5; a job that no registered node could ever hold (GPUs, GPU model or memory, cores or memory of a node, nodes, its queue's nodes) is accepted, and warnings in the answer say so, one per distinct problem"},
		{Method: "POST", Path: "/v1/jobs", Cap: acl.User, handle: s.jobRegister, Doc: "same as PUT /v1/jobs"},
		{Method: "POST", Path: "/v1/jobs/plan", Cap: acl.User, handle: s.jobPlan, Doc: "dry run of a submission: where it would start, or why it would wait"},
		{Method: "GET", Path: "/v1/jobs", Cap: acl.User, handle: s.jobList, Doc: "the jobs the caller may see (?all=true: finished ones too; ?array=ID: one sweep)"},
		{Method: "GET", Path: "/v1/jobs/{id}", Cap: acl.User, handle: s.jobGet, Doc: "one job (blocking query with ?index=&wait=)"},
		{Method: "POST", Path: "/v1/jobs/cancel", Cap: acl.User, handle: s.jobCancelMany, Doc: "cancel many jobs and sweeps in one commit (body {targets: [{id, only}]}); answers which were cancelled, which named no job, and which jobs had already ended (ended: nothing to cancel, left as they were); one the caller may not cancel refuses the whole request"},
		{Method: "POST", Path: "/v1/jobs/hold", Cap: acl.User, handle: s.jobHold, Doc: "hold pending jobs (body {targets: [{id, only}]}; an array id holds its pending members, only: member 0 alone): the owner or an admin of its group places a user hold, an operator an admin hold; a job not pending refuses the whole request; answers the jobs held (job_ids, and refs: a member as A_N) and, in unchanged, each target held already, left as it was (an array id whose pending members all are)"},
		{Method: "POST", Path: "/v1/jobs/release", Cap: acl.User, handle: s.jobRelease, Doc: "release held jobs (body {targets: [{id, only}]}; an array id releases its held members): a user hold by the owner, an admin of its group or an operator, an admin hold by an operator only; a job not pending, or an admin hold released by another, refuses the whole request; answers the jobs released (job_ids, refs) and, in unchanged, each target not held, left as it was (an array id with no held member)"},
		{Method: "POST", Path: "/v1/jobs/update", Cap: acl.User, handle: s.jobUpdate, Doc: "change pending jobs (body {targets: [{id, only}], update: {name, queue, priority, time_limit, gpus, cpu, memory_bytes, nodes}}; an array id updates its pending members): the owner or an admin of its group; each job as updated must pass a submission's checks, and one that does not, or is not pending, refuses the whole request; warnings in the answer name a job that, as updated, no registered node could ever hold, as a submission's do"},
		{Method: "DELETE", Path: "/v1/jobs/{id}", Cap: acl.User, handle: s.jobCancel, Doc: "cancel a job or a whole sweep (owner, or admin of its group); ?only=true cancels member 0 of a sweep alone; answers the jobs cancelled and those that had already ended, which it leaves alone"},
		{Method: "GET", Path: "/v1/jobs/{id}/allocations", Cap: acl.User, handle: s.jobAllocs, Doc: "a job's allocations (attempts), oldest first"},
		{Method: "GET", Path: "/v1/jobs/{id}/logs", Cap: acl.User, stream: s.jobLogs, Doc: "a job's stdout or stderr (?type=stderr, ?follow=true, ?offset=N; ?alloc=ID: one allocation, an earlier attempt or a service's replica, as listed by /v1/jobs/{id}/allocations; ?rank=N: rank N's of a job on several nodes, of its current attempt, where the job's is rank 0's; 400 for a rank that is not 0 to nodes-1)"},
		{Method: "GET", Path: "/v1/jobs/{id}/outputs", Cap: acl.User, stream: s.jobOutputs, Doc: "the tar+gzip archive of what the job left in NAI_OUTPUT_DIR: a job on several nodes, its rank 0's (?rank=N: rank N's, of the current attempt; 400 for a rank that is not 0 to nodes-1, 404 when that rank kept none)"},
		{Method: "GET", Path: "/v1/jobs/{id}/metrics", Cap: acl.User, handle: s.jobMetrics, Doc: "a job's last metric values; a metric whose last value is NaN or ±Infinity (JSON has no such number) is not in metrics but in non_finite, {NAME: {value: \"NaN\" | \"Infinity\" | \"-Infinity\", first: the value where it diverged, line and step of NAI_METRICS_FILE there}}, as the job keeps it (the job's non_finite_metrics, and its model version's) (?all=true: the full history; ?check=true, and with all: skipped_lines, the count of lines that were not JSON, and non_finite, from the job when its client counted them, as of its last report (raft log format 7), else read from the history, which also knows them of older jobs)"},
		{Method: "GET", Path: "/v1/jobs/{id}/priority", Cap: acl.User, handle: s.jobPriority, Doc: "the priority factors of a pending job"},
		{Method: "GET", Path: "/v1/queue", Cap: acl.User, stream: s.queueList, Doc: "running and pending jobs in scheduling order (?all=true adds finished ones; ?user= ?group= ?queue= ?state= filter; ?offset= ?limit= page, X-Nai-Total; ?view=row: queue rows only; ?view=table: the table `nai queue` prints, as text; ?pretty=true: indented; blocking with ?index=&wait=)"},
		{Method: "GET", Path: "/v1/queue/priority", Cap: acl.User, handle: s.queuePriority, Doc: "the priority factors of every pending job the caller may see"},

		// Nodes.
		{Method: "GET", Path: "/v1/nodes", Cap: acl.User, handle: s.nodeList, Doc: "every node with its GPUs and what holds them"},
		{Method: "GET", Path: "/v1/nodes/{id}", Cap: acl.User, handle: s.nodeGet, Doc: "one node by id, unique id prefix or name"},
		{Method: "POST", Path: "/v1/nodes/{id}/drain", Cap: acl.OperatorWrite, handle: s.nodeDrain, Doc: "start, change or cancel a node's drain"},
		{Method: "POST", Path: "/v1/nodes/{id}/eligibility", Cap: acl.OperatorWrite, handle: s.nodeEligibility, Doc: "mark a node eligible for new work or not"},

		// Scheduling policy.
		{Method: "GET", Path: "/v1/queues", Cap: acl.User, handle: s.queueDefs, Doc: "the queues in force"},
		{Method: "GET", Path: "/v1/queues/{name}", Cap: acl.User, handle: s.queueDef, Doc: "one queue"},
		{Method: "PUT", Path: "/v1/queues/{name}", Cap: acl.OperatorWrite, handle: s.queuePut, Doc: "create or replace a queue"},
		{Method: "DELETE", Path: "/v1/queues/{name}", Cap: acl.OperatorWrite, handle: s.queueDelete, Doc: "remove a queue definition"},
		{Method: "GET", Path: "/v1/share", Cap: acl.User, handle: s.shareReport, Doc: "fair share of every account (like sshare)"},
		{Method: "GET", Path: "/v1/shares", Cap: acl.User, handle: s.shareList, Doc: "the shares operators set"},
		{Method: "PUT", Path: "/v1/shares", Cap: acl.OperatorWrite, handle: s.sharePut, Doc: "set a user's or group's shares"},
		{Method: "DELETE", Path: "/v1/shares/{kind}/{name}", Cap: acl.OperatorWrite, handle: s.shareDelete, Doc: "return an account to the default shares"},
		{Method: "GET", Path: "/v1/quotas", Cap: acl.User, handle: s.quotaList, Doc: "the quotas operators set"},
		{Method: "PUT", Path: "/v1/quotas", Cap: acl.OperatorWrite, handle: s.quotaPut, Doc: "set a user's or group's quota (GPUs, pending jobs, storage)"},
		{Method: "DELETE", Path: "/v1/quotas/{kind}/{name}", Cap: acl.OperatorWrite, handle: s.quotaDelete, Doc: "remove a quota"},

		// Datasets and models: see artifactRoutes.

		// Blobs: content-addressed bytes.
		{Method: "PUT", Path: "/v1/blobs", Cap: acl.Authenticated, handle: s.blobPut, Doc: "upload content in one request (a job's code, a client's log)"},
		{Method: "HEAD", Path: "/v1/blobs/{digest}", Cap: acl.Authenticated, stream: s.blobHead, Doc: "whether the servers hold a blob the caller may name: it uploaded it, or may read what names it (so unchanged content is not sent twice)"},
		{Method: "GET", Path: "/v1/blobs/{digest}", Cap: acl.Client, stream: s.blobGet, Doc: "a blob's bytes, for client nodes and servers (people pull through datasets, models and jobs)"},
		{Method: "POST", Path: "/v1/blobs/uploads", Cap: acl.User, handle: s.uploadStart, Doc: "open a resumable upload"},
		{Method: "GET", Path: "/v1/blobs/uploads/{id}", Cap: acl.User, handle: s.uploadStatus, Doc: "how many bytes an upload holds"},
		{Method: "PATCH", Path: "/v1/blobs/uploads/{id}", Cap: acl.User, handle: s.uploadChunk, Doc: "append a chunk (Content-Range) to an upload"},
		{Method: "PUT", Path: "/v1/blobs/uploads/{id}", Cap: acl.User, handle: s.uploadCommit, Doc: "commit an upload whose sha256 is ?digest="},
		{Method: "DELETE", Path: "/v1/blobs/uploads/{id}", Cap: acl.User, handle: s.uploadAbort, Doc: "abandon an upload"},
		{Method: "GET", Path: "/v1/operator/uploads/{user}", Cap: acl.Server, handle: s.uploadList, Doc: "the blobs a user uploaded to this server, still remembered (servers ask each other who may name a blob)"},
		{Method: "GET", Path: "/v1/operator/blobs", Cap: acl.OperatorRead, handle: s.blobList, Doc: "every blob with its holders and references, under-replicated first"},
		{Method: "PUT", Path: "/v1/operator/blobs/{digest}/holders", Cap: acl.Server, handle: s.blobRegister, Doc: "a server records that it holds a blob"},
		{Method: "DELETE", Path: "/v1/operator/blobs/{digest}/holders/{server}", Cap: acl.Server, handle: s.blobDrop, Doc: "a server records that it dropped its copy"},

		// The cluster.
		{Method: "GET", Path: "/v1/status/leader", Cap: acl.Public, handle: s.statusLeader, Doc: "the raft address of the leader"},
		{Method: "GET", Path: "/v1/status/peers", Cap: acl.Public, handle: s.statusPeers, Doc: "the raft addresses of the servers"},
		{Method: "GET", Path: "/v1/agent/health", Cap: acl.Public, stream: s.agentHealth, Doc: "for load balancers, without a token: 200 {status: ok, name, leader} while this server answers, 503 {status: catching_up, message} while its state catches up with raft's log"},
		{Method: "GET", Path: "/v1/agent/self", Cap: acl.Authenticated, handle: s.agentSelf, Doc: "the answering agent: role, raft state, problems (answered while its state catches up with raft's log, a problem it lists)", whileCatchingUp: true},
		{Method: "GET", Path: "/v1/agent/members", Cap: acl.Authenticated, handle: s.agentMembers, Doc: "every agent of the serf cluster", whileCatchingUp: true},
		{Method: "PUT", Path: "/v1/agent/force-leave", Cap: acl.OperatorWrite, handle: s.agentForceLeave, Doc: "mark a failed agent as left (?node=)"},
		{Method: "GET", Path: "/v1/operator/raft/configuration", Cap: acl.OperatorRead, handle: s.raftConfiguration, Doc: "the raft servers, their suffrage, the leader and each server's raft state and health (?stale: the answering server's own configuration, at once and without a leader, asking no other server)", whileCatchingUp: true},
		{Method: "DELETE", Path: "/v1/operator/raft/peer", Cap: acl.OperatorWrite, handle: s.raftRemovePeer, Doc: "remove a dead server from raft (?id=)"},
		{Method: "GET", Path: "/v1/usage", Cap: acl.User, handle: s.usageReport, Doc: "GPU-hours, CPU-hours and jobs by final state per day, user or group (?since=30d&user=&group=&by=day|user|group)"},
		{Method: "GET", Path: "/v1/operator/audit", Cap: acl.OperatorRead, handle: s.auditList, Doc: "the audit log of writes (?since=30d&user=U&limit=N)"},
		{Method: "POST", Path: "/v1/operator/audit", Cap: acl.Server, handle: s.auditAppend, Doc: "a server hands the leader a batch of audit events"},

		// The client nodes' API.
		{Method: "PUT", Path: "/v1/client/nodes", Cap: acl.NodeRegister, handle: s.nodeRegister, Doc: "a client node registers (or refreshes) its fingerprint and secret"},
		{Method: "POST", Path: "/v1/client/nodes/{id}/disk-recovered", Cap: acl.Client, handle: s.nodeDiskRecovered, Doc: "a node that drained itself because its data dir was full returns to service once space is back (never a drain of an operator's)"},
		{Method: "GET", Path: "/v1/client/nodes/{id}/allocations", Cap: acl.Client, stream: s.nodeAllocs, Doc: "a node's long-poll of the allocations placed on it (?stale: any server in touch with the leader answers; ?compact: those created by the index asked from come without their job)"},
		{Method: "POST", Path: "/v1/client/allocations", Cap: acl.Client, handle: s.allocUpdate, Doc: "a node reports how its allocations run and end"},
		{Method: "PUT", Path: "/v1/client/allocations/{id}/outputs", Cap: acl.Client, handle: s.outputUpload, Doc: "a node uploads an allocation's output archive"},
	}
	rs = append(rs, s.artifactRoutes()...)
	rs = append(rs, s.aclRoutes()...)
	rs = append(rs, s.operatorRoutes()...)
	rs = append(rs, s.metricsRoutes()...)
	rs = append(rs, s.uiRoutes()...)
	rs = append(rs, s.serviceRoutes()...)
	return rs
}

// Routes registers the server's HTTP API on outer. Every /v1/ route
// passes through forward (forward.go) first: in a cluster, writes and
// consistent reads reach the raft leader from any server, and the leader's
// door decides. Before that, a request body that stops arriving is cut off
// (guardBodies, body_stall.go).
func (s *Server) Routes(outer *http.ServeMux) {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern(), s.wrap(rt))
	}
	// An unknown path gets a coded answer, not net/http's text.
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, structs.NewError(structs.CodeNotFound, "no such API route: %s %s", r.Method, r.URL.Path))
	})
	outer.Handle("/v1/", s.guardBodies(s.forward(mux)))
	// The web UI's static files (ui.go): served by any server itself.
	outer.Handle("/ui/", mux)
}

// RouteTable lists the API's routes (method, path, capability, what it
// does), for docs and tests.
func (s *Server) RouteTable() []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Method: rt.Method, Path: rt.Path, Cap: string(rt.Cap), Doc: rt.Doc})
	}
	return out
}

// RouteInfo describes one route of the API.
type RouteInfo struct {
	Method, Path, Cap, Doc string
}
