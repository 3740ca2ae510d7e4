package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/structs"
	"golang.org/x/sys/unix"
)

// Intervals of the runner's watch. Metrics go out at most once per
// metricsReportEvery; a re-attached executor (not our child, so there is no
// wait to block on) is checked every attachPoll.
const (
	metricsPoll        = 250 * time.Millisecond
	metricsReportEvery = time.Second
	attachPoll         = 100 * time.Millisecond
	defaultPids        = 4096
)

// allocRunner owns one allocation on this node: it starts (or re-attaches
// to) its executor, reports running and metrics, and once the executor has
// written exit.json, ships the outputs and reports the end.
type allocRunner struct {
	c      *Client
	alloc  *structs.Allocation
	dir    allocDir
	logger *slog.Logger
	// logCapped: the logs capLogs has cut (watch's goroutine only).
	logCapped map[string]bool

	mu       sync.Mutex
	pid      int           // the executor
	child    bool          // the executor is our child (we started it)
	exited   chan struct{} // closed when the executor is gone (markExited)
	exitOnce sync.Once
	// exec is the executor when it has a channel to this agent
	// (execpool.go): stops go over it, not as signals.
	exec      *pooledExec
	stopped   bool // a stop was requested
	startTime time.Time
	metrics   *metricsTail
	gpu       *gpuTracker // samples of the GPUs it holds (watch goroutine only)
	// stopCh is closed by the first stop request.
	stopCh chan struct{}
	// probeCh asks watch to report the allocation's state now (probe).
	probeCh   chan struct{}
	lastProbe time.Time // under Client.mu
	// replica is a service replica's port and health (service.go).
	replica replicaState
	// hook is the failed hook's report when hook.json could not be
	// written (a full disk): hookFailure falls back to it.
	hook *structs.HookReport
}

func newAllocRunner(c *Client, a *structs.Allocation) *allocRunner {
	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	r := &allocRunner{
		c: c, alloc: a, dir: dir,
		logger:  c.logger.With("alloc", a.ID, "job", a.JobID),
		exited:  make(chan struct{}),
		stopCh:  make(chan struct{}),
		probeCh: make(chan struct{}, 1),
		metrics: newMetricsTail(dir.metricsPath()),
		gpu:     newGPUTracker(),
	}
	r.metrics.logger = r.logger
	return r
}

// cgroupName is the allocation's cgroup below the manager's parent. It
// names the node as well: allocation ids restart at 1.1 in every cluster,
// and agents of different clusters can share a host (tests, a dev agent).
func (c *Client) cgroupName(allocID string) string {
	node := c.nodeID
	if len(node) > 8 {
		node = node[:8]
	}
	return "nai-" + node + "-" + allocID
}

// start prepares the alloc dir and cgroup and starts the executor. It is the
// latency-critical path from a placement to the task's first instruction:
// no waits, no network.
func (r *allocRunner) start() error {
	a, job := r.alloc, r.alloc.Job
	// A data dir below its floor is the node's fault, as a failed prolog
	// is: refused before anything is written there (disk.go).
	if why := r.c.checkDisk(); why != "" {
		he := diskFullError(why, a.ID, a.JobID)
		r.setHook(he.report)
		r.c.noteDiskDrain()
		return he
	}
	if err := r.c.checkGPUs(a.GPUs); err != nil {
		return err
	}
	if err := r.c.checkGPUHealth(a.GPUs); err != nil {
		return err
	}
	// The alloc dir: traverse only; work/ and output/: the task user's
	// alone (perms.go).
	for _, d := range []string{string(r.dir), r.dir.workDir(), r.dir.outputDir()} {
		mode := fs.FileMode(modePrivateDir)
		if d == string(r.dir) {
			mode = modeTraverse
		}
		if err := mkdir(d, mode); err != nil {
			return fmt.Errorf("make alloc dir: %w", err)
		}
	}
	if job.Code != "" {
		if err := r.c.stageCode(job.Code, r.dir.workDir()); err != nil {
			return err
		}
	}
	datasets, models, err := r.c.stageArtifacts(job)
	if err != nil {
		return err
	}
	user, err := r.c.taskUserFor(job)
	if err != nil {
		return err
	}
	ckpt := filepath.Join(r.c.cfg.DataDir, "checkpoints", a.JobID)
	if err := r.c.claimCheckpointDir(ckpt, a.JobID, user, r.logger); err != nil {
		return err
	}
	if err := mkdir(ckpt, modePrivateDir); err != nil {
		return fmt.Errorf("make checkpoint dir: %w", err)
	}
	port := 0
	if job.IsService() {
		if port, err = r.servicePort(); err != nil {
			return err
		}
	}
	spec := executor.Spec{
		AllocID: a.ID,
		Dir:     r.dir.workDir(),
		Env: taskEnv(taskEnvInput{
			Alloc: a, Job: job, NodeName: r.c.nodeName(), WorkDir: r.dir.workDir(),
			OutputDir: r.dir.outputDir(), MetricsFile: r.dir.metricsPath(), CheckpointDir: ckpt,
			Getenv: os.Getenv, User: user, AgentUID: uint32(os.Geteuid()), Datasets: datasets, Models: models, Port: port,
			APIAddr: r.c.cfg.HTTPAddr,
		}),
		TimeLimit:    job.TimeLimit,
		KillGrace:    structs.Duration(r.c.cfg.KillGrace),
		CgroupParent: r.c.cfg.CgroupParent,
		User:         user,
		Logs:         executor.LogsHere, // no logs/ dir: one inode less
		ReadOnly:     r.c.readOnlyDirs(datasets, models),
	}
	if svc := r.serviceSpec(); svc != nil {
		spec.Service = serviceExecSpec(svc)
		spec.TimeLimit = 0
	}
	if s := job.Task.Script; strings.HasPrefix(s, "#!") {
		// A script with a #! line runs as a file, by the interpreter that
		// line names, as Slurm runs a batch script (and without bash's -e).
		path := r.dir.path(scriptFile)
		if err := os.WriteFile(path, []byte(s), modePrivateDir); err != nil {
			return fmt.Errorf("write task script: %w", err)
		}
		if user != nil {
			if err := chownToUser(user, path); err != nil {
				return err
			}
		}
		spec.Argv = append([]string{path}, job.Task.Args...)
	} else if s != "" {
		spec.Argv = []string{"/bin/bash", "-e", "-c", s}
		if len(job.Task.Args) > 0 {
			// bash -c takes $0 and then $1...: $0 stays what it is
			// without arguments.
			spec.Argv = append(append(spec.Argv, "/bin/bash"), job.Task.Args...)
		}
	} else {
		spec.Argv = append([]string{job.Task.Command}, job.Task.Args...)
	}
	if w := job.Task.Workdir; w != "" {
		if !filepath.IsAbs(w) {
			w = filepath.Join(r.dir.workDir(), w)
		}
		spec.Dir = w
	}
	if r.c.cfg.Cgroups != nil {
		spec.Cgroup = r.c.cgroupName(a.ID) // made below, after alloc.json
	}
	// alloc.json carries the executor's spec: one file where there were
	// two. It is still written before the prolog and the cgroup, so that a
	// dir without it never got as far as either (recover.go).
	if err := writeAllocFile(r.dir, a, &spec); err != nil {
		return err
	}
	if r.c.cfg.Cgroups != nil {
		limits := cgroups.Limits{CPU: a.Resources.CPU, MemoryBytes: a.Resources.MemoryBytes, Pids: defaultPids}
		if limits.CPU == 0 && limits.MemoryBytes == 0 {
			limits.CPU, limits.MemoryBytes = job.Resources.CPU, job.Resources.MemoryBytes
		}
		if limits.Devices, err = r.c.gpuDeviceRules(a.GPUs); err != nil {
			return err
		}
		if _, err := r.c.cfg.Cgroups.Create(spec.Cgroup, limits); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		// Only now: a migration holds the cgroup lock through the host's
		// wait (an RCU grace period, 5-12 ms here), and the cgroup's
		// directories made during it waited as long. From here it runs
		// beside the prolog and the executor's start, and the executor's
		// own move into the cgroup finds it done.
		r.c.primeMigrations()
	}
	if u := user; u != nil {
		// The metrics file is made now so that the task can append to it.
		if err := os.WriteFile(r.dir.metricsPath(), nil, 0o600); err != nil {
			return fmt.Errorf("make metrics file: %w", err)
		}
		if err := chownToUser(u, r.dir.workDir(), r.dir.outputDir(), ckpt, r.dir.metricsPath()); err != nil {
			return err
		}
		if err := userCanReach(u, r.dir.workDir()); err != nil {
			return err
		}
	}
	if err := r.prolog(ckpt); err != nil { // hooks.go
		return err
	}
	// Under r.mu: a stop now waits until it knows how to reach the
	// executor.
	r.mu.Lock()
	pid, pe, err := r.c.runOnExecutor(r, job.IsService()) // execpool.go
	if err == nil {
		r.pid, r.child, r.exec, r.startTime = pid, true, pe, time.Now()
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	r.c.placeExecutor(a.ID, pid, r.logger)
	return nil
}

// markExited says that the executor is done with the allocation: it
// exited, or (reused) it said so over its channel.
func (r *allocRunner) markExited() { r.exitOnce.Do(func() { close(r.exited) }) }

// attach watches an executor that an earlier agent started.
func (r *allocRunner) attach(pid int) {
	r.mu.Lock()
	r.pid = pid
	r.startTime = time.Now()
	// When the executor started: alloc.json is written just before (an
	// older executor's pid file just after).
	for _, f := range []string{executor.PidFile, allocFile} {
		if fi, err := os.Stat(r.dir.path(f)); err == nil {
			r.startTime = fi.ModTime()
			break
		}
	}
	r.mu.Unlock()
	go func() {
		t := time.NewTicker(attachPoll)
		defer t.Stop()
		for range t.C {
			if !r.dir.executorAlive(pid) {
				r.markExited()
				return
			}
		}
	}()
}

// run drives a started or attached executor to its reported end.
func (r *allocRunner) run(ctx context.Context, fresh bool) {
	if svc := r.serviceSpec(); svc != nil {
		if port, err := r.servicePort(); err != nil {
			r.logger.Error("service replica without a port: not checking its health", "error", err)
		} else {
			r.mu.Lock()
			r.replica.port, r.replica.address = port, net.JoinHostPort(r.c.serviceHost(), strconv.Itoa(port))
			r.replica.health.Address, r.replica.health.Port = r.replica.address, port
			r.replica.health.HealthError = "not checked yet"
			r.mu.Unlock()
			go r.healthLoop(ctx, svc)
		}
	}
	if fresh {
		r.c.updater.post(r.update(structs.ClientStatusFields{Status: structs.AllocRunning}))
	}
	r.watch(ctx)
}

func (r *allocRunner) update(cs structs.ClientStatusFields) *structs.AllocUpdate {
	r.mu.Lock()
	cs.StartTime = r.startTime
	if r.replica.port > 0 && !cs.Status.Terminal() {
		cs.Service = r.replica.health.Copy()
	}
	r.mu.Unlock()
	return &structs.AllocUpdate{AllocID: r.alloc.ID, Client: cs}
}

// watch tails the metrics until the executor is gone, then reports.
func (r *allocRunner) watch(ctx context.Context) {
	t := time.NewTicker(metricsPoll)
	defer t.Stop()
	var lastSent, logsChecked time.Time
	dirty := false
	for {
		select {
		case <-ctx.Done():
			return // the executor carries on; the next agent re-attaches
		case <-r.exited:
			r.capLogs() // what it wrote since the last check
			r.ended(ctx)
			return
		case <-r.probeCh:
			dirty, lastSent = true, time.Time{} // report at the next tick
		case <-t.C:
			if time.Since(logsChecked) >= logCapEvery {
				r.capLogs()
				logsChecked = time.Now()
			}
			if r.replica.port > 0 {
				r.readRestarts()
			}
			dirty = r.metrics.read(false) || dirty
			dirty = r.gpu.add(r.c.gpuSamples(r.alloc.GPUs)) || dirty
			if dirty && time.Since(lastSent) >= metricsReportEvery {
				cs := structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: r.metrics.values(), NonFinite: r.metrics.nonFiniteValues(), GPUUsage: r.gpu.values()}
				cs.MetricsSkipped, cs.MetricsCounted = r.metrics.counts()
				r.c.updater.post(r.update(cs))
				lastSent, dirty = time.Now(), false
			}
		}
	}
}

// ended handles a gone executor: one that left no exit.json vanished (it
// was killed, or the machine rebooted), and its task is reported lost.
func (r *allocRunner) ended(ctx context.Context) {
	st, err := r.dir.readExit()
	if err != nil {
		r.logger.Error("unreadable exit status", "error", err)
	}
	// The executor removes its cgroup; this catches one that could not
	// (it vanished, or failed before it opened the cgroup).
	r.cleanupCgroup()
	if st == nil {
		r.logger.Warn("executor vanished without an exit status")
		st = &executor.ExitStatus{Reason: structs.ExitNodeLost, Message: "executor vanished", EndTime: time.Now()}
		if why := r.c.checkDisk(); why != "" {
			// An executor that cannot write exit.json exits without
			// it: on a full disk that, not a lost node, is the likely
			// story, and node-lost would send a retry straight back.
			st.Reason, st.Message = structs.ExitDiskFull, "executor vanished without an exit status while "+why
		}
		if err := executor.WriteJSONAtomic(r.dir.path(executor.ExitFile), st); err != nil {
			r.logger.Error("record vanished executor", "error", err)
			if isDiskFull(err) && st.Reason != structs.ExitDiskFull {
				st.Reason, st.Message = structs.ExitDiskFull, "executor vanished without an exit status while "+r.c.diskFullNote()
			}
		}
	}
	r.report(ctx, st)
}

// cleanupCgroup kills and removes the cgroup of an executor that could not.
func (r *allocRunner) cleanupCgroup() { r.c.killAllocCgroup(r.alloc.ID, r.logger) }

// report uploads the outputs and then sends the final status; only when
// the servers have it is the alloc dir marked reported. If ctx ends first,
// the next agent start does it again.
func (r *allocRunner) report(ctx context.Context, st *executor.ExitStatus) {
	r.metrics.read(true)
	if n := r.metrics.skipped; n > 0 {
		r.logger.Warn("lines of NAI_METRICS_FILE were not JSON objects and were skipped", "lines", n, "of", r.metrics.line)
	}
	defer r.c.releasePort(r.alloc.ID)
	cs := structs.ClientStatusFields{
		Status:     structs.AllocFailed,
		ExitCode:   st.ExitCode,
		ExitReason: st.Reason,
		Message:    st.Message,
		StartTime:  st.StartTime,
		EndTime:    st.EndTime,
		Metrics:    r.metrics.values(),
		NonFinite:  r.metrics.nonFiniteValues(),
		Usage:      st.Usage,
		GPUUsage:   r.gpu.values(),
	}
	cs.MetricsSkipped, cs.MetricsCounted = r.metrics.counts()
	if j := r.alloc.Job; j != nil && j.Output != nil && j.Output.Model != "" && j.Output.KeepMatch("serve.py") {
		// A serve.py that output { keep } leaves out is not in the model.
		cs.OutputServe = outputServe(r.dir.outputDir())
	}
	if note := r.gpuFailureNote(); note != "" && cs.ExitReason == structs.ExitGPUFailed {
		cs.Message = joinMsg(cs.Message, note)
	}
	if st.Reason == structs.ExitExited && st.ExitCode != nil && *st.ExitCode == 0 {
		cs.Status = structs.AllocComplete
	}
	r.epilog(st) // hooks.go
	cs.Hook = r.hookFailure()
	if cs.StartTime.IsZero() {
		r.mu.Lock()
		cs.StartTime = r.startTime
		r.mu.Unlock()
	}
	info, files, note, err := r.uploadOutputs(ctx)
	uploaded := err == nil
	if note != "" {
		cs.Message = joinMsg(cs.Message, note)
	}
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		r.logger.Error("output upload failed", "error", err)
		cs.Message = joinMsg(cs.Message, "output upload failed: "+err.Error())
	case info != nil:
		cs.OutputDigest, cs.OutputSize, cs.OutputFiles = info.Digest, info.Size, files
	}
	if d, err := r.uploadMetricsHistory(ctx); err != nil {
		r.logger.Warn("metrics history not kept", "error", err)
	} else {
		cs.MetricsDigest = d
	}
	// The final logs are kept as blobs too, so `nai job logs` works after
	// this node (or its alloc dir) is gone.
	for _, l := range []struct {
		stream string
		digest *string
	}{{"stdout", &cs.StdoutDigest}, {"stderr", &cs.StderrDigest}} {
		if d, err := r.uploadFileBlob(ctx, r.dir.logPath(l.stream)); err != nil {
			r.logger.Warn("final log not kept on the servers", "stream", l.stream, "error", err)
		} else {
			*l.digest = d
		}
	}
	err = r.c.updater.send(ctx, &structs.AllocUpdate{AllocID: r.alloc.ID, Client: cs})
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		// Refused for good (the servers forgot the allocation): retrying
		// cannot help, so it counts as reported.
		r.logger.Error("final status refused", "error", err)
	}
	if err := r.dir.markReported(time.Now()); err != nil {
		r.logger.Error("mark allocation reported", "error", err)
	}
	r.logger.Info("allocation ended", "status", cs.Status, "reason", cs.ExitReason, "exit_code", fmtCode(cs.ExitCode))
	r.c.cleanAllocDir(r.dir, uploaded, r.logger)
}

// fmtCode is an exit code for the log: "none" when the task never ran.
func fmtCode(c *int) string {
	if c == nil {
		return "none"
	}
	return strconv.Itoa(*c)
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// uploadOutputs packs the output dir and uploads it, retrying while the
// servers are unreachable, and says how many files it holds. An empty
// output dir uploads nothing (nil info), and so does one of which output
// { keep } keeps nothing: the job ends as it would have, no model or
// dataset version is made, and note says why for the allocation's message.
func (r *allocRunner) uploadOutputs(ctx context.Context) (info *structs.BlobInfo, files int, note string, err error) {
	ents, err := os.ReadDir(r.dir.outputDir())
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(ents) == 0) {
		return nil, 0, "", nil
	}
	if err != nil {
		return nil, 0, "", fmt.Errorf("read output dir: %w", err)
	}
	var out *structs.OutputSpec
	if r.alloc.Job != nil {
		out = r.alloc.Job.Output
	}
	keep, err := keptOutputs(r.dir.outputDir(), out)
	if err != nil {
		return nil, 0, "", err
	}
	if keep != nil {
		if keep.kept == 0 {
			note = fmt.Sprintf("output { keep = %q } matched none of the %d files in NAI_OUTPUT_DIR, so no outputs were kept", out.Keep, keep.files)
			r.logger.Warn("no outputs kept", "keep", out.Keep, "files", keep.files)
			return nil, 0, note, nil
		}
		r.logger.Info("output keep applied", "keep", out.Keep, "kept", keep.kept, "files", keep.files)
	}
	archive := r.dir.path(archiveName)
	owner := r.dir.outputOwner()
	st, err := packOutputsWith(r.c.createArchive, r.dir.outputDir(), archive, keep, owner)
	stream := false
	if err != nil {
		if !isDiskFull(err) {
			return nil, 0, "", err
		}
		// No room on the node's disk for the archive (disk.go): the
		// outputs are packed straight into the upload instead, again at
		// each try (the same files make the same bytes). The half-written
		// archive goes at once, to give the space back.
		r.logger.Warn("no room for the output archive on the node's disk: packing the outputs straight into the upload", "error", err)
		if rerr := os.Remove(archive); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			r.logger.Warn("remove half-written output archive", "error", rerr)
		}
		stream = true
	}
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		var info *structs.BlobInfo
		if stream {
			var perr error
			if info, st, perr, err = r.uploadPacking(ctx, keep, owner); perr != nil {
				return nil, 0, "", perr // as when packing into a file
			}
		} else {
			var f *os.File
			if f, err = os.Open(archive); err != nil {
				return nil, 0, "", fmt.Errorf("open output archive: %w", err)
			}
			info, err = r.c.api.UploadOutputs(ctx, r.alloc.ID, f)
			f.Close()
		}
		if err == nil {
			if st.SkippedCount > 0 {
				note = fmt.Sprintf("%d files in NAI_OUTPUT_DIR were not kept because the job's user does not own them (hard links to other files?): %s",
					st.SkippedCount, strings.Join(st.Skipped, ", "))
				r.logger.Warn("outputs not owned by the task user left out", "count", st.SkippedCount, "files", st.Skipped)
			}
			return info, st.Files, note, nil
		}
		if permanent(err) {
			return nil, 0, "", err
		}
		r.logger.Warn("output upload failed, will retry", "error", err)
		if !b.wait(ctx) {
			return nil, 0, "", ctx.Err()
		}
	}
}

// errUploadEnded stops the packer of an upload that ended first.
var errUploadEnded = errors.New("the upload ended")

// uploadPacking packs the output dir straight into its upload, through a
// pipe: what uploadOutputs does when the node's disk has no room for the
// archive. A packing error (an output unreadable) fails the upload, and
// comes back apart from the upload's own.
func (r *allocRunner) uploadPacking(ctx context.Context, keep *outputKeep, owner *uint32) (*structs.BlobInfo, archive.Stats, error, error) {
	pr, pw := io.Pipe()
	type packed struct {
		st  archive.Stats
		err error
	}
	done := make(chan packed, 1)
	go func() {
		st, err := packOutputsTo(pw, r.dir.outputDir(), keep, owner)
		pw.CloseWithError(err) // nil: the upload reads EOF
		done <- packed{st, err}
	}()
	info, err := r.c.api.UploadOutputs(ctx, r.alloc.ID, pr)
	pr.CloseWithError(errUploadEnded) // a packer still writing stops
	p := <-done
	if p.err != nil && !errors.Is(p.err, errUploadEnded) {
		return nil, p.st, fmt.Errorf("pack outputs: %w", p.err), err
	}
	return info, p.st, nil, err
}

// probeEvery bounds how often an allocation is probed (probe).
const probeEvery = 5 * time.Second

// probe has watch report the allocation's state at its next tick, at
// most once per probeEvery: the servers refuse the report of an allocation
// they do not know. Called with Client.mu held.
func (r *allocRunner) probe() {
	if time.Since(r.lastProbe) < probeEvery {
		return
	}
	r.lastProbe = time.Now()
	select {
	case r.probeCh <- struct{}{}:
	default:
	}
}

// stop asks the executor to end the task for reason. It is safe to call
// more than once and on an executor that has already ended.
func (r *allocRunner) stop(reason structs.ExitReason) {
	if reason == "" {
		reason = structs.ExitCancelled
	}
	select {
	case <-r.exited:
		return
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.logger.Info("stopping allocation", "reason", reason)
	// The stop file first, then the signal: an executor that is not yet
	// listening reads the file after it took its lock (LivePid).
	if err := executor.WriteFileAtomic(r.dir.path(executor.StopFile), []byte(string(reason)+"\n")); err != nil {
		r.logger.Error("request stop", "error", err)
		return
	}
	r.stopped = true
	close(r.stopCh)
	if r.exec != nil {
		// Over the channel, which names the allocation: a signal could
		// reach the executor after it has moved on to another one.
		if err := r.exec.stop(r); err != nil {
			r.logger.Warn("ask executor to stop", "pid", r.pid, "error", err)
		}
		return
	}
	pid := r.dir.executorPid()
	if pid == 0 {
		return // not started yet (it reads the stop file), or already gone
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		r.logger.Error("signal executor", "pid", pid, "error", err)
	}
}

// running reports whether the executor is still alive.
func (r *allocRunner) running() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// checkGPUs refuses GPU indices this node does not have (any more).
func (c *Client) checkGPUs(gpus []int) error {
	have := map[int]bool{}
	for _, g := range c.cfg.Host.GPUs {
		have[g.Index] = true
	}
	seen := map[int]bool{}
	for _, g := range gpus {
		if !have[g] {
			return fmt.Errorf("gpu %d is not on this node (it has %d gpus)", g, len(c.cfg.Host.GPUs))
		}
		if seen[g] {
			return fmt.Errorf("gpu %d is given twice", g)
		}
		seen[g] = true
	}
	return nil
}

// gpuDeviceRules returns the device rules for an allocation's GPUs, or nil
// (no device restriction) when the host has no real GPU device nodes (no
// GPUs, or a dev agent's fakes). It fails closed: a GPU of the allocation
// whose device node cannot be found is an error that refuses the
// allocation, never a job left free to open every GPU of the host.
func (c *Client) gpuDeviceRules(gpus []int) (*cgroups.DeviceRules, error) {
	h := c.cfg.Host
	if h == nil || len(h.GPUs) == 0 || (h.Fake && c.cfg.DeviceDir == "") {
		return nil, nil
	}
	rules := &cgroups.DeviceRules{}
	for _, idx := range gpus {
		p, err := h.DevicePath(idx)
		if err != nil {
			return nil, fmt.Errorf("cannot restrict the job to its GPUs: no device node for gpu %d: %w", idx, err)
		}
		if c.cfg.DeviceDir != "" {
			p = filepath.Join(c.cfg.DeviceDir, filepath.Base(p))
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return nil, fmt.Errorf("cannot restrict the job to its GPUs: gpu %d's device node %s: %w", idx, p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR {
			return nil, fmt.Errorf("cannot restrict the job to its GPUs: gpu %d's device node %s is not a character device", idx, p)
		}
		rdev := uint64(st.Rdev)
		rules.GPUs = append(rules.GPUs, cgroups.Device{Major: int64(unix.Major(rdev)), Minor: int64(unix.Minor(rdev))})
	}
	return rules, nil
}

// startFailed records a task that could not be started, so that it is
// reported like any other end (and survives an agent restart).
func (r *allocRunner) startFailed(err error) *executor.ExitStatus {
	st := &executor.ExitStatus{Reason: structs.ExitStartFail, Message: err.Error(), EndTime: time.Now()}
	if he := (*hookError)(nil); errors.As(err, &he) {
		st.Reason = structs.ExitPrologFailed
	}
	if !exists(r.dir.path(allocFile)) {
		if werr := writeAllocFile(r.dir, r.alloc, nil); werr != nil {
			r.logger.Error("record start failure", "error", werr)
		}
	}
	if werr := executor.WriteJSONAtomic(r.dir.path(executor.ExitFile), st); werr != nil {
		r.logger.Error("record start failure", "error", werr)
	}
	return st
}

// executorEnv is the executor's environment: the agent's, with Go's
// runtime told to run Go code on one thread (the executor waits on its
// task and its files; it computes nothing). A thousand short jobs start a
// thousand executors, and fewer threads started and parked make each
// start about 9 % cheaper (`nai version` 200 times, perf stat -r 3: 2.87
// -> 2.60 ms of CPU each). The task's own environment is the spec's, not
// this.
func executorEnv(agent []string) []string {
	env := make([]string, 0, len(agent)+1)
	for _, kv := range agent {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			env = append(env, kv)
		}
	}
	return append(env, "GOMAXPROCS=1")
}
