package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/snapshot"
	"github.com/nai-project/nai/structs"
)

func saveSnapshot(t *testing.T, c *api.Client) []byte {
	t.Helper()
	rc, err := c.Snapshot(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jobsOf lists a server's jobs as the API shows them, without the raft
// indexes (which move on after a restore).
func jobsOf(t *testing.T, c *api.Client) []string {
	t.Helper()
	jobs, err := c.Jobs(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID+" "+j.Name+" "+string(j.Status)+" "+j.User)
	}
	return out
}

// rewrite rebuilds an archive with its meta changed (and good checksums).
func rewrite(t *testing.T, archive []byte, change func(*structs.SnapshotMeta), state []byte) []byte {
	t.Helper()
	var st bytes.Buffer
	meta, err := snapshot.Read(bytes.NewReader(archive), &st)
	if err != nil {
		t.Fatal(err)
	}
	if state == nil {
		state = st.Bytes()
	}
	change(meta)
	meta.Size = int64(len(state))
	var out bytes.Buffer
	if err := snapshot.Write(&out, meta, bytes.NewReader(state)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Save on one server, restore on a fresh one: the same jobs and queues,
// and the restored server goes on numbering jobs where the first left off.
func TestSnapshotSaveRestore(t *testing.T) {
	ctx := context.Background()
	_, a := testServer(t, t.TempDir())
	if err := a.RegisterNode(ctx, testNode("n1", 2), ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "two", "three"} {
		if _, err := a.Register(ctx, gpuJob(name, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.ApplyQueue(ctx, &structs.Queue{Name: "long", Priority: 5}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a job runs", func() bool { j, _, _ := a.Job(ctx, "1"); return j.Status == structs.JobRunning })
	archive := saveSnapshot(t, a)
	meta, err := snapshot.Read(bytes.NewReader(archive), io.Discard)
	if err != nil {
		t.Fatalf("the saved snapshot does not check: %v", err)
	}
	if meta.Index == 0 || meta.Server != "test" || meta.ClusterID != "" || meta.Format != structs.SnapshotFormat {
		t.Errorf("meta = %+v", meta)
	}

	_, b := testServer(t, t.TempDir())
	beforeRestore := time.Now().UTC()
	if _, err := b.Register(ctx, gpuJob("replaced", 1)); err != nil {
		t.Fatal(err)
	}
	submittedOnB := func(events []*structs.AuditEvent) bool {
		for _, e := range events {
			if e.Path == "/v1/jobs" && !e.Time.Before(beforeRestore) {
				return true
			}
		}
		return false
	}
	waitUntil(t, "b's submission is audited", func() bool {
		events, err := b.Audit(ctx, api.AuditFilter{})
		return err == nil && submittedOnB(events)
	})
	res, err := b.RestoreSnapshot(ctx, bytes.NewReader(archive), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Forced || res.Meta.Index != meta.Index || res.Index <= meta.Index {
		t.Errorf("restored = %+v", res)
	}
	if d := cmp.Diff(jobsOf(t, a), jobsOf(t, b)); d != "" {
		t.Errorf("jobs after the restore (-saved +restored):\n%s", d)
	}
	qa, _ := a.Queues(ctx)
	qb, _ := b.Queues(ctx)
	if d := cmp.Diff(qa, qb); d != "" {
		t.Errorf("queues after the restore (-saved +restored):\n%s", d)
	}
	// The audit log is the snapshot's: b's own submission before the
	// restore is gone, and the restore's event names the snapshot's
	// index and time.
	var restoreEvent *structs.AuditEvent
	waitUntil(t, "the restore is audited", func() bool {
		events, err := b.Audit(ctx, api.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Path == "/v1/operator/snapshot" && e.Method == "PUT" {
				restoreEvent = e
			}
		}
		if restoreEvent != nil && submittedOnB(events) {
			t.Fatalf("b's submission before the restore is still in its audit log")
		}
		return restoreEvent != nil
	})
	if want := fmt.Sprintf("(index %d, taken %s on test;", meta.Index, meta.CreateTime.UTC().Format(time.RFC3339)); !strings.Contains(restoreEvent.Object, want) {
		t.Errorf("the restore's audit event names %q, want %q in it", restoreEvent.Object, want)
	}
	resp, err := b.Register(ctx, gpuJob("next", 1))
	if err != nil {
		t.Fatal(err)
	}
	if resp.JobIDs[0] != "4" {
		t.Errorf("the next job after the restore is %s, want 4", resp.JobIDs[0])
	}
}

// Bad snapshots are refused and change nothing; one of another cluster
// needs force.
func TestSnapshotRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	_, a := testServer(t, t.TempDir())
	if _, err := a.Register(ctx, gpuJob("saved", 1)); err != nil {
		t.Fatal(err)
	}
	good := saveSnapshot(t, a)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0x40
	otherCluster := rewrite(t, good, func(m *structs.SnapshotMeta) { m.ClusterID = "0123456789abcdef" }, nil)
	unreadable := rewrite(t, good, func(*structs.SnapshotMeta) {}, []byte("{\"type\":\"header\",\"version\":2}\n{\"type\":\"row\",\"table\":\"jobs\",\"row\":{\"id\":1}}\n"))

	_, b := testServer(t, t.TempDir())
	if _, err := b.Register(ctx, gpuJob("kept", 1)); err != nil {
		t.Fatal(err)
	}
	before := jobsOf(t, b)
	for _, tc := range []struct {
		name    string
		archive []byte
		code    structs.ErrorCode
		want    string
	}{
		{"truncated", good[:len(good)/2], structs.CodeInvalid, "truncated"},
		{"empty", nil, structs.CodeInvalid, "not a gzip stream"},
		{"corrupt", corrupt, structs.CodeInvalid, "restore refused, nothing changed"},
		{"another cluster", otherCluster, structs.CodeConflict, "-force"},
		{"checksums fine, state unreadable", unreadable, structs.CodeInvalid, "state cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.RestoreSnapshot(ctx, bytes.NewReader(tc.archive), false)
			if structs.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (%s), want %s saying %q", err, structs.CodeOf(err), tc.code, tc.want)
			}
			if d := cmp.Diff(before, jobsOf(t, b)); d != "" {
				t.Errorf("a refused restore changed the jobs:\n%s", d)
			}
		})
	}
	res, err := b.RestoreSnapshot(ctx, bytes.NewReader(otherCluster), true)
	if err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if !res.Forced {
		t.Error("a restore of another cluster's snapshot is not marked forced")
	}
	if d := cmp.Diff(jobsOf(t, a), jobsOf(t, b)); d != "" {
		t.Errorf("jobs after the forced restore (-saved +restored):\n%s", d)
	}
}

// A snapshot holds every token's hash and the servers' secret: only a
// management token saves or restores one. Tokens made after the snapshot
// stop working when it is restored.
func TestSnapshotNeedsManagement(t *testing.T) {
	ctx := context.Background()
	_, anon := testServer(t, t.TempDir(), func(c *Config) { c.ACL.Enabled = true })
	boot, err := anon.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mgmt := anon.WithToken(boot.SecretID)
	op, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{Name: "ops", Policies: []string{structs.PolicyOperator}})
	if err != nil {
		t.Fatal(err)
	}
	oper := anon.WithToken(op.SecretID)
	archive := saveSnapshot(t, mgmt)
	later, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{Name: "later", Policies: []string{structs.PolicyOperator}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    *api.Client
		code structs.ErrorCode
	}{
		{"anonymous", anon, structs.CodeUnauthorized},
		{"operator", oper, structs.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.c.Snapshot(ctx, false); structs.CodeOf(err) != tc.code {
				t.Errorf("save: err = %v, want %s", err, tc.code)
			}
			if _, err := tc.c.RestoreSnapshot(ctx, bytes.NewReader(archive), false); structs.CodeOf(err) != tc.code {
				t.Errorf("restore: err = %v, want %s", err, tc.code)
			}
		})
	}
	if _, err := mgmt.RestoreSnapshot(ctx, bytes.NewReader(archive), false); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.WithToken(later.SecretID).TokenSelf(ctx); structs.CodeOf(err) != structs.CodeUnauthorized {
		t.Errorf("a token made after the snapshot still works after the restore: %v", err)
	}
	if _, err := oper.TokenSelf(ctx); err != nil {
		t.Errorf("a token of the snapshot does not work after the restore: %v", err)
	}
}

// In a cluster the restore goes through the leader (any server forwards
// it) and every server ends with the snapshot's state.
func TestSnapshotRestoreCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three raft servers")
	}
	ctx := context.Background()
	a := startMember(t, "a", 3, livenessGrace, "")
	b := startMember(t, "b", 3, livenessGrace, a.m.Addr())
	c := startMember(t, "c", 3, livenessGrace, a.m.Addr())
	all := []*member{a, b, c}
	waitLong(t, "a leader is elected", func() bool { return leaderOf(all) != nil })
	waitLong(t, "every server has the cluster id", func() bool {
		for _, m := range all {
			if m.srv.clusterID() == "" {
				return false
			}
		}
		return true
	})
	if _, err := b.api.Register(ctx, gpuJob("kept", 1)); err != nil {
		t.Fatal(err)
	}
	archive := saveSnapshot(t, c.api)
	meta, err := snapshot.Read(bytes.NewReader(archive), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if meta.ClusterID != a.srv.clusterID() {
		t.Errorf("the snapshot names cluster %q, want %q", meta.ClusterID, a.srv.clusterID())
	}
	want := jobsOf(t, a.api)
	if _, err := b.api.Register(ctx, gpuJob("undone", 1)); err != nil {
		t.Fatal(err)
	}
	var follower *member
	for _, m := range all {
		if !m.srv.IsLeader() {
			follower = m
		}
	}
	if _, err := follower.api.RestoreSnapshot(ctx, bytes.NewReader(archive), false); err != nil {
		t.Fatalf("restore through a follower: %v", err)
	}
	for _, m := range all {
		waitLong(t, m.name+" holds the snapshot's jobs", func() bool {
			jobs, err := m.srv.State().Snapshot().Jobs(nil)
			if err != nil || len(jobs) != len(want) {
				return false
			}
			return jobs[0].Name == "kept"
		})
	}
	// The cluster goes on: a write after the restore reaches every server.
	if _, err := c.api.Register(ctx, gpuJob("after", 1)); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		waitLong(t, m.name+" applies a write after the restore", func() bool {
			jobs, _ := m.srv.State().Snapshot().Jobs(nil)
			return len(jobs) == 2
		})
	}
}
