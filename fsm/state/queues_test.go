package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func (f *fixture) queue(q *structs.Queue) {
	f.t.Helper()
	if err := f.s.UpsertQueue(f.next(), &structs.QueueUpsertRequest{Queue: q}); err != nil {
		f.t.Fatalf("upsert queue: %v", err)
	}
}

func TestQueueUpsertDelete(t *testing.T) {
	f := newFixture(t)
	f.queue(&structs.Queue{Name: "gpu-long", MaxTimeLimit: structs.Duration(72 * time.Hour)})
	created := f.index
	f.queue(&structs.Queue{Name: "gpu-long", MaxTimeLimit: structs.Duration(48 * time.Hour), AllowedGroups: []string{"ml"}})
	f.queue(&structs.Queue{Name: "debug", MaxGPUsPerJob: 1})

	qs, err := f.s.Snapshot().Queues(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []*structs.Queue{
		{Name: "debug", MaxGPUsPerJob: 1, CreateIndex: 3, ModifyIndex: 3},
		{Name: "gpu-long", MaxTimeLimit: structs.Duration(48 * time.Hour), AllowedGroups: []string{"ml"}, CreateIndex: created, ModifyIndex: 2},
	}
	if diff := cmp.Diff(want, qs); diff != "" {
		t.Errorf("queues (-want +got):\n%s", diff)
	}
	if got := f.s.Snapshot().TableIndex(TableQueues); got != 3 {
		t.Errorf("queues table index %d, want 3", got)
	}

	if err := f.s.DeleteQueue(f.next(), &structs.QueueDeleteRequest{Name: "debug"}); err != nil {
		t.Fatal(err)
	}
	if q, _ := f.s.Snapshot().QueueByName(nil, "debug"); q != nil {
		t.Errorf("debug queue still there: %+v", q)
	}
	err = f.s.DeleteQueue(f.next(), &structs.QueueDeleteRequest{Name: "debug"})
	if !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("deleting a missing queue: %v, want not found", err)
	}
}

func TestQueueUpsertRefusesInvalid(t *testing.T) {
	tests := []struct {
		name string
		q    *structs.Queue
		want string
	}{
		{"bad name", &structs.Queue{Name: "gpu long"}, "queue name"},
		{"negative max time", &structs.Queue{Name: "q", MaxTimeLimit: -1}, "max_time_limit"},
		{"default over max", &structs.Queue{Name: "q", MaxTimeLimit: structs.Duration(time.Hour), DefaultTimeLimit: structs.Duration(2 * time.Hour)}, "longer than max_time_limit"},
		{"negative gpus", &structs.Queue{Name: "q", MaxGPUsPerJob: -2}, "max_gpus_per_job"},
		{"bad group", &structs.Queue{Name: "q", AllowedGroups: []string{""}}, "allowed_groups"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			err := f.s.UpsertQueue(f.next(), &structs.QueueUpsertRequest{Queue: tc.q})
			if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want invalid mentioning %q", err, tc.want)
			}
			if qs, _ := f.s.Snapshot().Queues(nil); len(qs) != 0 {
				t.Errorf("a refused queue was stored: %+v", qs)
			}
		})
	}
}

func TestRegisterJobsChecksQueue(t *testing.T) {
	inQueue := func(q string, limit time.Duration, gpus int, group string) *structs.Job {
		j := newJob("train").GPUs(gpus).Build()
		j.Queue, j.TimeLimit, j.Group = q, structs.Duration(limit), group
		return j
	}
	tests := []struct {
		name      string
		job       *structs.Job
		wantErr   string
		wantLimit time.Duration
	}{
		{"default queue exists implicitly", inQueue("", 0, 1, ""), "", 0},
		{"unknown queue", inQueue("nope", 0, 1, ""), `queue "nope" does not exist`, 0},
		{"queue default time limit applies", inQueue("gpu-long", 0, 1, "ml"), "", 24 * time.Hour},
		{"own limit kept", inQueue("gpu-long", time.Hour, 1, "ml"), "", time.Hour},
		{"over max time", inQueue("gpu-long", 100*time.Hour, 1, "ml"), "exceeds queue gpu-long's max_time_limit of 72h0m0s", 0},
		{"over max gpus", inQueue("gpu-long", time.Hour, 9, "ml"), "allows at most 8 per job", 0},
		{"group not allowed", inQueue("gpu-long", time.Hour, 1, "vision"), `group "vision" may not use queue gpu-long`, 0},
		{"max time without default", inQueue("short", 0, 1, ""), "", 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.queue(&structs.Queue{Name: "gpu-long", DefaultTimeLimit: structs.Duration(24 * time.Hour), MaxTimeLimit: structs.Duration(72 * time.Hour), MaxGPUsPerJob: 8, AllowedGroups: []string{"ml"}})
			f.queue(&structs.Queue{Name: "short", MaxTimeLimit: structs.Duration(2 * time.Hour)})
			resp, err := f.s.RegisterJobs(f.next(), &structs.JobRegisterRequest{Jobs: []*structs.Job{tc.job}, Now: t0})
			if tc.wantErr != "" {
				if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want invalid mentioning %q", err, tc.wantErr)
				}
				if jobs, _ := f.s.Snapshot().Jobs(nil); len(jobs) != 0 {
					t.Errorf("a refused job was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.job(resp.JobIDs[0]).TimeLimit.D(); got != tc.wantLimit {
				t.Errorf("time limit %s, want %s", got, tc.wantLimit)
			}
		})
	}
}

func TestSharesAndQuotas(t *testing.T) {
	f := newFixture(t)
	for _, sh := range []*structs.Share{
		{Kind: structs.AccountUser, Name: "alice", Shares: 2},
		{Kind: structs.AccountGroup, Name: "alice", Shares: 5}, // a group may share a user's name
		{Kind: structs.AccountUser, Name: "alice", Shares: 3},
	} {
		if err := f.s.UpsertShare(f.next(), &structs.ShareUpsertRequest{Share: sh}); err != nil {
			t.Fatal(err)
		}
	}
	shares, err := f.s.Snapshot().Shares(nil)
	if err != nil {
		t.Fatal(err)
	}
	wantShares := []*structs.Share{
		{Kind: structs.AccountGroup, Name: "alice", Shares: 5, CreateIndex: 2, ModifyIndex: 2},
		{Kind: structs.AccountUser, Name: "alice", Shares: 3, CreateIndex: 1, ModifyIndex: 3},
	}
	if diff := cmp.Diff(wantShares, shares); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
	if err := f.s.UpsertShare(f.next(), &structs.ShareUpsertRequest{Share: &structs.Share{Kind: "team", Name: "x", Shares: 1}}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("bad kind: %v, want invalid", err)
	}
	if err := f.s.UpsertShare(f.next(), &structs.ShareUpsertRequest{Share: &structs.Share{Kind: structs.AccountUser, Name: "bob", Shares: -1}}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("negative shares: %v, want invalid", err)
	}
	if err := f.s.DeleteShare(f.next(), &structs.AccountDeleteRequest{Kind: structs.AccountGroup, Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteShare(f.next(), &structs.AccountDeleteRequest{Kind: structs.AccountGroup, Name: "alice"}); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("second delete: %v, want not found", err)
	}

	q := &structs.AccountQuota{Kind: structs.AccountGroup, Name: "ml", Quota: structs.Quota{MaxGPUs: 8, MaxPending: 20}}
	if err := f.s.UpsertQuota(f.next(), &structs.QuotaUpsertRequest{Quota: q}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.UpsertQuota(f.next(), &structs.QuotaUpsertRequest{Quota: &structs.AccountQuota{Kind: structs.AccountUser, Name: "bob", Quota: structs.Quota{MaxGPUs: -1}}}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("negative quota: %v, want invalid", err)
	}
	quotas, _ := f.s.Snapshot().Quotas(nil)
	if len(quotas) != 1 || quotas[0].MaxGPUs != 8 || quotas[0].MaxPending != 20 {
		t.Errorf("quotas %+v", quotas)
	}
	if err := f.s.DeleteQuota(f.next(), &structs.AccountDeleteRequest{Kind: structs.AccountGroup, Name: "ml"}); err != nil {
		t.Fatal(err)
	}
	if quotas, _ := f.s.Snapshot().Quotas(nil); len(quotas) != 0 {
		t.Errorf("quota left after delete: %+v", quotas)
	}
}

func TestPolicyTablesSurviveSnapshot(t *testing.T) {
	f := newFixture(t)
	f.queue(&structs.Queue{Name: "gpu-long", MaxTimeLimit: structs.Duration(72 * time.Hour), Nodes: []string{"n1"}})
	if err := f.s.UpsertShare(f.next(), &structs.ShareUpsertRequest{Share: &structs.Share{Kind: structs.AccountUser, Name: "alice", Shares: 2.5}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.UpsertQuota(f.next(), &structs.QuotaUpsertRequest{Quota: &structs.AccountQuota{Kind: structs.AccountUser, Name: "alice", Quota: structs.Quota{MaxGPUs: 4}}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.s.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	dump := func(s *Store) []any {
		sn := s.Snapshot()
		qs, _ := sn.Queues(nil)
		sh, _ := sn.Shares(nil)
		qu, _ := sn.Quotas(nil)
		return []any{qs, sh, qu, sn.TableIndex(TableQueues), sn.TableIndex(TableShares), sn.TableIndex(TableQuotas)}
	}
	if diff := cmp.Diff(dump(f.s), dump(restored)); diff != "" {
		t.Errorf("restored policy differs (-orig +restored):\n%s", diff)
	}
	// The restored store enforces the restored queue.
	j := newJob("long").Build()
	j.Queue, j.TimeLimit = "gpu-long", structs.Duration(100*time.Hour)
	if _, err := restored.RegisterJobs(10, &structs.JobRegisterRequest{Jobs: []*structs.Job{j}, Now: t0}); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("restored store accepted a job over the queue's limit: %v", err)
	}
}

func TestSnapshotAdmitJob(t *testing.T) {
	f := newFixture(t)
	f.queue(&structs.Queue{Name: "short", MaxTimeLimit: structs.Duration(time.Hour)})
	j := newJob("a").Build()
	j.Queue = "short"
	if err := f.s.Snapshot().AdmitJob(j); err != nil || j.TimeLimit.D() != time.Hour {
		t.Errorf("admit: %v, time limit %s; want nil and the queue's 1h", err, j.TimeLimit)
	}
	j.Queue = "long"
	if err := f.s.Snapshot().AdmitJob(j); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("unknown queue: %v, want invalid", err)
	}
}
