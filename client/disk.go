package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nai-project/nai/structs"
	"golang.org/x/sys/unix"
)

// The data dir's free space. Everything of a job goes there: its alloc
// dir (alloc.json, logs, exit.json), work/, output/ and the packed outputs,
// the checkpoints, the blob cache. A full disk used to make the node a
// black hole: the task that filled it ended node-lost (its executor could
// not write exit.json), and every later job failed start-failed in under a
// second (write alloc.json: no space left on device) while the node stayed
// ready and eligible.
//
// Now the client checks the free space (statfs, as an unprivileged user
// may use it: f_bavail) before it starts each job and every diskCheckEvery:
//
//   - below the floor (client { min_free_disk }), a job placed here is not
//     started: it ends prolog-failed with a hook report, the node-fault
//     path of a failed prolog, so the servers requeue the job at no cost
//     to its retries and drain the node with the reason, in one raft
//     transaction (structs/hooks.go). The reason names the data dir and
//     its free bytes.
//   - once the free space is a quarter above the floor again, the client
//     ends that drain itself (endDiskDrain): the servers check that the
//     node's drain is its own disk check's, never an operator's. Without a
//     job placed here meanwhile the node is not drained at all: nothing
//     was refused, and a client cannot drain its node without a report.
//   - the condition is kept as a problem of the agent (nai agent-info),
//     and resolved once the free space is back above the floor.
//   - a task that ends while the disk is full (no exit.json, or outputs
//     that could not be packed) ends disk-full, not node-lost, and says so.
//
// DefaultMinFreeDisk is the floor when min_free_disk is not set: 1 GiB, or
// 5 % of the data dir's filesystem when that is less. An absolute floor,
// because what a job needs on the node does not grow with the disk (a few
// files, its logs, its outputs twice while they are packed), and 1 % of a
// 30 TB scratch array would refuse work with 300 GB free; the 5 % cap
// keeps a small disk (a VM's, a CI tmpfs) from being refused for ever.
const (
	DefaultMinFreeDisk int64 = 1 << 30
	defaultMinFreePct        = 5
	// diskCheckEvery is how often the free space is looked at besides the
	// check before each start.
	diskCheckEvery = 30 * time.Second
	// ProblemDiskFull is the agent problem of a data dir below its floor.
	ProblemDiskFull = "disk-full"
)

// diskSpace is what statfs says of a filesystem: bytes an unprivileged
// user may still write, and its size.
type diskSpace struct{ free, total uint64 }

// statfsSpace is the real statfs of path.
func statfsSpace(path string) (diskSpace, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return diskSpace{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return diskSpace{free: st.Bavail * bs, total: st.Blocks * bs}, nil
}

// minFreeDisk is the floor for a filesystem of total bytes, and whether
// the check is on at all (a negative MinFreeDisk turns it off).
func (c *Client) minFreeDisk(total uint64) (int64, bool) {
	switch m := c.cfg.MinFreeDisk; {
	case m < 0:
		return 0, false
	case m > 0:
		return m, true
	}
	m := DefaultMinFreeDisk
	if pct := int64(min(total, 1<<60) * defaultMinFreePct / 100); total > 0 && pct < m {
		m = pct
	}
	return m, true
}

// diskProblem says why the data dir has too little space, or "" when it
// has enough (or cannot be looked at: the start then goes ahead and fails,
// or not, on its own). roomy says the space is a quarter above the floor
// (or not checked): only then does the client end its own drain
// (endDiskDrain), so that a node hovering at its floor does not flap.
func (c *Client) diskProblem() (why string, roomy bool) {
	sp, err := c.statfs(c.cfg.DataDir)
	if err != nil {
		c.logger.Warn("cannot check the data dir's free space", "error", err)
		return "", false
	}
	floor, on := c.minFreeDisk(sp.total)
	if !on {
		return "", true
	}
	if sp.free >= uint64(floor) {
		return "", sp.free >= uint64(floor)+uint64(floor)/4
	}
	return fmt.Sprintf("%sdata_dir %s has %d bytes free (%s), below min_free_disk %s", structs.DiskFullPrefix,
		c.cfg.DataDir, sp.free, structs.FormatSize(int64(min(sp.free, uint64(structs.MaxSize)))), structs.FormatSize(floor)), false
}

// diskFullNote says how full the data dir is, for the message of a job
// that a full disk ended: "the node's disk is full (data_dir /x: 0 bytes
// free)".
func (c *Client) diskFullNote() string {
	sp, err := c.statfs(c.cfg.DataDir)
	if err != nil {
		return fmt.Sprintf("the node's disk is full (data_dir %s)", c.cfg.DataDir)
	}
	return fmt.Sprintf("the node's disk is full (data_dir %s: %d bytes free)", c.cfg.DataDir, sp.free)
}

// checkDisk looks at the free space and keeps the agent's problem up to
// date; it returns the problem ("" for none).
func (c *Client) checkDisk() string {
	why, roomy := c.diskProblem()
	c.diskRoomy.Store(roomy)
	was := c.diskLow.Swap(&why)
	switch {
	case why != "" && (was == nil || *was != why):
		if was == nil || *was == "" {
			c.logger.Error("data dir is low on space: jobs placed here are refused and the node drained", "reason", why)
		}
		c.setProblem(why)
	case why == "" && was != nil && *was != "":
		c.logger.Info("data dir has enough free space again")
		c.setProblem("")
	}
	return why
}

// diskLoop checks the free space every diskCheckEvery until ctx ends, and
// ends the node's drain that a full disk began once space is back.
func (c *Client) diskLoop(ctx context.Context) {
	t := time.NewTicker(c.diskEvery)
	defer t.Stop()
	for {
		if c.checkDisk() == "" && c.diskRoomy.Load() && c.diskDrained.Load() {
			c.endDiskDrain(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// diskDrainedFile, in the data dir, says that this client refused a job
// for its disk, which drained its node: a later agent ends that drain too.
// Written when it can be (a full disk may not take it), and kept in memory
// besides.
const diskDrainedFile = "disk-drained"

// noteDiskDrain remembers that a refusal for the disk drained the node.
func (c *Client) noteDiskDrain() {
	c.diskDrained.Store(true)
	_ = os.WriteFile(filepath.Join(c.cfg.DataDir, diskDrainedFile), nil, 0o600)
}

// endDiskDrain asks the servers to end the drain the disk began
// (POST /v1/client/nodes/{id}/disk-recovered). They refuse (409) a drain
// that is not that one: an operator's is never ended here. Servers out of
// reach: the next check asks again.
func (c *Client) endDiskDrain(ctx context.Context) {
	n, err := c.api.NodeDiskRecovered(ctx, c.nodeID)
	switch {
	case err == nil:
		c.logger.Info("data dir has room again: the node's drain for its disk is ended", "eligible", n.Eligible)
	case structs.CodeOf(err) == structs.CodeConflict || structs.CodeOf(err) == structs.CodeNotFound:
		c.logger.Info("data dir has room again; the node's drain is not the disk's and stays", "reason", err)
	default:
		if ctx.Err() == nil {
			c.logger.Warn("cannot end the node's drain for its disk, will retry", "error", err)
		}
		return
	}
	c.diskDrained.Store(false)
	if err := os.Remove(filepath.Join(c.cfg.DataDir, diskDrainedFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.logger.Warn("remove disk-drained mark", "error", err)
	}
}

// diskFullError refuses a start on a data dir below its floor: the
// allocation ends as after a failed prolog (the node-fault path).
func diskFullError(why string, allocID, jobID string) *hookError {
	return &hookError{report: &structs.HookReport{
		Hook: structs.HookProlog, AllocID: allocID, JobID: jobID,
		Message: truncate(why, structs.MaxHookMessage), Time: time.Now().UTC(),
	}}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// isDiskFull reports whether err is a full disk (or quota).
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// setProblem sets (or, for "", resolves) the agent's disk-full problem.
func (c *Client) setProblem(why string) {
	c.problemsMu.Lock()
	defer c.problemsMu.Unlock()
	switch {
	case c.problems == nil:
	case why == "":
		c.problems.Resolve(ProblemDiskFull)
	default:
		c.problems.Set(ProblemDiskFull, why+": jobs placed here are refused and the node drains itself until space is back")
	}
}

// SetProblems gives the client the agent's record of problems, which
// nai agent-info lists (membership.Problems); the data dir's latest check
// goes there at once.
func (c *Client) SetProblems(p ProblemSink) {
	c.problemsMu.Lock()
	c.problems = p
	c.problemsMu.Unlock()
	if why := c.diskLow.Load(); why != nil && *why != "" {
		c.setProblem(*why)
	}
}

// ProblemSink is where the client reports conditions for nai agent-info
// (membership.Problems).
type ProblemSink interface {
	Set(kind, msg string) bool
	Resolve(kind string)
}
