package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

func TestQueueAPI(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()

	qs, err := c.Queues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]structs.Queue{{Name: "default"}}, qs); diff != "" {
		t.Errorf("queues of a new cluster (-want +got):\n%s", diff)
	}
	long := &structs.Queue{Name: "gpu-long", MaxTimeLimit: structs.Duration(72 * time.Hour), DefaultTimeLimit: structs.Duration(24 * time.Hour), AllowedGroups: []string{"ml"}}
	if _, err := c.ApplyQueue(ctx, long); err != nil {
		t.Fatal(err)
	}
	got, err := c.QueueInfo(ctx, "gpu-long")
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxTimeLimit != long.MaxTimeLimit || got.CreateIndex == 0 {
		t.Errorf("queue %+v", got)
	}
	if qs, _ := c.Queues(ctx); len(qs) != 2 || qs[0].Name != "default" || qs[1].Name != "gpu-long" {
		t.Errorf("queues %+v, want default and gpu-long", qs)
	}

	job := func(queue string, limit time.Duration, group string) *structs.Job {
		j := gpuJob("train", 1)
		j.Queue, j.TimeLimit, j.Group = queue, structs.Duration(limit), group
		return j
	}
	refused := []struct {
		name string
		job  *structs.Job
		want string
	}{
		{"unknown queue", job("nope", 0, "ml"), `queue "nope" does not exist`},
		{"over max time", job("gpu-long", 100*time.Hour, "ml"), "exceeds queue gpu-long's max_time_limit of 72h0m0s"},
		{"group not allowed", job("gpu-long", time.Hour, "vision"), `group "vision" may not use queue gpu-long`},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Register(ctx, tc.job)
			if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("register: %v, want invalid mentioning %q", err, tc.want)
			}
		})
	}
	resp, err := c.Register(ctx, job("gpu-long", 0, "ml"))
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := c.Job(ctx, resp.JobIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if j.TimeLimit.D() != 24*time.Hour {
		t.Errorf("time limit %s, want the queue's default 24h", j.TimeLimit)
	}

	badInput := []struct {
		name string
		q    *structs.Queue
		want string
	}{
		{"invalid limit", &structs.Queue{Name: "x", MaxTimeLimit: -1}, "max_time_limit"},
		{"bad name", &structs.Queue{Name: "a b"}, ""},
	}
	for _, tc := range badInput {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.ApplyQueue(ctx, tc.q); !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("apply: %v, want invalid mentioning %q", err, tc.want)
			}
		})
	}

	if _, err := c.DeleteQueue(ctx, "gpu-long"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.QueueInfo(ctx, "gpu-long"); !api.IsNotFound(err) {
		t.Errorf("deleted queue: %v, want not found", err)
	}
	if _, err := c.DeleteQueue(ctx, "gpu-long"); !api.IsNotFound(err) {
		t.Errorf("second delete: %v, want not found", err)
	}
	// The job left in the deleted queue waits with a reason.
	waitUntil(t, "the job in the deleted queue waits for its queue", func() bool {
		j, _, _ := c.Job(ctx, resp.JobIDs[0])
		return strings.Contains(j.Reason, `queue "gpu-long" does not exist`)
	})
}

// startedAgo registers a job, waits until it is placed, and has the client
// report it running since d ago, so it has fair-share usage.
func startedAgo(t *testing.T, c *api.Client, j *structs.Job, node string, d time.Duration) string {
	t.Helper()
	ctx := context.Background()
	resp, err := c.Register(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	var allocID string
	waitUntil(t, "job "+id+" is placed", func() bool {
		j, _, _ := c.Job(ctx, id)
		allocID = j.AllocID
		return j.Status == structs.JobRunning
	})
	err = c.UpdateAllocs(ctx, node, []*structs.AllocUpdate{{AllocID: allocID, Client: structs.ClientStatusFields{
		Status: structs.AllocRunning, StartTime: time.Now().Add(-d)}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// multifactor configures the test server as `nai agent` does.
func multifactor(c *Config) { c.Scheduler = scheduler.DefaultConfig() }

func TestFairShareAPI(t *testing.T) {
	_, alice := testServer(t, t.TempDir(), multifactor)
	ctx := context.Background()
	bob := alice
	if _, err := alice.SetShare(ctx, &structs.Share{Kind: structs.AccountUser, Name: "alice", Shares: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SetShare(ctx, &structs.Share{Kind: "team", Name: "x", Shares: 2}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("bad kind: %v, want invalid", err)
	}
	if err := alice.RegisterNode(ctx, testNode("n1", 4), ""); err != nil {
		t.Fatal(err)
	}
	// alice has used 4 GPUs for two hours; the node is full.
	startedAgo(t, alice, gpuJob("big", 4), "n1", 2*time.Hour)
	a, err := alice.Register(ctx, gpuJob("a", 1))
	if err != nil {
		t.Fatal(err)
	}
	bj := gpuJob("b", 1)
	bj.User = "bob"
	b, err := bob.Register(ctx, bj)
	if err != nil {
		t.Fatal(err)
	}

	var rows []structs.ShareInfo
	waitUntil(t, "the share report shows alice's usage", func() bool {
		rows, err = alice.ShareReport(ctx)
		return err == nil && len(rows) == 2 && rows[0].Usage > 7
	})
	al, bo := rows[0], rows[1]
	if al.Name != "alice" || bo.Name != "bob" || al.Shares != 2 || bo.Shares != 1 {
		t.Fatalf("rows %+v", rows)
	}
	if al.EffectiveUsage != 1 || bo.Usage != 0 || al.FairShare >= bo.FairShare || bo.FairShare != 1 {
		t.Errorf("alice %+v, bob %+v: alice used everything and should rank below bob", al, bo)
	}

	// bob's job goes first although alice submitted earlier.
	factors, err := alice.QueuePriority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(factors) != 2 || factors[0].JobID != b.JobIDs[0] || factors[1].JobID != a.JobIDs[0] {
		t.Fatalf("queue order by factors %+v, want bob's job %s first", factors, b.JobIDs[0])
	}
	f, err := alice.JobPriority(ctx, a.JobIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Age and so the sum move with the clock between the two reads.
	if diff := cmp.Diff(factors[1], *f, cmpopts.IgnoreFields(structs.PriorityFactors{}, "Age", "Priority")); diff != "" {
		t.Errorf("job priority differs from the queue's factors (-queue +job):\n%s", diff)
	}
	if f.FairShare >= factors[0].FairShare || f.Weights.FairShare == 0 {
		t.Errorf("alice's fair-share factor %v, bob's %v", f.FairShare, factors[0].FairShare)
	}
	if _, err := alice.JobPriority(ctx, "1"); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("priority of a running job: %v, want conflict", err)
	}
	if _, err := alice.JobPriority(ctx, "99"); !api.IsNotFound(err) {
		t.Errorf("priority of a missing job: %v, want not found", err)
	}

	if _, err := alice.DeleteShare(ctx, structs.AccountUser, "alice"); err != nil {
		t.Fatal(err)
	}
	if shares, _ := alice.Shares(ctx); len(shares) != 0 {
		t.Errorf("shares after delete: %+v", shares)
	}
}

func TestQuotaAPI(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 8), ""); err != nil {
		t.Fatal(err)
	}
	q := &structs.AccountQuota{Kind: structs.AccountUser, Name: "alice", Quota: structs.Quota{MaxGPUs: 2}}
	if _, err := c.SetQuota(ctx, q); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetQuota(ctx, &structs.AccountQuota{Kind: structs.AccountUser, Name: "alice", Quota: structs.Quota{MaxPending: -1}}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("negative quota: %v, want invalid", err)
	}
	resp, err := c.Register(ctx, gpuJob("big", 4))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the job waits for alice's quota", func() bool {
		j, _, _ := c.Job(ctx, resp.JobIDs[0])
		return strings.HasPrefix(j.Reason, "QuotaExceeded: user alice uses 0 of 2 GPUs")
	})
	if qs, _ := c.Quotas(ctx); len(qs) != 1 || qs[0].MaxGPUs != 2 {
		t.Errorf("quotas %+v", qs)
	}
	// Lifting the quota lets it start.
	if _, err := c.DeleteQuota(ctx, structs.AccountUser, "alice"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the job starts once the quota is gone", func() bool {
		j, _, _ := c.Job(ctx, resp.JobIDs[0])
		return j.Status == structs.JobRunning
	})
}

// A job waiting behind a running job with a time limit gets an estimated
// start from the leader's plan.
func TestEstimatedStart(t *testing.T) {
	_, c := testServer(t, t.TempDir(), multifactor)
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 2), ""); err != nil {
		t.Fatal(err)
	}
	first := gpuJob("first", 2)
	first.TimeLimit = structs.Duration(time.Hour)
	startedAgo(t, c, first, "n1", 0)
	resp, err := c.Register(ctx, gpuJob("next", 2))
	if err != nil {
		t.Fatal(err)
	}
	var j *structs.Job
	waitUntil(t, "the waiting job has an estimated start", func() bool {
		j, _, _ = c.Job(ctx, resp.JobIDs[0])
		return !j.EstimatedStart.IsZero()
	})
	if d := time.Until(j.EstimatedStart); d < 58*time.Minute || d > 61*time.Minute {
		t.Errorf("estimated start in %s, want about an hour (the running job's limit)", d)
	}
	queue, err := c.Queue(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 2 || queue[1].ID != j.ID || queue[1].EstimatedStart.IsZero() {
		t.Errorf("queue %+v: want the waiting job second with its estimate", queue)
	}
}

func TestPolicyConfig(t *testing.T) {
	s, c := testServer(t, t.TempDir(), func(cfg *Config) {
		cfg.Scheduler = scheduler.DefaultConfig()
		cfg.Scheduler.FairShare.UserShares = map[string]float64{"carol": 5, "alice": 1}
		cfg.Scheduler.Queues = []structs.Queue{{Name: "configured"}}
	})
	ctx := context.Background()
	cfg, stored, err := s.policyConfig(s.State().Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if stored || len(cfg.Queues) != 1 || cfg.Queues[0].Name != "default" {
		t.Errorf("empty raft policy: stored %v, queues %+v; want only the default queue", stored, cfg.Queues)
	}
	if _, err := c.SetShare(ctx, &structs.Share{Kind: structs.AccountUser, Name: "alice", Shares: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetQuota(ctx, &structs.AccountQuota{Kind: structs.AccountGroup, Name: "ml", Quota: structs.Quota{MaxGPUs: 8}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyQueue(ctx, &structs.Queue{Name: "debug", PriorityTier: 1}); err != nil {
		t.Fatal(err)
	}
	cfg, stored, err = s.policyConfig(s.State().Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !stored {
		t.Fatal("stored policy not seen")
	}
	if diff := cmp.Diff(map[string]float64{"carol": 5, "alice": 2}, cfg.FairShare.UserShares); diff != "" {
		t.Errorf("user shares (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]structs.Quota{"ml": {MaxGPUs: 8}}, cfg.GroupQuotas); diff != "" {
		t.Errorf("group quotas (-want +got):\n%s", diff)
	}
	if len(cfg.Queues) != 2 || cfg.Queues[0].Name != "debug" || cfg.Queues[1].Name != "default" {
		t.Errorf("queues %+v, want debug and default", cfg.Queues)
	}
	// The configured maps were copied, not written.
	if s.cfg.Scheduler.FairShare.UserShares["alice"] != 1 {
		t.Errorf("the server's configuration was changed: %v", s.cfg.Scheduler.FairShare.UserShares)
	}
}
