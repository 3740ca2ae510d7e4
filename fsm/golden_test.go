package fsm

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/structs"
)

var update = flag.Bool("update", false, "rewrite the golden entries and state in testdata/entries")

// goldenDir holds one file per golden entry, NNN-Name.vV.json (the JSON body
// of entry NNN, a Name command at encoding version V), and state.golden,
// the state those entries leave when replayed in order.
const goldenDir = "testdata/entries"

// goldenJob and goldenNode are frozen: the golden entries encode what they
// build, so they are literals here rather than the shared test builders,
// whose defaults may change.
func goldenJob(name string, gpus int) *structs.Job {
	return &structs.Job{
		Name: name, User: "alice",
		Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30, GPU: structs.GPURequest{Count: gpus}},
		Task:      structs.Task{Command: "python3", Args: []string{"train.py"}},
	}
}

func goldenNode(id string) *structs.Node {
	n := &structs.Node{ID: id, Name: "host-" + id, CPU: 8, MemoryBytes: 32 << 30}
	for i := range 4 {
		n.GPUs = append(n.GPUs, structs.GPU{Index: i, UUID: fmt.Sprintf("GPU-%d", i), Model: "H100", Healthy: true})
	}
	return n
}

// history is a coherent story that uses every command at least once. Its
// encoded entries are the golden files: a request type whose encoding
// changes (a renamed JSON tag, a removed field) fails TestGoldenEntries, and
// so does a store whose answer to the same log changes.
func history() []struct {
	t   MessageType
	req any
} {
	exit0, exit1, exit3 := 0, 1, 3
	digest := strings.Repeat("ab", 32)
	model := strings.Repeat("cd", 32)
	plugin := strings.Repeat("ef", 32)
	split := strings.Repeat("12", 32)
	h := []struct {
		t   MessageType
		req any
	}{
		{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n1"), Now: t0}},
		{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n2"), Now: t0}},
		{QueueUpsert, &structs.QueueUpsertRequest{Queue: &structs.Queue{Name: "long", Priority: 10, MaxTimeLimit: structs.Duration(72 * time.Hour)}}},
		{ShareUpsert, &structs.ShareUpsertRequest{Share: &structs.Share{Kind: structs.AccountGroup, Name: "vision", Shares: 3}}},
		{QuotaUpsert, &structs.QuotaUpsertRequest{Quota: &structs.AccountQuota{Kind: structs.AccountUser, Name: "alice", Quota: structs.Quota{MaxGPUs: 8, MaxPending: 100}}}},
		{BlobRegister, &structs.BlobRegisterRequest{Digest: digest, Size: 1234, Server: "s1", Now: t0}},
		{DatasetPush, &structs.ArtifactPushRequest{Name: "digits", User: "alice", Group: "vision", Description: "8x8 digits", Digest: digest, Size: 1234, Files: 3, Now: t0}},
		{JobRegister, &structs.JobRegisterRequest{Now: t0, Jobs: []*structs.Job{
			func() *structs.Job {
				j := goldenJob("train", 2)
				j.Datasets = []structs.ArtifactRef{{Name: "digits", Version: "latest"}}
				j.Output = &structs.OutputSpec{Model: "digits-mlp"}
				j.Labels = map[string]string{"team": "vision"}
				j.TimeLimit = structs.Duration(time.Hour)
				return j
			}(),
		}}},
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(time.Second), Jobs: []*structs.Job{goldenJob("other", 1), goldenJob("third", 4)}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(2 * time.Second),
			Allocs: []*structs.Allocation{
				{ID: "1.1", JobID: "1", NodeID: "n1", GPUs: []int{0, 1}, Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(2 * time.Second)},
				{ID: "2.1", JobID: "2", NodeID: "n2", GPUs: []int{0}, Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(2 * time.Second)},
			},
			Waiting: []structs.WaitStatus{{JobID: "3", Code: structs.WaitResources, Reason: "Resources: needs 4 free GPUs"}},
		}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n1", Now: t0.Add(time.Minute), Updates: []*structs.AllocUpdate{{AllocID: "1.1", Client: structs.ClientStatusFields{
			Status: structs.AllocComplete, ExitCode: &exit0, ExitReason: structs.ExitExited,
			StartTime: t0.Add(3 * time.Second), EndTime: t0.Add(time.Minute),
			Metrics: map[string]float64{"loss": 0.25}, OutputDigest: model, OutputSize: 99,
			Usage: &structs.ResourceUsage{CPUSeconds: 12.5, MaxMemoryBytes: 1 << 20},
		}}}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n2", Now: t0.Add(time.Minute), Updates: []*structs.AllocUpdate{{AllocID: "2.1", Client: structs.ClientStatusFields{
			Status: structs.AllocFailed, ExitCode: &exit3, ExitReason: structs.ExitExited, EndTime: t0.Add(time.Minute),
		}}}}},
		{BlobRegister, &structs.BlobRegisterRequest{Digest: model, Size: 99, Server: "s1", Now: t0.Add(time.Minute)}},
		{ModelPush, &structs.ArtifactPushRequest{Name: "base", User: "bob", Digest: model, Size: 99, Now: t0.Add(2 * time.Minute)}},
		{ArtifactDelete, &structs.ArtifactDeleteRequest{Kind: structs.KindModel, Name: "base", Version: 1, Now: t0.Add(3 * time.Minute)}},
		{JobCancel, &structs.JobCancelRequest{JobIDs: []string{"3"}, Reason: structs.ExitCancelled, Now: t0.Add(3 * time.Minute)}},
		{NodeEligibility, &structs.NodeEligibilityRequest{NodeID: "n2", Eligible: false, Now: t0.Add(4 * time.Minute)}},
		{NodeDrain, &structs.NodeDrainRequest{NodeID: "n1", Drain: true, Deadline: t0.Add(time.Hour), Now: t0.Add(5 * time.Minute)}},
		{NodeDrainProgress, &structs.NodeDrainProgressRequest{NodeID: "n1", Now: t0.Add(6 * time.Minute)}},
		{NodeStatus, &structs.NodeStatusRequest{NodeID: "n2", Status: structs.NodeDown, Now: t0.Add(7 * time.Minute)}},
		{BlobDrop, &structs.BlobDropRequest{Digest: model, Server: "s1"}},
		{BlobSweep, &structs.BlobSweepRequest{Now: t0.Add(48 * time.Hour), Retention: 24 * time.Hour, Servers: []string{"s1"}}},
		{QuotaDelete, &structs.AccountDeleteRequest{Kind: structs.AccountUser, Name: "alice"}},
		{ShareDelete, &structs.AccountDeleteRequest{Kind: structs.AccountGroup, Name: "vision"}},
		{QueueDelete, &structs.QueueDeleteRequest{Name: "long"}},
		{ServerSecret, &structs.ServerSecretRequest{Secret: strings.Repeat("s", 43)}},
		{ACLBootstrap, &structs.ACLBootstrapRequest{Now: t0.Add(time.Hour), Token: &structs.Token{AccessorID: "a-root", SecretHash: strings.Repeat("01", 32), Name: "bootstrap"}}},
		{UserUpsert, &structs.UserUpsertRequest{Create: true, Now: t0.Add(time.Hour), User: &structs.User{Name: "alice", UnixAccount: "alice"}}},
		{UserUpsert, &structs.UserUpsertRequest{Create: true, Now: t0.Add(time.Hour), User: &structs.User{Name: "bob"}}},
		{GroupUpsert, &structs.GroupUpsertRequest{Now: t0.Add(time.Hour), Group: &structs.Group{Name: "vision", Description: "the vision lab",
			Members: []structs.GroupMember{{User: "alice", Role: structs.RoleAdmin}}}}},
		{GroupMember, &structs.GroupMemberRequest{Group: "vision", User: "bob", Role: structs.RoleReader, Now: t0.Add(time.Hour)}},
		{TokenCreate, &structs.TokenCreateRequest{Now: t0.Add(time.Hour), Token: &structs.Token{AccessorID: "a-alice", SecretHash: strings.Repeat("02", 32),
			Name: "laptop", User: "alice", ExpirationTime: t0.Add(720 * time.Hour)}}},
		{TokenCreate, &structs.TokenCreateRequest{Now: t0.Add(time.Hour), Token: &structs.Token{AccessorID: "a-bob", SecretHash: strings.Repeat("03", 32), User: "bob"}}},
		{TokenRevoke, &structs.TokenRevokeRequest{AccessorID: "a-bob", Now: t0.Add(2 * time.Hour)}},
		{GroupUpsert, &structs.GroupUpsertRequest{Now: t0.Add(time.Hour), Group: &structs.Group{Name: "tmp"}}},
		{GroupDelete, &structs.GroupDeleteRequest{Name: "tmp", Now: t0.Add(2 * time.Hour)}},
		{UserDelete, &structs.UserDeleteRequest{Name: "bob", Now: t0.Add(3 * time.Hour)}},
		{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n3"), SecretHash: strings.Repeat("04", 32), Now: t0.Add(3 * time.Hour)}},
		{AuditAppend, &structs.AuditAppendRequest{Keep: 2, Before: t0, Events: []*structs.AuditEvent{
			{Time: t0.Add(time.Hour), User: "alice", Accessor: "a-alice", Method: "PUT", Path: "/v1/jobs", Object: "job 4", Status: 200, Remote: "127.0.0.1:5000", Server: "s1"},
			{Time: t0.Add(time.Hour), Caller: "anonymous", Method: "DELETE", Path: "/v1/jobs/1", Status: 401, Error: "this request needs a token"},
			{Time: t0.Add(2 * time.Hour), User: "bob", Method: "POST", Path: "/v1/acl/tokens", Status: 403, Error: "permission denied"},
		}}},
		{JobGC, &structs.JobGCRequest{Before: t0.Add(2 * time.Minute), Max: 10, Now: t0.Add(96 * time.Hour)}},

		// A service: placed, healthy, scaled, rolled out, rolled back, stopped.
		{NodeRegister, &structs.NodeRegisterRequest{Node: func() *structs.Node {
			n := goldenNode("n4")
			n.ServicePorts = structs.PortRange{First: 20000, Last: 20009}
			return n
		}(), Now: t0.Add(4 * time.Hour)}},
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(4 * time.Hour), Jobs: []*structs.Job{{
			Name: "api", User: "alice", Group: "vision", Type: structs.JobService,
			Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30, GPU: structs.GPURequest{Count: 1}},
			Task:      structs.Task{Command: "python3", Args: []string{"serve.py"}},
			Service:   &structs.ServiceSpec{Replicas: 2, Public: true},
		}}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(4*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "4.1", JobID: "4", NodeID: "n4", GPUs: []int{0}, Attempt: 1, Replica: 0, JobVersion: 1, DesiredStatus: structs.DesiredRun},
			{ID: "4.2", JobID: "4", NodeID: "n4", GPUs: []int{1}, Attempt: 2, Replica: 1, JobVersion: 1, DesiredStatus: structs.DesiredRun},
		}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n4", Now: t0.Add(4*time.Hour + time.Minute), Updates: []*structs.AllocUpdate{
			{AllocID: "4.1", Client: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: t0.Add(4 * time.Hour),
				Service: &structs.ReplicaHealth{Address: "10.0.0.4:20000", Port: 20000, Healthy: true, Since: t0.Add(4 * time.Hour)}}},
			{AllocID: "4.2", Client: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: t0.Add(4 * time.Hour),
				Service: &structs.ReplicaHealth{Address: "10.0.0.4:20001", Port: 20001, HealthError: "GET /health: connection refused", Restarts: 1, LastExit: "exit code 1"}}},
		}}},
		{ServiceScale, &structs.ServiceScaleRequest{JobID: "4", Replicas: 1, Now: t0.Add(5 * time.Hour)}},
		{ServiceRollout, &structs.ServiceRolloutRequest{JobID: "4", Now: t0.Add(5 * time.Hour), Deadline: t0.Add(5*time.Hour + 5*time.Minute),
			Revision: structs.ServiceRevision{Task: structs.Task{Command: "python3", Args: []string{"serve.py", "--v2"}}}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(5*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "4.3", JobID: "4", NodeID: "n4", GPUs: []int{2}, Attempt: 3, Replica: 0, JobVersion: 2, DesiredStatus: structs.DesiredRun},
		}}},
		{ServiceRollback, &structs.ServiceRollbackRequest{JobID: "4", ToVersion: 2, Reason: "new replicas not healthy after 5m0s", Now: t0.Add(5*time.Hour + 5*time.Minute)}},
		{ServiceRollout, &structs.ServiceRolloutRequest{JobID: "4", Now: t0.Add(6 * time.Hour), Deadline: t0.Add(6*time.Hour + 5*time.Minute),
			Revision: structs.ServiceRevision{Task: structs.Task{Command: "python3", Args: []string{"serve.py", "--v3"}}}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(6*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "4.4", JobID: "4", NodeID: "n4", GPUs: []int{3}, Attempt: 4, Replica: 0, JobVersion: 3, DesiredStatus: structs.DesiredRun},
		}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n4", Now: t0.Add(6*time.Hour + time.Minute), Updates: []*structs.AllocUpdate{
			{AllocID: "4.4", Client: structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: t0.Add(6 * time.Hour),
				Service: &structs.ReplicaHealth{Address: "10.0.0.4:20002", Port: 20002, Healthy: true, Since: t0.Add(6 * time.Hour)}}},
		}}},
		{JobCancel, &structs.JobCancelRequest{JobIDs: []string{"4"}, Reason: structs.ExitCancelled, Now: t0.Add(7 * time.Hour)}},

		// A plugin installed and run on a dataset: its output becomes the
		// next version of the dataset, with the plugin in the lineage.
		{BlobRegister, &structs.BlobRegisterRequest{Digest: plugin, Size: 4096, Server: "s1", Now: t0.Add(100 * time.Hour)}},
		{PluginPush, &structs.ArtifactPushRequest{Name: "split-train-val", User: "alice", Group: "vision", Description: "split files",
			Digest: plugin, Size: 4096, Files: 2, Now: t0.Add(100 * time.Hour), Plugin: &structs.PluginSpec{
				Name: "split-train-val", Version: "1.0.0", Kind: structs.PluginDataset, Description: "split files",
				Variables: []structs.PluginVariable{{Name: "fraction", Type: "number", Default: "0.8", Description: "share for train"}, {Name: "seed", Type: "number", Default: "0"}},
			}}},
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(101 * time.Hour), Jobs: []*structs.Job{{
			Name: "split-train-val", User: "alice", Group: "vision", Code: plugin,
			Resources: structs.Resources{CPU: 1, MemoryBytes: 512 << 20},
			Task:      structs.Task{Command: "python3", Args: []string{"split.py", "--fraction", "0.5", "--seed", "1"}},
			Datasets:  []structs.ArtifactRef{{Name: "digits", Version: "1"}},
			Output:    &structs.OutputSpec{Dataset: "digits"},
			Plugin:    &structs.PluginRef{Name: "split-train-val", Version: "1.0.0", Digest: plugin, Variables: map[string]string{"fraction": "0.5", "seed": "1"}},
		}}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(101*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "5.1", JobID: "5", NodeID: "n3", Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(101*time.Hour + time.Second)},
		}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n3", Now: t0.Add(101*time.Hour + time.Minute), Updates: []*structs.AllocUpdate{{AllocID: "5.1", Client: structs.ClientStatusFields{
			Status: structs.AllocComplete, ExitCode: &exit0, ExitReason: structs.ExitExited,
			StartTime: t0.Add(101*time.Hour + 2*time.Second), EndTime: t0.Add(101*time.Hour + time.Minute),
			OutputDigest: split, OutputSize: 2048, OutputFiles: 5,
		}}}}},

		// A prolog that fails: the job goes back to the queue and the
		// node is drained with the prolog's message.
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(102 * time.Hour), Jobs: []*structs.Job{func() *structs.Job {
			j := goldenJob("after-split", 1)
			j.Datasets = []structs.ArtifactRef{{Name: "digits", Version: "latest"}}
			return j
		}()}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(102*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "6.1", JobID: "6", NodeID: "n3", GPUs: []int{0}, Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(102*time.Hour + time.Second)},
		}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n3", Now: t0.Add(102*time.Hour + 5*time.Second), Updates: []*structs.AllocUpdate{{AllocID: "6.1", Client: structs.ClientStatusFields{
			Status: structs.AllocFailed, ExitReason: structs.ExitPrologFailed, Message: "prolog failed: exit status 1: GPU 2 fails its health check",
			EndTime: t0.Add(102*time.Hour + 4*time.Second),
			Hook: &structs.HookReport{Hook: structs.HookProlog, Path: "/etc/nai/prolog.sh", AllocID: "6.1", JobID: "6", ExitCode: &exit1,
				Message: "exit status 1: GPU 2 fails its health check", Output: "checking GPUs\nGPU 2 fails its health check\n",
				Duration: structs.Duration(2 * time.Second), Time: t0.Add(102*time.Hour + 4*time.Second)},
		}}}}},

		// A sweep of three sent as one spec: the members share the
		// template, and the last two change its arguments.
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(103 * time.Hour), Sweep: &structs.SweepSpec{
			Template: goldenJob("lr-sweep", 1), MaxParallel: 2,
			Members: []structs.SweepMember{
				{Values: map[string]string{"lr": "0.1"}},
				{Values: map[string]string{"lr": "0.01"}, Changed: []string{"task.args"},
					Changes: &structs.Job{Task: structs.Task{Args: []string{"train.py", "--lr", "0.01"}}}},
				{Values: map[string]string{"lr": "0.001"}, Changed: []string{"task.args"},
					Changes: &structs.Job{Task: structs.Task{Args: []string{"train.py", "--lr", "0.001"}}}},
			},
		}}},

		// Two nodes' reports folded into one entry, and a third that
		// names an allocation of another node: refused alone.
		{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n5"), Now: t0.Add(104 * time.Hour)}},
		{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n6"), Now: t0.Add(104 * time.Hour)}},
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(104 * time.Hour), Jobs: []*structs.Job{goldenJob("five", 1), goldenJob("six", 1)}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(104*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "10.1", JobID: "10", NodeID: "n5", GPUs: []int{0}, Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(104*time.Hour + time.Second)},
			{ID: "11.1", JobID: "11", NodeID: "n6", GPUs: []int{0}, Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(104*time.Hour + time.Second)},
		}}},
		{AllocUpdates, &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{
			{NodeID: "n5", Now: t0.Add(104*time.Hour + 2*time.Second), Updates: []*structs.AllocUpdate{{AllocID: "10.1", Client: structs.ClientStatusFields{
				Status: structs.AllocRunning, StartTime: t0.Add(104*time.Hour + 2*time.Second)}}}},
			{NodeID: "n5", Now: t0.Add(104*time.Hour + 2*time.Second), Updates: []*structs.AllocUpdate{{AllocID: "11.1", Client: structs.ClientStatusFields{
				Status: structs.AllocFailed, ExitCode: &exit1, ExitReason: structs.ExitExited}}}},
			{NodeID: "n6", Now: t0.Add(104*time.Hour + 3*time.Second), Updates: []*structs.AllocUpdate{{AllocID: "11.1", Client: structs.ClientStatusFields{
				Status: structs.AllocComplete, ExitCode: &exit0, ExitReason: structs.ExitExited,
				StartTime: t0.Add(104*time.Hour + 2*time.Second), EndTime: t0.Add(104*time.Hour + 3*time.Second)}}}},
		}}},

		// A ready node serf declared failed: unreachable, no new work.
		{NodeStatus, &structs.NodeStatusRequest{NodeID: "n5", Status: structs.NodeReady, Unreachable: true, Now: t0.Add(105 * time.Hour)}},

		// Holds: a job submitted held (its owner's hold, whatever the
		// submitter wrote), another held by an operator, the first
		// released by its owner.
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(106 * time.Hour), Jobs: []*structs.Job{func() *structs.Job {
			j := goldenJob("seven", 1)
			j.Hold = &structs.JobHold{By: "mallory", Admin: true}
			return j
		}(), goldenJob("eight", 1)}}},
		{JobHold, &structs.JobHoldRequest{JobIDs: []string{"13"}, Admin: true, By: "ops", Now: t0.Add(106*time.Hour + time.Minute)}},
		{JobHold, &structs.JobHoldRequest{JobIDs: []string{"12"}, Release: true, Now: t0.Add(106*time.Hour + 2*time.Minute)}},
	}
	// An update of the released job (scontrol update).
	limit := structs.Duration(30 * time.Minute)
	gpus, prio := 2, 70
	h = append(h, struct {
		t   MessageType
		req any
	}{JobUpdate, &structs.JobUpdateRequest{JobIDs: []string{"12"}, Update: structs.JobUpdate{TimeLimit: &limit, GPUs: &gpus, Priority: &prio}}})

	// Format 7: an #SBATCH --array=5, one job that carries sweep values,
	// is an array of one (job 14, member 14_5); its loss becomes NaN,
	// then Infinity, and leaves the job's metrics for its non-finite ones.
	arrayOfOne := goldenJob("array-of-one", 1)
	arrayOfOne.SweepValues = map[string]string{structs.ArrayTaskIDKey: "5"}
	step1, step2 := 1.0, 2.0
	diverged := func(v string) map[string]structs.NonFiniteMetric {
		return map[string]structs.NonFiniteMetric{"loss": {Value: v, First: "NaN", Line: 2, Step: &step2}}
	}
	h = append(h, []struct {
		t   MessageType
		req any
	}{
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(107 * time.Hour), Jobs: []*structs.Job{arrayOfOne}, Array: true}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(107*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "14.1", JobID: "14", NodeID: "n6", GPUs: []int{1}, Attempt: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(107*time.Hour + time.Second)},
		}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n6", Now: t0.Add(107*time.Hour + 2*time.Second), Updates: []*structs.AllocUpdate{{AllocID: "14.1", Client: structs.ClientStatusFields{
			Status: structs.AllocRunning, StartTime: t0.Add(107*time.Hour + 2*time.Second), Metrics: map[string]float64{"step": step1, "loss": 0.5, "acc": 0.1},
		}}}}},
		{AllocUpdates, &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{
			{NodeID: "n6", Now: t0.Add(107*time.Hour + 3*time.Second), Updates: []*structs.AllocUpdate{{AllocID: "14.1", Client: structs.ClientStatusFields{
				Status: structs.AllocRunning, StartTime: t0.Add(107*time.Hour + 2*time.Second), Metrics: map[string]float64{"step": step2, "acc": 0.2},
				NonFinite: diverged("NaN"), MetricsSkipped: 1, MetricsCounted: true,
			}}}},
		}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n6", Now: t0.Add(107*time.Hour + time.Minute), Updates: []*structs.AllocUpdate{{AllocID: "14.1", Client: structs.ClientStatusFields{
			Status: structs.AllocFailed, ExitCode: &exit1, ExitReason: structs.ExitExited,
			StartTime: t0.Add(107*time.Hour + 2*time.Second), EndTime: t0.Add(107*time.Hour + time.Minute),
			Metrics: map[string]float64{"step": 3, "acc": 0.2}, NonFinite: diverged("Infinity"), MetricsSkipped: 2, MetricsCounted: true,
		}}}}},
	}...)

	// Format 8: a gang of two (job 15) whose ranks write different
	// outputs and logs; rank 1 reports last, and the job (and its model
	// version) keeps rank 0's, while rank 1's stay with its allocation.
	gang := goldenJob("gang", 1)
	gang.Resources.Nodes = 2
	gang.Output = &structs.OutputSpec{Model: "gang"}
	rankEnd := func(r string) structs.ClientStatusFields {
		return structs.ClientStatusFields{
			Status: structs.AllocComplete, ExitCode: &exit0, ExitReason: structs.ExitExited,
			StartTime: t0.Add(108*time.Hour + 2*time.Second), EndTime: t0.Add(108*time.Hour + time.Minute),
			OutputDigest: strings.Repeat(r+"1", 32), OutputSize: 10, OutputFiles: 1, MetricsDigest: strings.Repeat(r+"2", 32),
			StdoutDigest: strings.Repeat(r+"3", 32), StderrDigest: strings.Repeat(r+"4", 32),
		}
	}
	// Also format 8: a script with arguments (sbatch job.sh cfg.yaml), job
	// 16.
	withArgs := goldenJob("args", 0)
	withArgs.Task = structs.Task{Script: "#!/bin/bash\necho \"config $1\"\n", Args: []string{"cfg.yaml"}}
	h = append(h, []struct {
		t   MessageType
		req any
	}{
		{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n7"), Now: t0.Add(108 * time.Hour)}},
		{NodeRegister, &structs.NodeRegisterRequest{Node: goldenNode("n8"), Now: t0.Add(108 * time.Hour)}},
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(108 * time.Hour), Jobs: []*structs.Job{gang}}},
		{PlanApply, &structs.PlanApplyRequest{Now: t0.Add(108*time.Hour + time.Second), Allocs: []*structs.Allocation{
			{ID: "15.1", JobID: "15", NodeID: "n7", GPUs: []int{0}, Attempt: 1, Rank: 0, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(108*time.Hour + time.Second)},
			{ID: "15.1.1", JobID: "15", NodeID: "n8", GPUs: []int{0}, Attempt: 1, Rank: 1, DesiredStatus: structs.DesiredRun, CreateTime: t0.Add(108*time.Hour + time.Second)},
		}}},
		{AllocUpdate, &structs.AllocUpdateRequest{NodeID: "n7", Now: t0.Add(108*time.Hour + time.Minute), RankZeroOutputs: true,
			Updates: []*structs.AllocUpdate{{AllocID: "15.1", Client: rankEnd("a")}}}},
		{AllocUpdates, &structs.AllocUpdatesRequest{Requests: []*structs.AllocUpdateRequest{
			{NodeID: "n8", Now: t0.Add(108*time.Hour + 2*time.Minute), RankZeroOutputs: true,
				Updates: []*structs.AllocUpdate{{AllocID: "15.1.1", Client: rankEnd("b")}}},
		}}},
		{JobRegister, &structs.JobRegisterRequest{Now: t0.Add(109 * time.Hour), Jobs: []*structs.Job{withArgs}}},
		// Also format 8: an operator's drain and "not eligible", which
		// take over a failed hook's drain reason.
		{NodeDrain, &structs.NodeDrainRequest{NodeID: "n8", Drain: true, Deadline: t0.Add(110 * time.Hour), Now: t0.Add(109 * time.Hour), ByOperator: true}},
		{NodeEligibility, &structs.NodeEligibilityRequest{NodeID: "n7", Eligible: false, Now: t0.Add(109 * time.Hour), ByOperator: true}},
	}...)
	return h
}

var goldenName = regexp.MustCompile(`^(\d{3})-([A-Za-z]+)\.v(\d+)\.json$`)

func TestGoldenEntries(t *testing.T) {
	h := history()
	used := map[MessageType]bool{}
	for _, e := range h {
		used[e.t] = true
	}
	for mt, c := range commands {
		if !used[mt] {
			t.Errorf("command %s (%d) has no entry in history(): add one so its encoding is pinned", c.name, mt)
		}
	}
	if *update {
		writeGolden(t, h)
	}

	// Today's encoding of each entry must be the golden one of the
	// current version.
	for i, e := range h {
		c := commands[e.t]
		name := fmt.Sprintf("%03d-%s.v%d.json", i+1, c.name, c.version)
		want, err := os.ReadFile(filepath.Join(goldenDir, name))
		if err != nil {
			t.Errorf("entry %d: %v (run go test ./fsm -run TestGoldenEntries -update)", i+1, err)
			continue
		}
		data, err := Encode(e.t, e.req)
		if err != nil {
			t.Fatal(err)
		}
		if got := data[2:]; !bytes.Equal(bytes.TrimSpace(want), got) {
			t.Errorf("%s: the encoding changed, so logs written by older servers would read differently (-golden +now):\n%s",
				name, cmp.Diff(string(bytes.TrimSpace(want)), string(got)))
		}
	}

	// Every golden entry, replayed in order, must leave the golden state.
	// An entry kept at several versions (NNN-Name.v1.json beside
	// NNN-Name.v2.json) must decode to the same request at each: old
	// logs then replay exactly as new ones.
	files, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]MessageType{}
	for mt, c := range commands {
		byName[c.name] = mt
	}
	type version struct {
		file string
		v    int
		body []byte
	}
	groups := map[int][]version{}
	var nums []int
	kinds := map[int]MessageType{}
	for _, fi := range files {
		m := goldenName.FindStringSubmatch(fi.Name())
		if m == nil {
			continue
		}
		mt, ok := byName[m[2]]
		if !ok {
			t.Errorf("%s names command %s, which no longer exists: a log holding it could not be replayed", fi.Name(), m[2])
			continue
		}
		n, _ := strconv.Atoi(m[1])
		v, _ := strconv.Atoi(m[3])
		body, err := os.ReadFile(filepath.Join(goldenDir, fi.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, seen := groups[n]; !seen {
			nums = append(nums, n)
		}
		kinds[n] = mt
		groups[n] = append(groups[n], version{fi.Name(), v, bytes.TrimSpace(body)})
	}
	slices.Sort(nums)
	for i, n := range nums {
		mt, vs := kinds[n], groups[n]
		c := commands[mt]
		slices.SortFunc(vs, func(a, b version) int { return b.v - a.v }) // newest first
		var first any
		for _, ver := range vs {
			dec, ok := c.decoders[uint8(ver.v)]
			if !ok {
				t.Errorf("%s: %s has no decoder for version %d: logs holding it could not be replayed", ver.file, c.name, ver.v)
				continue
			}
			req, err := dec(ver.body)
			if err != nil {
				t.Errorf("%s: %v", ver.file, err)
				continue
			}
			if first == nil {
				first = req
			} else if d := cmp.Diff(first, req, cmpopts.IgnoreUnexported(structs.SweepSpec{})); d != "" {
				t.Errorf("%s decodes differently from %s (-newer +older):\n%s", ver.file, vs[0].file, d)
			}
		}
		data := append([]byte{byte(mt), byte(vs[0].v)}, vs[0].body...)
		resp := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data})
		if err, ok := resp.(error); ok {
			t.Errorf("%s: %v", vs[0].file, err)
		}
	}
	var got bytes.Buffer
	if err := f.State().Persist(&got); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(goldenDir, "state.golden")
	if *update {
		if err := os.WriteFile(statePath, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")); d != "" {
		t.Errorf("replaying the golden entries left a different state (-golden +now):\n%s", d)
	}
}

func writeGolden(t *testing.T, h []struct {
	t   MessageType
	req any
}) {
	t.Helper()
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Entries of older versions stay: they prove old logs still replay.
	// Entries of the current version are rewritten.
	old, _ := os.ReadDir(goldenDir)
	for _, fi := range old {
		m := goldenName.FindStringSubmatch(fi.Name())
		if m == nil {
			continue
		}
		for _, c := range commands {
			if c.name == m[2] && m[3] == strconv.Itoa(int(c.version)) {
				os.Remove(filepath.Join(goldenDir, fi.Name()))
			}
		}
	}
	for i, e := range h {
		c := commands[e.t]
		data, err := Encode(e.t, e.req)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%03d-%s.v%d.json", i+1, c.name, c.version)
		if err := os.WriteFile(filepath.Join(goldenDir, name), append(data[2:], '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestoreSnapshotV1 restores a snapshot written by a server of the
// first snapshot format (the golden history's state, before snapshots
// walked the schema): it must hold the same rows, persisted today
// (testdata/snapshot_v1.restored, first written from the golden state of
// that history).
func TestRestoreSnapshotV1(t *testing.T) {
	old, err := os.ReadFile("testdata/snapshot_v1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(io.NopCloser(bytes.NewReader(old))); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := f.State().Persist(&got); err != nil {
		t.Fatal(err)
	}
	const restored = "testdata/snapshot_v1.restored"
	if *update {
		if err := os.WriteFile(restored, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(restored)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")); d != "" {
		t.Errorf("a version 1 snapshot restores to a different state (-golden +now):\n%s", d)
	}
}
