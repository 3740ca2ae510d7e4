package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// Node hooks (structs/hooks.go) are the operator's prolog and epilog,
// Slurm's Prolog and Epilog:
//
//	start:  stage code and data, make dirs -> prolog -> cgroup, executor
//	report: executor gone -> epilog -> upload outputs -> final status
//
// Each runs as the agent's user, in the allocation's dir, with the job's
// id, user, GPUs and directories in its environment, and is killed (its
// whole process group) when it overruns the timeout. A prolog that fails
// ends the allocation with reason prolog-failed before the task starts; an
// epilog that fails leaves the job's end as it was. Either way the failure
// goes to the servers with the final status, and they drain the node. The
// output of every run goes to the agent's log; a failed run's is written
// to hook.json in the alloc dir first, so an agent restarted in between
// still reports it (and does not run the epilog twice).

// DefaultHookTimeout is how long a hook may run when the configuration
// does not say.
const DefaultHookTimeout = 30 * time.Second

// Hooks are a client's node hooks.
type Hooks struct {
	Prolog  string // absolute path of an executable; "" for none
	Epilog  string
	Timeout time.Duration // 0: DefaultHookTimeout
}

// Files of the hooks in an alloc dir.
const (
	hookFile       = "hook.json"   // a failed hook's report
	epilogDoneFile = "epilog-done" // the epilog ran (whatever its end)
)

// hookError is a failed prolog: the allocation ends prolog-failed.
type hookError struct{ report *structs.HookReport }

func (e *hookError) Error() string { return e.report.DrainReason() }

func (h Hooks) check() error {
	for name, p := range map[string]string{"prolog": h.Prolog, "epilog": h.Epilog} {
		if p != "" && !filepath.IsAbs(p) {
			return fmt.Errorf("client: %s %q is not an absolute path", name, p)
		}
	}
	if h.Timeout < 0 {
		return fmt.Errorf("client: hook timeout %s is negative", h.Timeout)
	}
	return nil
}

// SetHooks replaces the node hooks (the agent's configuration reload). An
// allocation whose prolog has begun finishes with the hooks it began with.
func (c *Client) SetHooks(h Hooks) error {
	if err := h.check(); err != nil {
		return err
	}
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	c.hooks = h
	return nil
}

func (c *Client) currentHooks() Hooks {
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	h := c.hooks
	if h.Timeout == 0 {
		h.Timeout = DefaultHookTimeout
	}
	return h
}

// prolog runs the node's prolog, if it has one, before the task starts.
func (r *allocRunner) prolog(checkpointDir string) error {
	h := r.c.currentHooks()
	if h.Prolog == "" {
		return nil
	}
	rep := r.runHook(structs.HookProlog, h.Prolog, h.Timeout, r.hookEnv(structs.HookProlog, checkpointDir, nil))
	if rep == nil {
		return nil
	}
	r.setHook(rep)
	return &hookError{report: rep}
}

// epilog runs the node's epilog, if it has one, once the task has ended:
// once per allocation, and not after a failed prolog (the task never
// started).
func (r *allocRunner) epilog(st *executor.ExitStatus) {
	h := r.c.currentHooks()
	if h.Epilog == "" || st.Reason == structs.ExitPrologFailed || r.alloc.Job == nil || exists(r.dir.path(epilogDoneFile)) {
		return
	}
	ckpt := filepath.Join(r.c.cfg.DataDir, "checkpoints", r.alloc.JobID)
	rep := r.runHook(structs.HookEpilog, h.Epilog, h.Timeout, r.hookEnv(structs.HookEpilog, ckpt, st))
	if rep != nil {
		r.setHook(rep)
	}
	if err := executor.WriteFileAtomic(r.dir.path(epilogDoneFile), []byte(time.Now().UTC().Format(time.RFC3339)+"\n")); err != nil {
		r.logger.Error("record epilog run", "error", err)
	}
}

// setHook records a failed hook's report in hook.json, and in memory for
// when the file cannot be written (a full disk: disk.go), so that the
// final status carries it all the same.
func (r *allocRunner) setHook(rep *structs.HookReport) {
	r.mu.Lock()
	r.hook = rep
	r.mu.Unlock()
	if err := executor.WriteJSONAtomic(r.dir.path(hookFile), rep); err != nil {
		r.logger.Error("record "+string(rep.Hook)+" failure", "error", err)
	}
}

// hookFailure reads the failed hook of this allocation, if any.
func (r *allocRunner) hookFailure() *structs.HookReport {
	b, err := os.ReadFile(r.dir.path(hookFile))
	if err != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.hook
	}
	var rep structs.HookReport
	if err := json.Unmarshal(b, &rep); err != nil {
		r.logger.Error("unreadable hook report", "error", err)
		return nil
	}
	return &rep
}

// hookEnv is a hook's environment: who and where, as Slurm gives its
// prolog (SLURM_JOB_ID, SLURM_JOB_USER, CUDA_VISIBLE_DEVICES), and for
// the epilog how the task ended.
func (r *allocRunner) hookEnv(hook structs.HookName, checkpointDir string, st *executor.ExitStatus) []string {
	a, j := r.alloc, r.alloc.Job
	gpus := make([]string, len(a.GPUs))
	for i, g := range a.GPUs {
		gpus[i] = strconv.Itoa(g)
	}
	env := map[string]string{
		"PATH":                 defaultPath,
		"LANG":                 defaultLang,
		"NAI_HOOK":             string(hook),
		"NAI_JOB_ID":           a.JobID,
		"NAI_ALLOC_ID":         a.ID,
		"NAI_JOB_NAME":         j.Name,
		"NAI_JOB_USER":         j.User,
		"NAI_JOB_GROUP":        j.Group,
		"NAI_TASK_USER":        j.Task.User,
		"NAI_ATTEMPT":          strconv.Itoa(a.Attempt),
		"NAI_NODE_NAME":        r.c.nodeName(),
		"NAI_GPUS":             strings.Join(gpus, ","),
		"CUDA_VISIBLE_DEVICES": strings.Join(gpus, ","),
		"NAI_ALLOC_DIR":        string(r.dir),
		"NAI_WORK_DIR":         r.dir.workDir(),
		"NAI_OUTPUT_DIR":       r.dir.outputDir(),
		"NAI_CHECKPOINT_DIR":   checkpointDir,
		"SLURM_JOB_ID":         a.JobID,
		"SLURM_JOB_NAME":       j.Name,
		"SLURM_JOB_USER":       j.User,
	}
	if v := os.Getenv("PATH"); v != "" {
		env["PATH"] = v
	}
	if st != nil {
		env["NAI_EXIT_REASON"] = string(st.Reason)
		if st.ExitCode != nil {
			env["NAI_EXIT_CODE"] = strconv.Itoa(*st.ExitCode)
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runHook runs one hook to its end or its timeout and returns nil when it
// exited 0, else the failure's report. Its output goes to the agent log.
func (r *allocRunner) runHook(hook structs.HookName, path string, timeout time.Duration, env []string) *structs.HookReport {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = string(r.dir)
	cmd.Env = env
	out := &tailBuffer{max: structs.MaxHookOutput}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a timeout kills what it started too; and
	// a grandchild that keeps the output pipe open does not hold us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	log := r.logger.With("hook", string(hook), "path", path, "took", took.Round(time.Millisecond).String(), "output", out.String())
	if err == nil {
		log.Info("node hook ran")
		return nil
	}
	rep := &structs.HookReport{Hook: hook, Path: path, AllocID: r.alloc.ID, JobID: r.alloc.JobID,
		Output: out.String(), Duration: structs.Duration(took), Time: time.Now().UTC()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		rep.TimedOut = true
		rep.Message = fmt.Sprintf("timed out after %s", timeout)
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		code := ee.ExitCode()
		rep.ExitCode = &code
		rep.Message = fmt.Sprintf("exit status %d", code)
	case errors.As(err, &ee):
		rep.Message = ee.String() // killed by a signal
	default:
		rep.Message = "cannot run " + path + ": " + err.Error()
	}
	if line := lastLine(out.String()); line != "" && !rep.TimedOut {
		rep.Message += ": " + line
	}
	if len(rep.Message) > structs.MaxHookMessage {
		rep.Message = rep.Message[:structs.MaxHookMessage]
	}
	log.Warn("node hook failed: the node will be drained", "reason", rep.Message)
	return rep
}

// lastLine is the last non-empty line of s, shortened to 200 bytes.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200] + "..."
	}
	return l
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = bytes.Clone(t.b[len(t.b)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.ToValidUTF8(string(t.b), "?")
}
