package state

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// writer carries one write transaction's context and remembers which
// tables changed, so that only those get a new index.
type writer struct {
	txn           *memdb.Txn
	index         uint64
	now           time.Time
	jobsChanged   bool
	allocsChanged bool
	// reporter is the node whose report is being applied: its own
	// allocations' new client status is no news to it (putReported).
	reporter string
	// rankZero is the report's RankZeroOutputs (raft log format 8): a
	// gang job takes its outputs, logs and metrics history from rank 0
	// alone (allocEnded).
	rankZero bool
}

func (w *writer) putJob(j *structs.Job) error {
	j.ModifyIndex = w.index
	if err := noteJobWrite(w.txn, w.index, j, w.now); err != nil {
		return err
	}
	if err := w.txn.Insert(tableJobs, j); err != nil {
		return fmt.Errorf("write job %s: %w", j.ID, err)
	}
	w.jobsChanged = true
	return nil
}

// putAlloc writes an allocation the servers changed (placed, asked to
// stop, marked lost): news to its node, whose poll then answers.
func (w *writer) putAlloc(a *structs.Allocation) error {
	a.ServerIndex = w.index
	return w.insertAlloc(a)
}

// putReported writes an allocation whose client status changed by a
// report: when its own node made the report, the node's poll does not
// answer for it (ServerIndex stays); a report from elsewhere is news to
// the node, as the servers' own changes are.
func (w *writer) putReported(a *structs.Allocation) error {
	if w.reporter == "" || w.reporter != a.NodeID {
		return w.putAlloc(a)
	}
	return w.insertAlloc(a)
}

func (w *writer) insertAlloc(a *structs.Allocation) error {
	a.ModifyIndex = w.index
	a.Job = nil // never stored with the allocation
	if err := w.txn.Insert(tableAllocs, a); err != nil {
		return fmt.Errorf("write alloc %s: %w", a.ID, err)
	}
	w.allocsChanged = true
	if a.Terminal() {
		return noteAllocEnd(w.txn, a)
	}
	return nil
}

// noteAllocEnd folds a finished allocation of a node, just written, into
// the node's NodeAllocEnd.
func noteAllocEnd(txn *memdb.Txn, a *structs.Allocation) error {
	raw, err := txn.First(tableNodeEnds, "id", a.NodeID)
	if err != nil {
		return fmt.Errorf("read the allocation ends of node %s: %w", a.NodeID, err)
	}
	e := &NodeAllocEnd{NodeID: a.NodeID}
	if old, ok := raw.(*NodeAllocEnd); ok {
		if old.ServerIndex >= a.PollIndex() && old.ModifyIndex >= a.ModifyIndex {
			return nil
		}
		*e = *old
	}
	e.ServerIndex = max(e.ServerIndex, a.PollIndex())
	e.ModifyIndex = max(e.ModifyIndex, a.ModifyIndex)
	if err := txn.Insert(tableNodeEnds, e); err != nil {
		return fmt.Errorf("write the allocation ends of node %s: %w", a.NodeID, err)
	}
	return nil
}

// finish records the new index of every table that changed.
func (w *writer) finish() error {
	if w.jobsChanged {
		if err := bumpIndex(w.txn, tableJobs, w.index); err != nil {
			return err
		}
	}
	if w.allocsChanged {
		if err := bumpIndex(w.txn, tableAllocs, w.index); err != nil {
			return err
		}
	}
	return nil
}

// currentJob returns the job an allocation runs for when that allocation
// belongs to the job's current attempt and the job still runs; otherwise
// the allocation no longer decides anything about the job.
func (w *writer) currentJob(a *structs.Allocation) (*structs.Job, error) {
	j, err := jobByID(w.txn, nil, a.JobID)
	if err != nil || j == nil {
		return nil, err
	}
	if j.Status != structs.JobRunning || j.Attempt != a.Attempt {
		return nil, nil
	}
	return j, nil
}

// allocEnded settles the job of an allocation that has just become
// terminal (already written). A successful end completes the job once no
// other allocation of the attempt (a gang) still runs; any other end stops
// the rest of the gang and ends or requeues the job.
func (w *writer) allocEnded(a *structs.Allocation) error {
	owner, err := jobByID(w.txn, nil, a.JobID)
	if err != nil {
		return err
	}
	if err := accountAlloc(w.txn, w.index, a, owner); err != nil {
		return err
	}
	if owner != nil && owner.IsService() {
		return w.replicaChanged(owner, a) // services.go
	}
	job, err := w.currentJob(a)
	if err != nil {
		return err
	}
	if job == nil {
		return w.lateRankZero(a, owner)
	}
	c := job.Copy()
	mergeMetrics(c, &a.ClientStatus)
	if !w.rankZero || a.Rank == 0 {
		keepBlobs(c, &a.ClientStatus)
	}
	cs := a.ClientStatus

	if cs.Status == structs.AllocComplete {
		live, err := w.liveSiblings(a)
		if err != nil {
			return err
		}
		if live > 0 {
			return w.putJob(c)
		}
		c.Status = structs.JobComplete
		c.ExitCode = intPtr(0)
		if cs.ExitCode != nil {
			c.ExitCode = intPtr(*cs.ExitCode)
		}
		c.ExitReason = structs.ExitExited
		c.Reason = ""
		c.EndTime = w.endTime(cs)
		if err := w.registerOutputModel(c); err != nil {
			return err
		}
		if err := w.registerOutputDataset(c); err != nil {
			return err
		}
		return w.putJob(c)
	}

	cancelled := (a.DesiredStatus == structs.DesiredStop && a.DesiredReason == structs.ExitCancelled) || cs.ExitReason == structs.ExitCancelled
	preempted := (a.DesiredStatus == structs.DesiredStop && a.DesiredReason == structs.ExitPreempted) || cs.ExitReason == structs.ExitPreempted
	// A drain deadline is no fault of the job's: it retries as a preemption.
	drained := (a.DesiredStatus == structs.DesiredStop && a.DesiredReason == structs.ExitNodeDrained) || cs.ExitReason == structs.ExitNodeDrained
	var key string // the retry policy's name for this end
	var stopReason structs.ExitReason
	switch {
	case cancelled:
		stopReason = structs.ExitCancelled
	case cs.ExitReason == structs.ExitPrologFailed:
		// The node failed, not the job, which never started: it goes
		// back to the queue whatever its retry policy (hooks.go).
		key, stopReason = keyNodeHook, structs.ExitPrologFailed
	case cs.Status == structs.AllocLost:
		key, stopReason = "node-lost", structs.ExitNodeLost
	case preempted:
		key, stopReason = "preempted", structs.ExitPreempted
	case drained:
		key, stopReason = "preempted", structs.ExitNodeDrained
	default:
		key, stopReason = "failed", cs.ExitReason
		if stopReason == "" {
			stopReason = structs.ExitExited
		}
	}
	if _, err := w.stopSiblings(a, stopReason); err != nil {
		return err
	}

	if !cancelled && (key == keyNodeHook || retryAllows(c, key)) {
		why := key
		if stopReason == structs.ExitNodeDrained || stopReason == structs.ExitPrologFailed {
			why = string(stopReason)
		}
		requeue(c, "requeued after "+why)
		return w.putJob(c)
	}
	c.ExitCode = nil
	if cs.ExitCode != nil {
		c.ExitCode = intPtr(*cs.ExitCode)
	}
	c.ExitReason = cs.ExitReason
	c.EndTime = w.endTime(cs)
	c.Reason = cs.Message
	switch {
	case cancelled:
		c.Status = structs.JobCancelled
		c.ExitReason = structs.ExitCancelled
		c.Reason = "cancelled by user"
	case key == "node-lost":
		c.Status = structs.JobLost
		c.ExitReason = structs.ExitNodeLost
	default:
		c.Status = structs.JobFailed
		if c.ExitReason == "" {
			c.ExitReason = stopReason
		}
	}
	return w.putJob(c)
}

// lateRankZero gives job j the blobs of its rank 0 that ended after
// another rank had ended the attempt (a failure stops the rest of the gang,
// and a cancel ends the job at the first report): from raft log format 8
// (w.rankZero) a gang job's are rank 0's, so rank 0's checkpoint is the
// job's even then, as long as the job has not started another attempt.
// Before, the job kept the blobs of the rank that ended it.
func (w *writer) lateRankZero(a *structs.Allocation, j *structs.Job) error {
	if !w.rankZero || a.Rank != 0 || j == nil || j.Attempt != a.Attempt || j.Status == structs.JobRunning {
		return nil
	}
	c := j.Copy()
	keepBlobs(c, &a.ClientStatus)
	if c.OutputDigest == j.OutputDigest && c.MetricsDigest == j.MetricsDigest && c.StdoutDigest == j.StdoutDigest &&
		c.StderrDigest == j.StderrDigest && slices.Equal(c.OutputServe, j.OutputServe) {
		return nil
	}
	return w.putJob(c)
}

// keepBlobs gives job j the outputs, final logs and metrics history an
// ending allocation reported; what it did not report, j keeps (an earlier
// attempt's). Before raft log format 8 every allocation of a gang does
// this, so the job keeps whichever rank ended last; from format 8 rank 0
// alone (w.rankZero): the job's are rank 0's, or an earlier attempt's
// rank 0's, or none when rank 0 wrote none, and the other ranks' are read
// from their allocations (GET /v1/jobs/{id}/outputs?rank=N).
func keepBlobs(j *structs.Job, cs *structs.ClientStatusFields) {
	if cs.OutputDigest != "" {
		j.OutputDigest, j.OutputSize = cs.OutputDigest, cs.OutputSize
		j.OutputFiles = cs.OutputFiles
	}
	if cs.MetricsDigest != "" {
		j.MetricsDigest = cs.MetricsDigest
	}
	if cs.StdoutDigest != "" || cs.StderrDigest != "" {
		j.StdoutDigest, j.StderrDigest = cs.StdoutDigest, cs.StderrDigest
	}
	if len(cs.OutputServe) > 0 {
		j.OutputServe = slices.Clone(cs.OutputServe)
	}
}

func (w *writer) endTime(cs structs.ClientStatusFields) time.Time {
	if !cs.EndTime.IsZero() {
		return cs.EndTime
	}
	return w.now
}

// liveSiblings counts the other live allocations of the same attempt.
func (w *writer) liveSiblings(a *structs.Allocation) (int, error) {
	allocs, err := allocsOfJob(w.txn, nil, a.JobID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range allocs {
		if o.ID != a.ID && o.Attempt == a.Attempt && !o.Terminal() {
			n++
		}
	}
	return n, nil
}

// stopSiblings asks the rest of a gang to stop.
func (w *writer) stopSiblings(a *structs.Allocation, reason structs.ExitReason) (int, error) {
	n, err := stopLiveAllocs(w.txn, w.index, a.JobID, a.ID, reason)
	if n > 0 {
		w.allocsChanged = true
	}
	return n, err
}

// retryAllows reports whether a job that ended for key ("failed",
// "preempted", "node-lost") goes back to the queue. Attempts counts
// retries: with attempts = 2 a job runs at most three times. A job without
// a retry policy is requeued only after a preemption, which is not its
// fault.
func retryAllows(j *structs.Job, key string) bool {
	if j.Retry == nil {
		return key == "preempted"
	}
	return slices.Contains(j.Retry.On, key) && j.Attempt <= j.Retry.Attempts
}

// requeue puts a job back in the queue, keeping its attempt count, metrics
// and outputs of the last attempt.
func requeue(j *structs.Job, reason string) {
	j.Status = structs.JobPending
	j.Reason = reason
	j.NodeID, j.NodeName, j.AllocID = "", "", ""
	j.GPUs = []int{}
	j.ExitCode = nil
	j.ExitReason = ""
	j.StartTime, j.EndTime, j.EstimatedStart = time.Time{}, time.Time{}, time.Time{}
	j.NodeFilters = nil
}

// metricsDiffer reports whether merging a report's metrics into the job
// would change it.
func metricsDiffer(j *structs.Job, cs *structs.ClientStatusFields) bool {
	for k, v := range cs.Metrics {
		if old, ok := j.Metrics[k]; !ok || old != v {
			return true
		}
		if _, ok := j.NonFiniteMetrics[k]; ok {
			return true
		}
	}
	for k, v := range cs.NonFinite {
		if !sameNonFinite(j.NonFiniteMetrics[k], v) {
			return true
		}
		if _, ok := j.Metrics[k]; ok {
			return true
		}
	}
	return cs.MetricsCounted && (!j.MetricsCounted || j.MetricsSkippedLines != cs.MetricsSkipped)
}

// mergeMetrics keeps the last value of each metric and reports whether any
// changed. A metric the report says is not finite now (cs.NonFinite, raft
// log format 7: older entries never carry it) leaves the job's Metrics,
// whose earlier finite value would read as a healthy run, for its
// NonFiniteMetrics; a finite value takes it back. A client that counts
// (cs.MetricsCounted, format 7 too) gives the job its count of lines that
// were not JSON.
func mergeMetrics(j *structs.Job, cs *structs.ClientStatusFields) bool {
	changed := false
	for _, k := range slices.Sorted(maps.Keys(cs.Metrics)) {
		if _, ok := j.NonFiniteMetrics[k]; ok {
			delete(j.NonFiniteMetrics, k)
			changed = true
		}
		if old, ok := j.Metrics[k]; ok && old == cs.Metrics[k] {
			continue
		}
		if j.Metrics == nil {
			j.Metrics = make(map[string]float64, len(cs.Metrics))
		}
		j.Metrics[k] = cs.Metrics[k]
		changed = true
	}
	for _, k := range slices.Sorted(maps.Keys(cs.NonFinite)) {
		if _, ok := j.Metrics[k]; ok {
			delete(j.Metrics, k)
			changed = true
		}
		v := cs.NonFinite[k]
		if old, ok := j.NonFiniteMetrics[k]; ok && sameNonFinite(old, v) {
			continue
		}
		if j.NonFiniteMetrics == nil {
			j.NonFiniteMetrics = make(map[string]structs.NonFiniteMetric, len(cs.NonFinite))
		}
		if v.Step != nil {
			st := *v.Step
			v.Step = &st
		}
		j.NonFiniteMetrics[k] = v
		changed = true
	}
	if len(j.NonFiniteMetrics) == 0 {
		j.NonFiniteMetrics = nil
	}
	if cs.MetricsCounted && (!j.MetricsCounted || j.MetricsSkippedLines != cs.MetricsSkipped) {
		j.MetricsCounted, j.MetricsSkippedLines = true, cs.MetricsSkipped
		changed = true
	}
	return changed
}

// sameNonFinite reports whether two notes of a non-finite metric say the
// same.
func sameNonFinite(a, b structs.NonFiniteMetric) bool {
	if a.Value != b.Value || a.First != b.First || a.Line != b.Line || (a.Step == nil) != (b.Step == nil) {
		return false
	}
	return a.Step == nil || *a.Step == *b.Step
}

func intPtr(v int) *int { return &v }
