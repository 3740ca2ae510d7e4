package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// notHereMsg says why the node reports an allocation the servers list as
// running but that it does not run: the servers' state went back in time
// (an operator restored a snapshot) to before the node ended it.
const notHereMsg = "not running on this node (its state was restored from a snapshot?)"

// replacedDir holds, below the data dir, what an allocation or a job left
// under an id the servers have since given to another one (a snapshot
// restore rolls the job id counter back): allocs/ID-UNIXNANO and
// checkpoints/JOBID-UNIXNANO, kept for the operator. Neither the agent's
// recovery nor its GC looks there.
const replacedDir = "replaced"

// allocKey names one allocation for the client's once-only reports: its
// id and the index it was created at, as ids come again after a restore.
func allocKey(a *structs.Allocation) string {
	return a.ID + "@" + strconv.FormatUint(a.CreateIndex, 10)
}

// settleLocked handles a listed, not ended allocation that has a dir on
// this node but no runner, which reconcile would otherwise never act on:
//
//   - the dir is this allocation's and its executor still runs: the client
//     watches it again (as at its start, recover.go), and stops it if asked;
//   - the dir is this allocation's and nothing of it runs: it ended here
//     already (the servers' state was restored from before that), so it is
//     reported ended, lost, or stopped when the servers want it stopped;
//   - the dir is another allocation's of the same id (job ids come again
//     after a restore): when nothing of that one runs, its dir is moved
//     aside and settleLocked returns false, so the allocation starts as
//     usual; while it runs, the new one is reported failed to start.
//
// It returns false only when reconcile should go on to start or
// acknowledge the allocation as if its dir had never been.
func (c *Client) settleLocked(ctx context.Context, a *structs.Allocation) bool {
	if validAllocID(a.ID) != nil {
		return false // startLocked refuses it, loudly
	}
	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	if !exists(string(dir)) {
		return false
	}
	rec, err := dir.readAlloc()
	same := err == nil && rec.ID == a.ID && rec.JobID == a.JobID && rec.CreateIndex == a.CreateIndex
	pid := dir.executorPid()
	logger := c.logger.With("alloc", a.ID, "job", a.JobID)
	switch {
	case same && pid > 0:
		logger.Warn("re-attached to the running executor of an allocation the client had no runner for", "pid", pid)
		r := newAllocRunner(c, rec)
		c.runners[a.ID] = r
		r.attach(pid)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer c.forget(a.ID)
			r.run(ctx, true)
		}()
		switch {
		case a.DesiredStatus == structs.DesiredStop:
			r.stop(a.DesiredReason)
		case a.ClientStatus.Status == structs.AllocLost:
			r.stop(structs.ExitNodeLost)
		}
		return true
	case same:
		c.reportNotHereLocked(a, dir, logger)
		return true
	case pid > 0:
		c.onceLocked(a, func() {
			msg := fmt.Sprintf("cannot start: the node still runs an earlier allocation of the same id %s (executor pid %d; the servers' state was restored from a snapshot?)", a.ID, pid)
			logger.Error("allocation dir held by a running executor of an earlier allocation of the same id", "pid", pid, "dir", string(dir))
			c.updater.post(&structs.AllocUpdate{AllocID: a.ID, Client: structs.ClientStatusFields{
				Status: structs.AllocFailed, ExitReason: stopOr(a, structs.ExitStartFail), Message: msg, EndTime: time.Now(),
			}})
		})
		return true
	}
	// Another allocation's dir (or one without a readable record), and no
	// executor of it: nothing of it can run any more but its cgroup's
	// leftovers, which go first.
	c.killAllocCgroup(a.ID, logger)
	to, err := c.moveAside("allocs", string(dir), a.ID)
	if err != nil {
		c.onceLocked(a, func() {
			logger.Error("cannot move aside the dir an earlier allocation of the same id left", "error", err)
			c.updater.post(&structs.AllocUpdate{AllocID: a.ID, Client: structs.ClientStatusFields{
				Status: structs.AllocFailed, ExitReason: stopOr(a, structs.ExitStartFail),
				Message: "cannot start: an earlier allocation of the same id left its dir: " + err.Error(), EndTime: time.Now(),
			}})
		})
		return true
	}
	was := "unreadable"
	if rec != nil {
		was = fmt.Sprintf("job %s, created at index %d", rec.JobID, rec.CreateIndex)
	}
	logger.Warn("an earlier allocation of the same id left its dir here (the servers' state was restored from a snapshot?): moved it aside",
		"earlier", was, "moved_to", to)
	return false
}

// reportNotHereLocked reports once that an allocation this node ran
// before, and which no longer runs, has ended.
func (c *Client) reportNotHereLocked(a *structs.Allocation, dir allocDir, logger *slog.Logger) {
	c.onceLocked(a, func() {
		cs := structs.ClientStatusFields{Status: structs.AllocLost, ExitReason: structs.ExitNodeLost, Message: notHereMsg, EndTime: time.Now()}
		if a.DesiredStatus == structs.DesiredStop {
			cs.Status, cs.ExitReason = structs.AllocFailed, stopOr(a, structs.ExitCancelled)
		}
		if st, err := dir.readExit(); err == nil && st != nil {
			cs.StartTime = st.StartTime
			if !st.EndTime.IsZero() {
				cs.EndTime = st.EndTime
			}
			cs.Message = fmt.Sprintf("%s: it ended here at %s (%s, exit code %s)", notHereMsg, st.EndTime.UTC().Format(time.RFC3339), st.Reason, fmtCode(st.ExitCode))
		}
		logger.Warn("the servers list an allocation as running that this node does not run: reporting it ended", "status", cs.Status, "reason", cs.ExitReason)
		c.updater.post(&structs.AllocUpdate{AllocID: a.ID, Client: cs})
	})
}

// onceLocked runs report once for an allocation (of this id and creation
// index) in the agent's life.
func (c *Client) onceLocked(a *structs.Allocation, report func()) {
	k := allocKey(a)
	if c.settled[k] {
		return
	}
	c.settled[k] = true
	report()
}

// stopOr is the reason of the servers' stop of a, or def when they want it
// to run.
func stopOr(a *structs.Allocation, def structs.ExitReason) structs.ExitReason {
	if a.DesiredStatus == structs.DesiredStop && a.DesiredReason != "" {
		return a.DesiredReason
	}
	if a.DesiredStatus == structs.DesiredStop {
		return structs.ExitCancelled
	}
	return def
}

// moveAside renames path, left by an earlier allocation or job of the id
// name, into DataDir/replaced/kind/, under a name no allocation or job
// can take, and returns where it went.
func (c *Client) moveAside(kind, path, name string) (string, error) {
	parent := filepath.Join(c.cfg.DataDir, replacedDir, kind)
	if err := os.MkdirAll(parent, modePrivateDir); err != nil {
		return "", fmt.Errorf("make %s: %w", parent, err)
	}
	to := filepath.Join(parent, name+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Rename(path, to); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("move %s aside: %w", path, err)
	}
	return to, nil
}

// killAllocCgroup kills and removes an allocation's cgroup that its
// executor left (it vanished, or failed before it opened the cgroup).
func (c *Client) killAllocCgroup(allocID string, logger *slog.Logger) {
	if c.cfg.Cgroups == nil {
		return
	}
	defer c.removeExecCgroup(allocID, logger)
	g, err := c.cfg.Cgroups.Open(c.cgroupName(allocID))
	if err != nil {
		return // never made, or already removed
	}
	if err := g.Kill(); err != nil {
		logger.Warn("kill leftover cgroup", "error", err)
	}
	if err := g.Delete(); err != nil {
		logger.Warn("remove leftover cgroup", "error", err)
	}
}

// claimCheckpointDir moves aside a job's checkpoint dir that another
// account owns before the task, running as user (nil: the agent's own
// account), is given it. The dir is shared by the attempts of one job, and
// only they should find it: one of another owner was left by an earlier
// job of the same id (a snapshot restore rolls the job id counter back),
// and handing it to this task's user would give them another user's
// checkpoints. It is kept for the operator under DataDir/replaced/.
func (c *Client) claimCheckpointDir(ckpt, jobID string, user *executor.User, logger *slog.Logger) error {
	fi, err := os.Lstat(ckpt)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoint dir: %w", err)
	}
	want := uint32(os.Geteuid())
	if user != nil {
		want = user.UID
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if fi.IsDir() && ok && st.Uid == want {
		return nil
	}
	owner := "?"
	if ok {
		owner = strconv.FormatUint(uint64(st.Uid), 10)
	}
	to, err := c.moveAside("checkpoints", ckpt, jobID)
	if err != nil {
		return fmt.Errorf("checkpoint dir of job %s is another account's (uid %s), and %w", jobID, owner, err)
	}
	logger.Warn("the job's checkpoint dir belonged to another account (an earlier job of the same id? the servers' state was restored from a snapshot?): moved it aside, the job starts with an empty one",
		"owner_uid", owner, "task_uid", want, "moved_to", to)
	return nil
}
