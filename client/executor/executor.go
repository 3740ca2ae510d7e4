package executor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nai-project/nai/cgroups/cgroupfs"
	"github.com/nai-project/nai/structs"
	"golang.org/x/sys/unix"
)

// TaskUmask is the umask a task starts with: other users' tasks on the
// host must not read what it writes (its outputs, its checkpoints). A job
// can still chmod its own files, or set its own umask.
const TaskUmask = 0o077

// Main is `nai executor ALLOC_DIR`: the supervisor of one task. The agent
// starts it in a session of its own so that it outlives an agent restart.
// It starts the task (forking it itself, or through the exec shim),
// enforces the time limit, obeys stop requests (the stop file plus
// SIGTERM), and writes exit.json once the whole process tree is gone. It
// returns the process's exit code: 0 (whatever the task's end), 1 when it
// could not write its files or remove the cgroup, 2 for a usage error.
func Main(args []string) int {
	// Every file the task makes is its user's alone unless it says
	// otherwise (client/perms.go); the executor's own files are private
	// as well.
	syscall.Umask(TaskUmask)
	// Catch SIGTERM before anything else: the agent may ask for a stop as
	// soon as it has seen our pid file.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP)
	// SIGPIPE is caught, not ignored: an ignored signal stays ignored in
	// the task the executor forks, and a task expects the default.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// Children are reaped when SIGCHLD says one changed (reap): no thread
	// of ours sits in wait4 while the task runs. A caught SIGCHLD is the
	// default again in the task after its exec.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if len(args) != 1 || args[0] == "" {
		// The binary's own name: nai, nai-agent or nai-executor run it.
		fmt.Fprintf(os.Stderr, "usage: %s executor ALLOC_DIR\n", filepath.Base(os.Args[0]))
		return 2
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		logger.Error("executor: bad alloc dir", "dir", args[0], "error", err)
		return 2
	}
	// The agent gives every executor of the node one log file: each line
	// names its allocation (the dir's name is the allocation id).
	ch, err := openChannel()
	if err != nil {
		// Run this allocation all the same, and no other.
		logger.Warn("executor: no channel to the agent", "error", err)
	}
	e := &executor{dir: Dir(dir), logger: logger.With("alloc", filepath.Base(dir)), base: logger,
		sigs: sigs, chld: chld, ch: ch, trees: map[string]*cgroupfs.Tree{}}
	err = e.run()
	if ch != nil {
		return serve(ch, e, err) // channel.go
	}
	if err != nil {
		e.logger.Error("executor failed", "dir", dir, "error", err)
		return 1
	}
	return 0
}

type executor struct {
	dir Dir
	// lock holds the executor's lock on dir (LockDir) while it lives.
	lock   *os.File
	logger *slog.Logger
	base   *slog.Logger // logger without the allocation
	sigs   chan os.Signal
	// chld receives SIGCHLD (nil: reap blocks in wait4 instead).
	chld chan os.Signal
	// ch is the channel to the agent (channel.go), nil without one.
	ch *channel
	// trees are the cgroup trees opened so far, by parent: an executor
	// that runs many allocations reads mountinfo once.
	trees map[string]*cgroupfs.Tree
	spec  Spec
	group cgroupfs.Group
	tree  *cgroupfs.Tree // the tree group is in
	// cgVersion is the host's cgroup version when group is set.
	cgVersion int
	pid       int // the task's pid, also its process group
	start     time.Time

	reason  structs.ExitReason // set once a stop or the time limit began the end
	message string
}

func (e *executor) run() error {
	lock, err := LockDir(e.dir)
	if err != nil {
		return err
	}
	e.lock = lock
	if st, _ := e.dir.ReadExit(); st != nil {
		return nil // already ran: a task is never run twice
	}
	if err := becomeSubreaper(); err != nil {
		e.logger.Warn("cannot become child subreaper; daemonised children may escape without cgroups", "error", err)
	}
	spec, legacy, err := e.dir.ReadSpec()
	if legacy {
		// An older agent knows its executor by the pid file only.
		if err := WriteFileAtomic(e.dir.Path(PidFile), []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
			return err
		}
	}
	if err != nil {
		return e.finish(ExitStatus{Reason: structs.ExitStartFail, Message: fmt.Sprintf("read task spec: %v", err)})
	}
	e.spec = *spec
	if e.spec.Cgroup != "" {
		tree, err := e.openTree(e.spec.CgroupParent)
		if err == nil {
			e.tree, e.cgVersion = tree, tree.Version()
			e.group, err = tree.Open(e.spec.Cgroup)
		}
		if err != nil {
			return e.finish(ExitStatus{Reason: structs.ExitStartFail, Message: fmt.Sprintf("open cgroup %s: %v", e.spec.Cgroup, err)})
		}
	}
	// A stop that came before we could listen is in the stop file.
	if r, ok := e.stopRequested(); ok {
		return e.finish(ExitStatus{Reason: r, Message: "stopped before it started"})
	}
	if e.spec.Service != nil {
		return e.runService() // service.go
	}
	if err := e.startTask(); err != nil {
		var ne *notExecError
		if errors.As(err, &ne) {
			// Like a shell: 127 not found, 126 found but not runnable.
			code := ne.code
			return e.finish(ExitStatus{Reason: structs.ExitStartFail, Message: ne.msg, ExitCode: &code, StartTime: e.start})
		}
		return e.finish(ExitStatus{Reason: structs.ExitStartFail, Message: err.Error()})
	}

	exited := make(chan syscall.WaitStatus, 1)
	rusage := new(syscall.Rusage)
	go e.reap(exited, rusage)

	var limit <-chan time.Time
	if tl := e.spec.TimeLimit.D(); tl > 0 {
		t := time.NewTimer(tl - time.Since(e.start))
		defer t.Stop()
		limit = t.C
	}
	var grace <-chan time.Time
	var ws syscall.WaitStatus
wait:
	for {
		select {
		case ws = <-exited:
			break wait
		case <-e.sigs:
			r, _ := e.stopRequested()
			grace = e.terminate(r, "stopped: "+string(r), grace)
		case id := <-e.stopsFor():
			// The agent's stop over the channel names its allocation: a
			// late one for an allocation this executor ran before is
			// not for this one.
			if id == filepath.Base(string(e.dir)) {
				r, _ := e.stopRequested()
				grace = e.terminate(r, "stopped: "+string(r), grace)
			}
		case <-limit:
			grace = e.terminate(structs.ExitTimeLimit, "time limit of "+e.spec.TimeLimit.String()+" reached", grace)
		case <-grace:
			e.logger.Info("grace period over, killing the task")
			e.signalAll(syscall.SIGKILL)
			grace = nil
		}
	}
	end := time.Now()
	// The cgroup's usage is read before the cgroup goes (below), so it is
	// the task's at its end; what it left behind is killed at once.
	st := e.status(ws, rusage, end)
	if !e.removeEmptyGroup() {
		// Whatever the task left behind dies with it.
		e.killLeftovers()
	}
	return e.finish(st)
}

// removeEmptyGroup removes the task's cgroup, and reports true, when the
// task left nothing behind: no child of this executor (the subreaper of
// every orphan) and nothing in the cgroup, which the kernel's refusal to
// remove a cgroup that is not empty proves with one rmdir per hierarchy.
// Listing cgroup.procs and the child groups of each hierarchy, twice,
// and removing them came to 13 % of a reused executor's CPU in the
// 1000-job drain, the rmdirs alone to 6.6 %. Otherwise (or without
// cgroups) killLeftovers and finish check and remove as ever.
func (e *executor) removeEmptyGroup() bool {
	d, ok := e.group.(cgroupfs.EmptyDeleter)
	if !ok || hasChildren() {
		return false
	}
	gone, err := d.DeleteIfEmpty()
	if err != nil {
		e.logger.Warn("remove the task's cgroup", "error", err)
		return false
	}
	if gone {
		e.group = nil // finish has nothing left to remove
	}
	return gone
}

// openTree opens the cgroup tree below parent, once per parent.
func (e *executor) openTree(parent string) (*cgroupfs.Tree, error) {
	if t, ok := e.trees[parent]; ok {
		return t, nil
	}
	t, err := cgroupfs.OpenTree(parent, e.base)
	if err != nil {
		return nil, err
	}
	if e.trees != nil {
		e.trees[parent] = t
	}
	return t, nil
}

// startTask starts the task in its own process group with its
// environment, working dir and log files, inside its cgroup from its first
// instruction. The executor forks the task itself (direct.go); the exec
// shim, a second process that joins the cgroup and execs the task, is the
// fallback where the executor cannot visit the cgroup, or with
// NAI_EXEC_SHIM=1.
func (e *executor) startTask() error {
	if len(e.spec.Argv) == 0 {
		return errors.New("task has no command")
	}
	if e.spec.Logs == "" {
		if err := os.MkdirAll(filepath.Dir(e.dir.LogPath("stdout")), 0o700); err != nil {
			return fmt.Errorf("make log dir: %w", err)
		}
	}
	open := func(p string) (*os.File, error) {
		// The task's logs are for its owner (through the servers), not
		// for other users' tasks on the host.
		return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	}
	stdout, err := open(e.dir.logPath(&e.spec, "stdout"))
	if err != nil {
		return fmt.Errorf("open stdout log: %w", err)
	}
	defer stdout.Close()
	stderr, err := open(e.dir.logPath(&e.spec, "stderr"))
	if err != nil {
		return fmt.Errorf("open stderr log: %w", err)
	}
	defer stderr.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer devnull.Close()
	files := []*os.File{devnull, stdout, stderr}
	if err := checkTaskDir(e.spec.User, e.spec.Dir); err != nil { // taskdir.go
		return err
	}
	if os.Getenv("NAI_EXEC_SHIM") != "1" {
		started, err := e.startDirect(files)
		if started || err != nil {
			return err
		}
	}
	return e.startShim(files)
}

// startShim starts the task through `nai exec-shim`, run from the
// executor's own binary: whatever binary runs `executor` runs `exec-shim`
// too.
func (e *executor) startShim(files []*os.File) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	argv := []string{self, "exec-shim", "-start-error", e.dir.Path(StartErrorFile)}
	if e.spec.Cgroup != "" {
		argv = append(argv, "-cgroup-parent", e.spec.CgroupParent, "-cgroup", e.spec.Cgroup)
	}
	if e.spec.User != nil {
		argv = append(argv, e.spec.User.shimArgs()...)
	}
	if e.wantsReadOnly() {
		for _, d := range e.spec.ReadOnly {
			argv = append(argv, "-read-only", d)
		}
	}
	argv = append(argv, "--")
	argv = append(argv, e.spec.Argv...)
	e.start = time.Now()
	p, err := os.StartProcess(self, argv, &os.ProcAttr{
		Dir:   e.spec.Dir,
		Env:   e.spec.Env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return fmt.Errorf("start task in %s: %w", e.spec.Dir, err)
	}
	e.pid = p.Pid
	_ = p.Release() // reaped by wait4 below, not by os.Process
	return nil
}

// reap waits for the task's main process, reaping any other child (an
// orphan handed to us as subreaper) on the way. With SIGCHLD caught it
// waits for the signal between non-blocking wait4 calls, so that no thread
// blocks in the kernel while the task runs (the Go runtime then hands the
// executor's one P to another thread it may first have to create, and its
// monitor thread keeps waking to retake it); the buffered channel keeps a
// SIGCHLD that comes between the last wait4 and the receive.
func (e *executor) reap(exited chan<- syscall.WaitStatus, ru *syscall.Rusage) {
	flags := 0
	if e.chld != nil {
		flags = syscall.WNOHANG
	}
	for {
		var ws syscall.WaitStatus
		var r syscall.Rusage
		pid, err := syscall.Wait4(-1, &ws, flags, &r)
		switch {
		case err == syscall.EINTR:
		case err != nil:
			// No child at all: the main process is gone without a status.
			exited <- syscall.WaitStatus(0xff << 8)
			return
		case pid == e.pid:
			*ru = r
			exited <- ws
			return
		case pid == 0:
			<-e.chld // children alive, none has ended yet
		}
	}
}

// stopRequested reads the reason of a stop request.
func (e *executor) stopRequested() (structs.ExitReason, bool) {
	b, err := os.ReadFile(e.dir.Path(StopFile))
	if err != nil {
		return structs.ExitCancelled, false
	}
	switch r := structs.ExitReason(strings.TrimSpace(string(b))); r {
	case structs.ExitCancelled, structs.ExitPreempted, structs.ExitNodeLost, structs.ExitGPUFailed, structs.ExitNodeDrained,
		structs.ExitReplaced, structs.ExitScaledDown:
		return r, true
	default:
		return structs.ExitCancelled, true
	}
}

// terminate starts the end of the task: SIGTERM to everything it runs, and
// a grace period after which everything is killed. The first reason wins.
func (e *executor) terminate(r structs.ExitReason, msg string, grace <-chan time.Time) <-chan time.Time {
	if e.reason != "" {
		return grace
	}
	e.reason, e.message = r, msg
	e.logger.Info("terminating task", "reason", r)
	e.signalAll(syscall.SIGTERM)
	return time.After(e.spec.KillGrace.D())
}

// signalAll signals the task's process group, every process in its cgroup
// and every descendant of the executor, so children that changed their
// process group or session get it too.
func (e *executor) signalAll(sig syscall.Signal) {
	if e.pid > 0 {
		_ = syscall.Kill(-e.pid, sig)
	}
	if e.group != nil {
		if sig == syscall.SIGKILL {
			if err := e.group.Kill(); err != nil {
				e.logger.Warn("kill cgroup", "error", err)
			}
		} else if err := e.group.Signal(int(sig)); err != nil {
			e.logger.Warn("signal cgroup", "error", err)
		}
	}
	for _, p := range descendants(os.Getpid()) {
		_ = syscall.Kill(p, sig)
	}
}

// killLeftovers kills what remains after the main process ended and reaps
// it, so no process of the task survives it.
func (e *executor) killLeftovers() {
	deadline := time.Now().Add(10 * time.Second)
	for {
		// As subreaper we inherit every orphan of the task, so with no
		// child left there is no descendant either: the common case needs
		// no walk over /proc, which costs milliseconds on a busy host.
		var left []int
		if hasChildren() {
			left = descendants(os.Getpid())
		}
		inGroup := 0
		if e.group != nil {
			if pids, err := e.group.Pids(); err == nil {
				inGroup = len(pids)
			}
		}
		if len(left) == 0 && inGroup == 0 {
			break
		}
		e.signalAll(syscall.SIGKILL)
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			e.logger.Warn("task processes survive SIGKILL", "pids", left, "in_cgroup", inGroup)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// status says exactly how the task ended.
func (e *executor) status(ws syscall.WaitStatus, ru *syscall.Rusage, end time.Time) ExitStatus {
	st := ExitStatus{StartTime: e.start, EndTime: end, Reason: structs.ExitExited}
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	st.ExitCode = &code
	if e.group != nil {
		u, err := e.group.Usage()
		if err != nil {
			e.logger.Warn("read cgroup usage", "error", err)
		} else {
			st.Usage = u
		}
	}
	if st.Usage == nil {
		st.Usage = &structs.ResourceUsage{
			CPUSeconds:     tvSeconds(ru.Utime) + tvSeconds(ru.Stime),
			MaxMemoryBytes: ru.Maxrss << 10,
		}
	}
	if b, err := os.ReadFile(e.dir.Path(StartErrorFile)); err == nil {
		st.Reason, st.Message = structs.ExitStartFail, strings.TrimSpace(string(b))
		return st
	}
	switch {
	case e.reason != "":
		st.Reason, st.Message = e.reason, e.message
	case st.Usage.OOMKills > 0 && (code != 0 || ws.Signaled()):
		// Either the main process was OOM-killed or it died of a child
		// that was (bash running python reports 137): the cause is memory.
		st.Reason, st.Message = structs.ExitOOMKilled, "the task ran out of its memory limit"
	case ws.Signaled():
		st.Reason = structs.ExitReason("signal:" + unix.SignalName(ws.Signal()))
		st.Message = "killed by " + unix.SignalName(ws.Signal())
	}
	return st
}

// hasChildren reaps exited children and reports whether any child is left.
func hasChildren() bool {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case err == syscall.EINTR:
		case err != nil:
			return false // ECHILD: none
		case pid == 0:
			return true // alive children
		}
	}
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// finish writes exit.json and removes the cgroup.
func (e *executor) finish(st ExitStatus) error {
	if st.EndTime.IsZero() {
		st.EndTime = time.Now()
	}
	// exit.json is the one record of how the task ended: it must survive
	// a machine crash before the agent has reported it.
	b, err := marshalExit(&st)
	if err != nil {
		return fmt.Errorf("encode exit status: %w", err)
	}
	// The cgroup goes whatever happens to the record: an alloc dir removed
	// under a live executor must not leave the cgroup behind.
	werr := WriteFileDurable(e.dir.Path(ExitFile), append(b, '\n'))
	if werr == nil {
		e.logger.Info("task ended", "reason", st.Reason, "exit_code", fmtCode(st.ExitCode))
	}
	if e.group != nil {
		for i := 0; i < 50; i++ { // the kernel may need a moment after the last exit
			if err = e.group.Delete(); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			return errors.Join(werr, fmt.Errorf("remove cgroup %s: %w", e.spec.Cgroup, err))
		}
	}
	return werr
}

func fmtCode(c *int) string {
	if c == nil {
		return "none"
	}
	return strconv.Itoa(*c)
}
