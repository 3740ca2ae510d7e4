package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
// the executor joins it, forks the task (born inside it, so not one user
// instruction runs outside its limits) and returns to its own cgroups at
// once. It reports started=false, with no error, when it cannot record the
// executor's own cgroups, and on cgroup v2 hosts (where CLONE_INTO_CGROUP,
// Go's SysProcAttr.UseCgroupFD, would be the way; not yet done, and not
// testable on the v1 hosts we run on): the caller then uses the exec shim.
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
	if e.group != nil {
		if err := e.group.AddProc(os.Getpid()); err != nil {
			return true, fmt.Errorf("cannot join cgroup %s: %w", e.spec.Cgroup, err)
		}
	}
	p, err := os.StartProcess(path, e.spec.Argv, &os.ProcAttr{Dir: e.spec.Dir, Env: e.spec.Env, Files: files, Sys: sys})
	if origin != nil {
		if rerr := origin.Return(os.Getpid()); rerr != nil {
			// Staying would make the executor part of the task it must
			// kill: end the task now and fail the start.
			if err == nil {
				_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
				_, _ = p.Wait()
			}
			return true, fmt.Errorf("leave cgroup %s after starting the task: %w", e.spec.Cgroup, rerr)
		}
	}
	if err != nil {
		return true, e.notExec(files[2], 126, fmt.Sprintf("cannot start %q: %v", path, unwrapExec(err)))
	}
	e.pid = p.Pid
	_ = p.Release() // reaped by wait4, not by os.Process
	return true, nil
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
