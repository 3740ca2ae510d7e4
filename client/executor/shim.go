package executor

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/nai-project/nai/cgroups/cgroupfs"
)

// ShimMain is `nai exec-shim [-cgroup-parent P -cgroup NAME]
// [-start-error FILE] [-read-only DIR]... -- COMMAND ARGS...`. It joins the
// allocation's cgroup, makes the task's inputs read-only in a mount
// namespace of its own, and only then replaces itself with the task, so not one instruction of
// user code runs outside the cgroup's limits. The executor starts it with
// the task's environment, working dir and log files already in place. It
// is the fallback: on cgroup v1 the executor forks the task into its cgroup
// itself (direct.go), which saves this process's start.
func ShimMain(args []string) int {
	syscall.Umask(TaskUmask) // as the executor's, in case it was started otherwise
	fs := flag.NewFlagSet("exec-shim", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	parent := fs.String("cgroup-parent", "", "parent of the allocation's cgroup (empty: own cgroup)")
	name := fs.String("cgroup", "", "the allocation's cgroup (empty: none)")
	startErr := fs.String("start-error", "", "file that receives the reason when the task cannot start")
	uid := fs.Int("uid", -1, "run the task as this uid (after joining the cgroup)")
	gid := fs.Int("gid", -1, "primary group of the task")
	groups := fs.String("groups", "", "supplementary groups of the task, comma-separated")
	var readOnly dirList
	fs.Var(&readOnly, "read-only", "a dir the task sees read-only, in a mount namespace of its own (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	argv := fs.Args()
	fail := func(code int, format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintf(os.Stderr, "nai: %s\n", msg)
		if *startErr != "" {
			_ = os.WriteFile(*startErr, []byte(msg), 0o600)
		}
		return code
	}
	if len(argv) == 0 {
		return fail(2, "exec-shim: no command given")
	}
	if *name != "" {
		tree, err := cgroupfs.OpenTree(*parent, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return fail(126, "cannot open cgroups: %v", err)
		}
		g, err := tree.Open(*name)
		if err != nil {
			return fail(126, "cannot open cgroup %s: %v", *name, err)
		}
		if err := g.AddProc(os.Getpid()); err != nil {
			return fail(126, "cannot join cgroup %s: %v", *name, err)
		}
	}
	if len(readOnly) > 0 {
		// As the executor does (readonly.go), but for the whole shim: the
		// namespace is the thread's, and the task is what this thread
		// execs, so it stays locked.
		runtime.LockOSThread()
		entered, err := enterMountNS()
		if entered && err == nil {
			for _, d := range readOnly {
				if err = bindReadOnly(d); err != nil {
					break
				}
			}
		}
		switch {
		case !entered:
			fmt.Fprintf(os.Stderr, "nai: warning: the job's datasets and models are read-only by file permissions alone (%v)\n", err)
		case err != nil:
			return fail(126, "cannot make the task's datasets and models read-only: %v", err)
		}
	}
	if *uid >= 0 {
		// Drop root only after joining the cgroup: moving ourselves needs it.
		if err := becomeUser(*uid, *gid, *groups); err != nil {
			return fail(126, "cannot switch to the task user: %v", err)
		}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(127, "cannot start %q: %v", argv[0], err)
	}
	err = syscall.Exec(path, argv, os.Environ())
	return fail(126, "cannot start %q: %v", path, err)
}

// becomeUser switches every thread of this process to uid, gid and groups
// (Go applies these to all threads on Linux).
func becomeUser(uid, gid int, groups string) error {
	if gid < 0 {
		return fmt.Errorf("uid %d given without a gid", uid)
	}
	var gs []int
	for _, g := range strings.Split(groups, ",") {
		if g == "" {
			continue
		}
		n, err := strconv.Atoi(g)
		if err != nil {
			return fmt.Errorf("bad group id %q", g)
		}
		gs = append(gs, n)
	}
	if err := syscall.Setgroups(gs); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	return nil
}

// dirList is a repeatable flag.
type dirList []string

func (l *dirList) String() string { return strings.Join(*l, ",") }

func (l *dirList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
