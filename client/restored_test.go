package client

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// restoreAlloc makes the fake servers list an allocation that ended here
// as running again, as a snapshot taken while it ran does once restored.
func restoreAlloc(f *fakeServers, id string, change func(a *structs.Allocation)) {
	f.modify(id, func(a *structs.Allocation) {
		a.ClientStatus = structs.ClientStatusFields{Status: structs.AllocRunning, StartTime: time.Now()}
		if change != nil {
			change(a)
		}
	})
}

// lastTerminal returns the newest terminal report of an allocation
// received after the first skip reports.
func lastTerminal(f *fakeServers, id string, skip int) *structs.ClientStatusFields {
	reps := f.reports(id)
	for i := len(reps) - 1; i >= skip; i-- {
		if reps[i].Status.Terminal() {
			return &reps[i]
		}
	}
	return nil
}

// After a snapshot restore the servers list as running an allocation that
// this node ran and ended after the snapshot was taken. The node has its
// dir but no runner: it must report the allocation ended (lost, so that
// the job is retried as after a lost node), and end it as stopped when the
// servers want it stopped, not leave it "running" for ever. It runs the
// task no second time, and a new agent on the same data dir does the same.
func TestClientSettlesRestoredAllocation(t *testing.T) {
	tests := []struct {
		name       string
		change     func(a *structs.Allocation)
		wantStatus structs.AllocStatus
		wantReason structs.ExitReason
	}{
		{name: "listed running", wantStatus: structs.AllocLost, wantReason: structs.ExitNodeLost},
		{name: "cancelled", wantStatus: structs.AllocFailed, wantReason: structs.ExitCancelled, change: func(a *structs.Allocation) {
			a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitCancelled
		}},
		{name: "drained", wantStatus: structs.AllocFailed, wantReason: structs.ExitNodeDrained, change: func(a *structs.Allocation) {
			a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitNodeDrained
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			data := t.TempDir()
			c := newTestClient(t, f, data, testCgroups(t))
			stop := runClient(t, c)
			a := newAlloc(c, scriptJob("j-restored", `echo x >> "$NAI_CHECKPOINT_DIR/runs"; exit 3`))
			f.put(a)
			dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
			waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
			waitFor(t, 10*time.Second, "the reported mark", func() bool { return exists(dir.path(reportedFile)) })

			for round, agent := range []string{"the same agent", "a new agent"} {
				if round == 1 {
					stop()
					c = newTestClient(t, f, data, testCgroups(t))
					runClient(t, c)
				}
				skip := len(f.reports(a.ID))
				restoreAlloc(f, a.ID, tc.change)
				waitFor(t, terminalWait, agent+" to report the restored allocation ended", func() bool {
					return lastTerminal(f, a.ID, skip) != nil
				})
				st := lastTerminal(f, a.ID, skip)
				if st.Status != tc.wantStatus || st.ExitReason != tc.wantReason ||
					!strings.Contains(st.Message, "not running on this node") || !strings.Contains(st.Message, "exit code 3") {
					t.Errorf("%s: report %s/%s %q, want %s/%s saying it is not running here and how it ended",
						agent, st.Status, st.ExitReason, st.Message, tc.wantStatus, tc.wantReason)
				}
			}
			if runs := readFile(t, filepath.Join(data, "checkpoints", a.JobID, "runs")); runs != "x\n" {
				t.Errorf("the task ran %d times, want once", strings.Count(runs, "x"))
			}
		})
	}
}

// A restore rolls the job id counter back, so a new job gets the id (and
// its allocation the id) of one that ran here after the snapshot. The
// earlier allocation's dir must not keep the new one from starting: it is
// moved aside (kept for the operator), and the new one runs.
func TestClientStartsAllocationOfAReusedID(t *testing.T) {
	f := newFakeServers(t)
	data := t.TempDir()
	c := newTestClient(t, f, data, testCgroups(t))
	runClient(t, c)
	old := newAlloc(c, scriptJob("j14", `echo old`))
	f.put(old)
	oldDir := allocDir(filepath.Join(c.allocsDir(), old.ID))
	waitFor(t, terminalWait, "the earlier allocation to end", func() bool { return f.terminal(old.ID) })
	waitFor(t, 10*time.Second, "the reported mark", func() bool { return exists(oldDir.path(reportedFile)) })

	// The restored servers forget it, and place a new job 14 here.
	f.remove(old.ID)
	a := newAlloc(c, scriptJob("j14", `echo new`))
	f.put(a)
	if a.CreateIndex == old.CreateIndex {
		t.Fatal("test setup: the two allocations have one index")
	}
	waitFor(t, terminalWait, "the new allocation to end", func() bool { return f.terminal(a.ID) })
	if st := f.status(a.ID); st.Status != structs.AllocComplete {
		t.Errorf("new allocation ended %s/%s %q, want complete", st.Status, st.ExitReason, st.Message)
	}
	if got := readFile(t, oldDir.logPath("stdout")); got != "new\n" {
		t.Errorf("stdout of the allocation dir %q, want the new task's", got)
	}
	moved, err := filepath.Glob(filepath.Join(data, replacedDir, "allocs", old.ID+"-*"))
	if err != nil || len(moved) != 1 {
		t.Fatalf("moved-aside dirs %v (%v), want one", moved, err)
	}
	if got := readFile(t, filepath.Join(moved[0], "stdout")); got != "old\n" {
		t.Errorf("the moved-aside dir holds stdout %q, want the earlier task's", got)
	}
	if _, err := os.Stat(filepath.Join(moved[0], allocFile)); err != nil {
		t.Errorf("the moved-aside dir lost its record: %v", err)
	}
}

// A job's checkpoint dir outlives it (attempts of one job share it), so
// after a restore a new job of a reused id finds the earlier job's. One
// owned by another account is never given to the new task's user: it is
// moved aside and the task starts with an empty dir. One of the task's own
// user (an earlier attempt of the job) is kept.
func TestClientCheckpointDirOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	nobody, err := lookupTaskUser("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	tests := []struct {
		name      string
		ownerUID  int
		wantList  string
		wantMoved bool
	}{
		{name: "another user's", ownerUID: 0, wantList: "", wantMoved: true},
		{name: "the task user's", ownerUID: int(nobody.UID), wantList: "left\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			data := t.TempDir()
			searchableDataDir(t, data)
			c := newTestClient(t, f, data, testCgroups(t))
			job := scriptJob("j-ckpt", `ls -A "$NAI_CHECKPOINT_DIR"`)
			job.Task.User = "nobody"
			ckpt := filepath.Join(data, "checkpoints", job.ID)
			if err := os.MkdirAll(ckpt, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ckpt, "left"), []byte("weights"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(ckpt, tc.ownerUID, tc.ownerUID); err != nil {
				t.Fatal(err)
			}
			runClient(t, c)
			a := newAlloc(c, job)
			f.put(a)
			waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
			if st := f.status(a.ID); st.Status != structs.AllocComplete {
				t.Fatalf("ended %s/%s %q, want complete", st.Status, st.ExitReason, st.Message)
			}
			dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
			if got := readFile(t, dir.logPath("stdout")); got != tc.wantList {
				t.Errorf("the task found %q in its checkpoint dir, want %q", got, tc.wantList)
			}
			moved, _ := filepath.Glob(filepath.Join(data, replacedDir, "checkpoints", job.ID+"-*"))
			if tc.wantMoved != (len(moved) == 1) {
				t.Fatalf("moved aside: %v, want moved %v", moved, tc.wantMoved)
			}
			if tc.wantMoved {
				var st syscall.Stat_t
				if err := syscall.Stat(moved[0], &st); err != nil || int(st.Uid) != tc.ownerUID {
					t.Errorf("the moved-aside dir is uid %d (%v), want its owner's %d", st.Uid, err, tc.ownerUID)
				}
				if got := readFile(t, filepath.Join(moved[0], "left")); got != "weights" {
					t.Errorf("the moved-aside dir holds %q", got)
				}
			}
		})
	}
}

// countingHandler counts the records of one message at error level.
type countingHandler struct {
	slog.Handler
	msg string
	n   *atomic.Int32
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelError && r.Message == h.msg {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return countingHandler{h.Handler.WithAttrs(as), h.msg, h.n}
}

func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{h.Handler.WithGroup(name), h.msg, h.n}
}

// After a restore from before an allocation was placed, the servers
// neither list it nor take its reports (404), and the index of their
// answers went back below its own, which alone does not make an answer
// authoritative (a follower behind looks the same). The node must stop it
// within its next poll, not run it on unseen, and log the refusal once,
// not at every report.
func TestClientStopsAllocationTheServersForgot(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{name: "quiet task", script: `sleep 100 & echo $! > "$NAI_CHECKPOINT_DIR/pid"; wait`},
		{name: "task reporting metrics", script: `sleep 100 & echo $! > "$NAI_CHECKPOINT_DIR/pid"
while true; do echo '{"step": 1}' >> "$NAI_METRICS_FILE"; sleep 0.1; done`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			f.strict = true
			var refusals atomic.Int32
			logger := slog.New(countingHandler{testLogger(t).Handler(), "servers refused allocation report", &refusals})
			c, err := New(Config{RootTasks: RootTasksAllow, DataDir: t.TempDir(), NodeName: "gpu-test",
				Servers: f.api(t), Host: testHost(), Cgroups: testCgroups(t),
				ExecutorBinary: selfExe(t), KillGrace: 500 * time.Millisecond, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			runClient(t, c)
			a := newAlloc(c, scriptJob("j-forgot-"+strings.Fields(tc.name)[1], tc.script))
			f.put(a)
			pidFile := filepath.Join(c.cfg.DataDir, "checkpoints", a.JobID, "pid")
			waitFor(t, 10*time.Second, "the task", func() bool { return len(readPids(t, pidFile)) == 1 })
			waitFor(t, 10*time.Second, "the running report", func() bool { return f.status(a.ID).Status == structs.AllocRunning })

			f.restoreBack(a.ID)
			dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
			waitFor(t, 10*time.Second, "the forgotten allocation to end", func() bool { return exists(dir.path(reportedFile)) })
			st, err := dir.readExit()
			if err != nil || st == nil || st.Reason != structs.ExitNodeLost {
				t.Errorf("exit status %+v (%v), want node-lost", st, err)
			}
			for _, p := range readPids(t, pidFile) {
				if !gone(p) {
					t.Errorf("pid %d survived", p)
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
			waitFor(t, 10*time.Second, "the runner to go", func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return len(c.runners) == 0
			})
			if n := refusals.Load(); n != 1 {
				t.Errorf("the refusal was logged %d times at error level, want once", n)
			}
		})
	}
}
