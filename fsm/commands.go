package fsm

import (
	"encoding/json"
	"fmt"

	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// command is one kind of raft log entry: its name, how to read each
// encoding version of its request that any nai release ever wrote, and the
// one state store call that applies it.
//
// To change a request incompatibly: raise version, keep the old decoder
// under its old number (converting to the new request type), and add a
// golden entry of the new version to testdata/entries (TestGoldenEntries).
// Old log entries then replay as they did, and a server that does not know
// the new version stops rather than diverging.
type command struct {
	name string
	// version is what Encode writes now.
	version uint8
	// decoders maps every readable version to a decoder of its body.
	decoders map[uint8]func(body []byte) (any, error)
	apply    func(st *state.Store, index uint64, req any) any
	// since maps each version newer than Format1 to the log format that
	// brought it (format.go); downgrade, when set, rewrites a request of
	// the current version for an older version, for clusters whose
	// servers do not all read the current one yet.
	since     map[uint8]Format
	downgrade func(req any, version uint8) (any, error)
}

// cmd declares a command whose request is a *T encoded as JSON at
// version 1.
func cmd[T any](name string, apply func(st *state.Store, index uint64, req *T) any) *command {
	return &command{
		name:    name,
		version: 1,
		decoders: map[uint8]func([]byte) (any, error){
			1: func(body []byte) (any, error) { return decodeJSON[T](body) },
		},
		apply: func(st *state.Store, index uint64, req any) any { return apply(st, index, req.(*T)) },
	}
}

// upgraded raises a command's encoding version to v, brought by log format
// f, for a request whose new fields older entries simply lack: version v
// decodes like the ones before. Old servers would stop on the new entries
// instead of applying them half; the leader writes them only once every
// server reads f (format.go). down rewrites a request for version v-1,
// dropping what it cannot carry, or refuses it (nil: always refused); an
// older version goes through the downgrades of the versions between.
func upgraded[T any](c *command, v uint8, f Format, down func(req *T) (*T, error)) *command {
	c.version = v
	c.decoders[v] = func(body []byte) (any, error) { return decodeJSON[T](body) }
	if c.since == nil {
		c.since = map[uint8]Format{}
	}
	c.since[v] = f
	older := c.downgrade
	if down == nil {
		c.downgrade = nil
		return c
	}
	c.downgrade = func(req any, version uint8) (any, error) {
		if version >= v {
			return nil, fmt.Errorf("no downgrade to version %d", version)
		}
		r, ok := req.(*T)
		if !ok {
			return nil, fmt.Errorf("request is %T", req)
		}
		out, err := down(r)
		if err != nil || version == v-1 {
			return out, err
		}
		if older == nil {
			return nil, fmt.Errorf("no downgrade to version %d", version)
		}
		return older(out, version)
	}
	return c
}

// introduced marks a command new in log format f: the leader writes it
// only once every server reads f.
func introduced(c *command, f Format) *command {
	if c.since == nil {
		c.since = map[uint8]Format{}
	}
	c.since[1] = f
	return c
}

func decodeJSON[T any](body []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		return nil, err
	}
	return v, nil
}

// withDecoder makes dec c's decoder of version v.
func withDecoder(c *command, v uint8, dec func([]byte) (any, error)) *command {
	c.decoders[v] = dec
	return c
}

// decodeJobRegister is decodeJSON for a registration, with a sweep's entry
// (as the leader writes it) decoded without encoding/json's scans of the
// whole entry first (structs.DecodeJobRegisterEntry; the same request).
func decodeJobRegister(body []byte) (any, error) {
	if r, ok := structs.DecodeJobRegisterEntry(body); ok {
		return r, nil
	}
	return decodeJSON[structs.JobRegisterRequest](body)
}

// commands is the one table from message type to command. Nothing else
// lists the commands: names, decoding, applying and the golden entries all
// come from here.
var commands = map[MessageType]*command{
	// Version 2 may carry service jobs (which older servers would store
	// as batch jobs), jobs built from plugins (Job.Plugin, pinned and
	// checked), output { dataset } and a sweep as one spec (Sweep, whose
	// members the store expands): they wait for every server to read
	// format 3 (jobRegisterV1 writes a sweep's members out).
	// Version 3 may carry a dependency on an array's first member alone
	// (Dependency.Member), which older servers would read as one on the
	// whole array.
	// Version 4 may make one job an array (Array: the array of one of
	// an #SBATCH --array=5), which older servers register as a plain job:
	// for them it goes as that (jobRegisterV3).
	// Version 5 may carry a task script with arguments (Task.Args beside
	// Task.Script: sbatch job.sh ARGS), which older servers refuse as
	// invalid: it is refused until every server reads it (jobRegisterV4).
	JobRegister: withDecoder(withDecoder(withDecoder(withDecoder(upgraded(upgraded(upgraded(upgraded(cmd("JobRegister", func(st *state.Store, i uint64, r *structs.JobRegisterRequest) any {
		return result(st.RegisterJobs(i, r))
	}), 2, Format3, jobRegisterV1), 3, Format5, jobRegisterV2), 4, Format7, jobRegisterV3), 5, Format8, jobRegisterV4), 2, decodeJobRegister), 3, decodeJobRegister), 4, decodeJobRegister), 5, decodeJobRegister),
	// Version 2 added Only (cancel member 0 of a sweep alone), which
	// version 1 cannot carry.
	JobCancel: upgraded(cmd("JobCancel", func(st *state.Store, i uint64, r *structs.JobCancelRequest) any {
		return errOrNil(st.CancelJobs(i, r))
	}), 2, Format3, func(r *structs.JobCancelRequest) (*structs.JobCancelRequest, error) {
		if r.Only {
			return nil, fmt.Errorf("cancelling member 0 of a sweep alone needs every server upgraded")
		}
		return r, nil
	}),
	// Holds or releases pending jobs (scontrol hold / release); the answer
	// is the ids changed.
	JobHold: introduced(cmd("JobHold", func(st *state.Store, i uint64, r *structs.JobHoldRequest) any {
		return result(st.HoldJobs(i, r))
	}), Format5),
	// Updates pending jobs (scontrol update); the answer is the ids
	// changed.
	JobUpdate: introduced(cmd("JobUpdate", func(st *state.Store, i uint64, r *structs.JobUpdateRequest) any {
		return result(st.UpdateJobs(i, r))
	}), Format6),
	NodeRegister: cmd("NodeRegister", func(st *state.Store, i uint64, r *structs.NodeRegisterRequest) any {
		return errOrNil(st.UpsertNode(i, r))
	}),
	// Version 2 may mark a ready node unreachable (Unreachable), which
	// older servers would ignore: their plans' checks would then differ.
	NodeStatus: upgraded(cmd("NodeStatus", func(st *state.Store, i uint64, r *structs.NodeStatusRequest) any {
		return errOrNil(st.UpdateNodeStatus(i, r))
	}), 2, Format5, nodeStatusV1),
	// Version 2 added the plan's preemptions and cancels (one entry per
	// plan), and the waiting jobs' node filter counts. For servers of
	// format 1 a plan keeps its placements and reasons: preemptions and
	// cancels wait for the next plan after the upgrade.
	PlanApply: upgraded(cmd("PlanApply", func(st *state.Store, i uint64, r *structs.PlanApplyRequest) any {
		return result(st.ApplyPlan(i, r))
	}), 2, Format2, planApplyV1),
	// Version 2 added failed node hooks (ClientStatusFields.Hook), which
	// drain the node, and the prolog-failed end, which requeues the job;
	// older servers get the report without them (allocUpdateV1).
	// Version 3 added the metrics that stopped being finite
	// (ClientStatusFields.NonFinite), which leave the job's Metrics for
	// its NonFiniteMetrics, and the count of lines that were not JSON
	// (MetricsSkipped, MetricsCounted); older servers get the report
	// without them (allocUpdateV2) and keep the last finite value, as
	// before.
	// Version 4 may say that a gang job keeps its rank 0's outputs, logs
	// and metrics history (RankZeroOutputs); older servers get the report
	// without it (allocUpdateV3), and every server keeps the last
	// report's, as before.
	AllocUpdate: upgraded(upgraded(upgraded(cmd("AllocUpdate", func(st *state.Store, i uint64, r *structs.AllocUpdateRequest) any {
		return errOrNil(st.UpdateAllocs(i, r))
	}), 2, Format3, allocUpdateV1), 3, Format7, allocUpdateV2), 4, Format8, allocUpdateV3),
	// The answer is one error (or nil) per request, in order. Version 2
	// is version 3 of AllocUpdate's reports (ClientStatusFields.NonFinite),
	// without them for older servers (allocUpdatesV1); version 3 is
	// version 4's (RankZeroOutputs), without it for older servers
	// (allocUpdatesV2).
	AllocUpdates: upgraded(upgraded(introduced(cmd("AllocUpdates", func(st *state.Store, i uint64, r *structs.AllocUpdatesRequest) any {
		return result(st.UpdateAllocsBatch(i, r.Requests))
	}), Format4), 2, Format7, allocUpdatesV1), 3, Format8, allocUpdatesV2),

	// The message type, not the request, says which kind a push is.
	DatasetPush: cmd("DatasetPush", func(st *state.Store, i uint64, r *structs.ArtifactPushRequest) any {
		r.Kind = structs.KindDataset
		return result(st.PushArtifact(i, r))
	}),
	ModelPush: cmd("ModelPush", func(st *state.Store, i uint64, r *structs.ArtifactPushRequest) any {
		r.Kind = structs.KindModel
		return result(st.PushArtifact(i, r))
	}),
	PluginPush: introduced(cmd("PluginPush", func(st *state.Store, i uint64, r *structs.ArtifactPushRequest) any {
		r.Kind = structs.KindPlugin
		return result(st.PushArtifact(i, r))
	}), Format3),
	ArtifactDelete: cmd("ArtifactDelete", func(st *state.Store, i uint64, r *structs.ArtifactDeleteRequest) any {
		return errOrNil(st.DeleteArtifactVersion(i, r))
	}),
	BlobRegister: cmd("BlobRegister", func(st *state.Store, i uint64, r *structs.BlobRegisterRequest) any {
		return errOrNil(st.RegisterBlob(i, r))
	}),
	BlobDrop: cmd("BlobDrop", func(st *state.Store, i uint64, r *structs.BlobDropRequest) any {
		return errOrNil(st.DropBlob(i, r))
	}),
	BlobSweep: cmd("BlobSweep", func(st *state.Store, i uint64, r *structs.BlobSweepRequest) any {
		return result(st.SweepBlobs(i, r))
	}),

	QueueUpsert: cmd("QueueUpsert", func(st *state.Store, i uint64, r *structs.QueueUpsertRequest) any {
		return errOrNil(st.UpsertQueue(i, r))
	}),
	QueueDelete: cmd("QueueDelete", func(st *state.Store, i uint64, r *structs.QueueDeleteRequest) any {
		return errOrNil(st.DeleteQueue(i, r))
	}),
	ShareUpsert: cmd("ShareUpsert", func(st *state.Store, i uint64, r *structs.ShareUpsertRequest) any {
		return errOrNil(st.UpsertShare(i, r))
	}),
	ShareDelete: cmd("ShareDelete", func(st *state.Store, i uint64, r *structs.AccountDeleteRequest) any {
		return errOrNil(st.DeleteShare(i, r))
	}),
	QuotaUpsert: cmd("QuotaUpsert", func(st *state.Store, i uint64, r *structs.QuotaUpsertRequest) any {
		return errOrNil(st.UpsertQuota(i, r))
	}),
	QuotaDelete: cmd("QuotaDelete", func(st *state.Store, i uint64, r *structs.AccountDeleteRequest) any {
		return errOrNil(st.DeleteQuota(i, r))
	}),

	// Version 2 may say the write is an operator's (ByOperator), which
	// takes over a failed hook's drain; older servers do without
	// (nodeDrainV1, nodeEligibilityV1).
	NodeDrain: upgraded(cmd("NodeDrain", func(st *state.Store, i uint64, r *structs.NodeDrainRequest) any {
		return errOrNil(st.DrainNode(i, r))
	}), 2, Format8, nodeDrainV1),
	NodeEligibility: upgraded(cmd("NodeEligibility", func(st *state.Store, i uint64, r *structs.NodeEligibilityRequest) any {
		return errOrNil(st.SetNodeEligibility(i, r))
	}), 2, Format8, nodeEligibilityV1),
	NodeDrainProgress: cmd("NodeDrainProgress", func(st *state.Store, i uint64, r *structs.NodeDrainProgressRequest) any {
		return errOrNil(st.ProgressNodeDrain(i, r))
	}),

	ACLBootstrap: cmd("ACLBootstrap", func(st *state.Store, i uint64, r *structs.ACLBootstrapRequest) any {
		return errOrNil(st.BootstrapACL(i, r))
	}),
	ServerSecret: cmd("ServerSecret", func(st *state.Store, i uint64, r *structs.ServerSecretRequest) any {
		return errOrNil(st.SetServerSecret(i, r))
	}),
	UserUpsert: cmd("UserUpsert", func(st *state.Store, i uint64, r *structs.UserUpsertRequest) any {
		return errOrNil(st.UpsertUser(i, r))
	}),
	UserDelete: cmd("UserDelete", func(st *state.Store, i uint64, r *structs.UserDeleteRequest) any {
		return errOrNil(st.DeleteUser(i, r))
	}),
	GroupUpsert: cmd("GroupUpsert", func(st *state.Store, i uint64, r *structs.GroupUpsertRequest) any {
		return errOrNil(st.UpsertGroup(i, r))
	}),
	GroupDelete: cmd("GroupDelete", func(st *state.Store, i uint64, r *structs.GroupDeleteRequest) any {
		return errOrNil(st.DeleteGroup(i, r))
	}),
	GroupMember: cmd("GroupMember", func(st *state.Store, i uint64, r *structs.GroupMemberRequest) any {
		return errOrNil(st.SetGroupMember(i, r))
	}),
	TokenCreate: cmd("TokenCreate", func(st *state.Store, i uint64, r *structs.TokenCreateRequest) any {
		return errOrNil(st.CreateToken(i, r))
	}),
	TokenRevoke: cmd("TokenRevoke", func(st *state.Store, i uint64, r *structs.TokenRevokeRequest) any {
		return errOrNil(st.RevokeToken(i, r))
	}),

	AuditAppend: cmd("AuditAppend", func(st *state.Store, i uint64, r *structs.AuditAppendRequest) any {
		return errOrNil(st.AppendAudit(i, r))
	}),
	// Version 2 keeps the members of an array a live job depends on
	// (KeepArrayMembers); older servers keep only the job named.
	JobGC: upgraded(introduced(cmd("JobGC", func(st *state.Store, i uint64, r *structs.JobGCRequest) any {
		return result(st.GCJobs(i, r))
	}), Format3), 2, Format5, jobGCV1),

	ServiceScale: introduced(cmd("ServiceScale", func(st *state.Store, i uint64, r *structs.ServiceScaleRequest) any {
		return errOrNil(st.ScaleService(i, r))
	}), Format3),
	ServiceRollout: introduced(cmd("ServiceRollout", func(st *state.Store, i uint64, r *structs.ServiceRolloutRequest) any {
		return result(st.StartRollout(i, r))
	}), Format3),
	ServiceRollback: introduced(cmd("ServiceRollback", func(st *state.Store, i uint64, r *structs.ServiceRollbackRequest) any {
		return errOrNil(st.RollbackRollout(i, r))
	}), Format3),
}

// Encode makes a raft log entry: the type byte (with IgnoreUnknownFlag when
// the caller set it), the command's current version, then the request as
// JSON. A leader whose cluster may hold older servers uses EncodeAt.
func Encode(t MessageType, req any) ([]byte, error) {
	return EncodeAt(t, req, LogFormat)
}

// planApplyV1 is a plan as version 1 carried it: placements and waiting
// reasons only.
func planApplyV1(r *structs.PlanApplyRequest) (*structs.PlanApplyRequest, error) {
	c := *r
	c.Preempt, c.Cancel = nil, nil
	if r.Waiting != nil {
		c.Waiting = make([]structs.WaitStatus, len(r.Waiting))
		for i, w := range r.Waiting {
			w.NodeFilters = nil
			c.Waiting[i] = w
		}
	}
	return &c, nil
}

// result turns a (value, error) pair into what Apply returns: the error
// when there is one, else the value.
func result[T any](v T, err error) any {
	if err != nil {
		return err
	}
	return v
}

// errOrNil keeps a nil error a plain nil response, not a typed nil.
func errOrNil(err error) any {
	if err != nil {
		return err
	}
	return nil
}
