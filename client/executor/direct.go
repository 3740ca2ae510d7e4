package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/nai-project/nai/cgroups/cgroupfs"
)

// notExecError is a task whose command could not be run: not found (127)
// or not executable (126). The task counts as started and failed at once,
// as it would under a shell.
type notExecError struct {
	code int
	msg  string
}

func (e *notExecError) Error() string { return e.msg }

// startDirect forks the task from the executor itself, saving the exec
// shim's process start (a few milliseconds of CPU per job). With a cgroup
// one thread of the executor joins it, forks the task (born inside it, so
// not one user instruction runs outside its limits) and returns to the
// executor's own cgroups at once (forkInGroup), which also gives a task
// with read-only inputs its mount namespace. It reports started=false,
// with no error, when it cannot record the executor's own cgroups, and on
// cgroup v2 hosts (where CLONE_INTO_CGROUP, Go's SysProcAttr.UseCgroupFD,
// would be the way; not yet done, and not testable on the v1 hosts we run
// on): the caller then uses the exec shim.
func (e *executor) startDirect(files []*os.File) (started bool, err error) {
	var origin *cgroupfs.Origin
	if e.group != nil && e.cgVersion != 1 {
		return false, nil
	}
	if e.group != nil {
		origin, err = e.tree.Origin()
		if err != nil {
			e.logger.Warn("cannot record own cgroups; starting the task through the exec shim", "error", err)
			return false, nil
		}
	}
	if st, err := os.Stat(e.spec.Dir); err != nil {
		return true, fmt.Errorf("start task in %s: %w", e.spec.Dir, err)
	} else if !st.IsDir() {
		return true, fmt.Errorf("start task in %s: not a directory", e.spec.Dir)
	}
	e.start = time.Now()
	path, err := lookPathIn(e.spec.Argv[0], e.spec.Dir, e.spec.Env)
	if u := e.spec.User; otherUser(u) {
		// Looked up as root: say no more than the task's user could
		// find out (taskdir.go) of a command in a dir it cannot reach.
		p := path
		if err != nil && strings.Contains(e.spec.Argv[0], "/") {
			if p = e.spec.Argv[0]; !filepath.IsAbs(p) {
				p = filepath.Join(e.spec.Dir, p)
			}
		}
		if p != "" && !userReaches(u, filepath.Dir(p)) {
			path, err = "", errors.New("not found, or the task user cannot reach it")
		}
	}
	if err != nil {
		return true, e.notExec(files[2], 127, fmt.Sprintf("cannot start %q: %v", e.spec.Argv[0], err))
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if u := e.spec.User; u != nil {
		sys.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
		if sys.Credential.Groups == nil {
			sys.Credential.Groups = []uint32{} // none, not root's
		}
	}
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	// syscall.StartProcess, not os.StartProcess: os's first start in a
	// process checks that pidfds work by forking a child that exits at
	// once, a second process start for every job.
	attr := &syscall.ProcAttr{Dir: e.spec.Dir, Env: e.spec.Env, Files: fds, Sys: sys}
	var pid int
	var execErr error // the command could not be run
	if e.group != nil || e.wantsReadOnly() {
		pid, execErr, err = e.forkInGroup(origin, path, attr)
		if err != nil {
			return true, err
		}
	} else {
		pid, _, execErr = syscall.StartProcess(path, e.spec.Argv, attr)
	}
	runtime.KeepAlive(files)
	if execErr != nil {
		return true, e.notExec(files[2], 126, fmt.Sprintf("cannot start %q: %v", path, unwrapExec(execErr)))
	}
	e.pid = pid // reaped by wait4
	return true, nil
}

type forkResult struct {
	pid       int
	err       error // the start's (the task did not start)
	returnErr error // the way back's
	joinErr   error // the way in's
	nsErr     error // the read-only inputs' (readonly.go)
}

// forkInGroup forks the task inside the allocation's cgroup. On cgroup v1
// only a thread of the executor visits the cgroup (AddThread: no
// whole-process migration, which waits for the kernel's threadgroup lock
// and an RCU grace period, and moves every thread), forks the task there,
// and returns (Origin.ReturnThread); elsewhere the whole executor visits.
// Either way the task is born in the cgroup.
//
// Measured 2026-12-03 on the shared 2-core VM (cgroup v1, kernel 6.18),
// 300 alternating runs each of an executor running /bin/true in a fresh
// cgroup, CPU of executor and task from rusage: median 6.13 ms with the
// whole-process visit and os.StartProcess, 5.70 ms with this (thread visit,
// syscall.StartProcess, control files by plain syscalls); a lone
// executor's wall time 11.5 -> 6.3 ms, as the first cgroup.procs move after
// a quiet spell waited 7 ms for an RCU grace period and the thread's move
// took 0.11-0.15 ms. Of the CPU, the thread visit alone saves 1-3 %
// (BenchmarkExecutorInCgroup); the rest is syscall.StartProcess,
// cgroupfs's plain syscalls and OpenTree. In the 1000-job drain (e2e
// TestBench/Drain1000, load average 6-10 from other users), the same build with and without
// NAI_EXEC_PROCESS_MOVE=1 in four alternating pairs: the thread visit won
// every pair, wall median 6.56 -> 5.94 s, executors 4.47 -> 4.29 ms of CPU
// a job, the agent 3.33 -> 3.17 (it primes no more). Against the build
// before these changes, seven pairs: within the noise (6.02 against
// 6.13 s; executors 4.38 against 4.34 ms).
//
// A task with read-only inputs (Spec.ReadOnly) is forked from a thread of
// its own as well, which first enters the task's mount namespace
// (readonly.go) and ends with its goroutine, as that namespace is not the
// executor's; without a cgroup that thread visits none.
//
// It returns the task's pid, or the fork's error (execErr: the command
// could not be run), or err when the executor could not visit the cgroup
// or come back, or could not make the inputs read-only (then no task runs).
func (e *executor) forkInGroup(origin *cgroupfs.Origin, path string, attr *syscall.ProcAttr) (pid int, execErr, err error) {
	var tj cgroupfs.ThreadJoiner
	thread := false
	if e.group != nil {
		tj, thread = e.group.(cgroupfs.ThreadJoiner)
		if os.Getenv("NAI_EXEC_PROCESS_MOVE") == "1" {
			thread = false // the whole-process visit, for comparison and as a way out
		}
	}
	readOnly := e.wantsReadOnly()
	ch := make(chan forkResult, 1)
	visit := func() {
		var r forkResult
		defer func() { ch <- r }()
		if thread || readOnly {
			// The thread must stay this goroutine's until it is back: a
			// thread left in the task's cgroup or mount namespace ends
			// with the goroutine (a locked thread is not reused), so it
			// is unlocked only once it is back.
			runtime.LockOSThread()
		}
		tainted := false
		if readOnly {
			if tainted, r.nsErr = e.enterReadOnlyInputs(); r.nsErr != nil {
				return // before the cgroup: nothing to come back from
			}
		}
		if e.group == nil {
			r.pid, _, r.err = syscall.StartProcess(path, e.spec.Argv, attr)
		} else {
			if thread {
				r.joinErr = tj.AddThread()
			} else {
				r.joinErr = e.group.AddProc(os.Getpid())
			}
			if r.joinErr == nil {
				r.pid, _, r.err = syscall.StartProcess(path, e.spec.Argv, attr)
			}
			// Back even after a failed join: it may have moved into some
			// of the hierarchies.
			if thread {
				r.returnErr = origin.ReturnThread()
			} else {
				r.returnErr = origin.Return(os.Getpid())
			}
		}
		if (thread || readOnly) && r.returnErr == nil && !tainted {
			runtime.UnlockOSThread()
		}
	}
	if thread || readOnly {
		go visit()
	} else {
		visit()
	}
	r := <-ch
	if r.nsErr != nil {
		return 0, nil, r.nsErr
	}
	if r.returnErr != nil {
		// Staying would make the executor part of the task it must
		// kill: end the task now and fail the start.
		if r.joinErr == nil && r.err == nil {
			_ = syscall.Kill(-r.pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(r.pid, &ws, 0, nil)
		}
		return 0, nil, fmt.Errorf("leave cgroup %s after starting the task: %w", e.spec.Cgroup, r.returnErr)
	}
	if r.joinErr != nil {
		return 0, nil, fmt.Errorf("cannot join cgroup %s: %w", e.spec.Cgroup, r.joinErr)
	}
	return r.pid, r.err, nil
}

// notExec records why the command could not run, in the task's stderr log
// as well (where the user looks first), and returns it as an error.
func (e *executor) notExec(stderr *os.File, code int, msg string) error {
	_, _ = fmt.Fprintf(stderr, "nai: %s\n", msg)
	return &notExecError{code: code, msg: msg}
}

func unwrapExec(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lookPathIn finds the command as the exec shim's exec.LookPath would in
// the task's environment: a name with a slash as it is (relative to the
// task's dir), any other along the task's PATH, whose relative entries are
// refused as Go refuses them.
func lookPathIn(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := isExecutable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(envValue(env, "PATH")) {
		if !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("executable file not found in $PATH")
}

func isExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s: %w", p, fs.ErrPermission)
	}
	return nil
}

// envValue is the first value of key in env, as the task's getenv sees it.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
