package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func hookScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The prolog and epilog run around the task with the job's identity and
// directories; their output goes to the agent log, not to the servers.
func TestHooksRunAroundTask(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	if err := c.SetHooks(Hooks{
		Prolog: hookScript(t, dir, "prolog", `echo "$NAI_HOOK $NAI_JOB_ID $NAI_ALLOC_ID $NAI_JOB_USER $NAI_GPUS $SLURM_JOB_ID $(test -d "$NAI_WORK_DIR" && echo work)" >> `+seen),
		Epilog: hookScript(t, dir, "epilog", `echo "$NAI_HOOK $NAI_JOB_ID $NAI_EXIT_REASON $NAI_EXIT_CODE" >> `+seen),
	}); err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	job := scriptJob("j1", `echo "task ran" >> `+seen)
	job.User = "alice"
	a := newAlloc(c, job, 0, 2)
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	if st.Status != structs.AllocComplete || st.Hook != nil {
		t.Errorf("final status %s, hook %+v; want complete without a hook report", st.Status, st.Hook)
	}
	want := "prolog j1 j1.1 alice 0,2 j1 work\ntask ran\nepilog j1 exited 0\n"
	if got := readFile(t, seen); got != want {
		t.Errorf("hooks and task saw:\n%s\nwant:\n%s", got, want)
	}
}

// A prolog that exits 1 ends the allocation prolog-failed before the task
// starts, with the prolog's last line in the report; the epilog does not
// run after it.
func TestPrologFailure(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	if err := c.SetHooks(Hooks{
		Prolog: hookScript(t, dir, "prolog", "echo checking GPUs\necho 'GPU 1 fails its health check' >&2\nexit 1"),
		Epilog: hookScript(t, dir, "epilog", "echo epilog >> "+ran),
	}); err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	a := newAlloc(c, scriptJob("j2", "echo task >> "+ran), 1)
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	h := st.Hook
	if st.Status != structs.AllocFailed || st.ExitReason != structs.ExitPrologFailed || h == nil {
		t.Fatalf("final status %s (%s), hook %+v; want failed, prolog-failed, a hook report", st.Status, st.ExitReason, h)
	}
	if h.Hook != structs.HookProlog || h.ExitCode == nil || *h.ExitCode != 1 || h.Message != "exit status 1: GPU 1 fails its health check" ||
		h.Output != "checking GPUs\nGPU 1 fails its health check\n" || h.AllocID != a.ID {
		t.Errorf("hook report %+v", h)
	}
	if st.Message != "prolog failed: exit status 1: GPU 1 fails its health check" {
		t.Errorf("message %q", st.Message)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Errorf("the task or the epilog ran after a failed prolog: %s", readFile(t, ran))
	}
}

// An epilog that overruns its timeout is killed with what it started, and
// reported; the task's own end stands.
func TestEpilogTimeout(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "sleeper")
	if err := c.SetHooks(Hooks{
		Epilog:  hookScript(t, dir, "epilog", "sleep 60 &\necho $! > "+pidFile+"\nwait"),
		Timeout: 500 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	a := newAlloc(c, scriptJob("j3", "true"))
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	if st.Status != structs.AllocComplete || st.Hook == nil || !st.Hook.TimedOut || st.Hook.Message != "timed out after 500ms" {
		t.Fatalf("final status %s, hook %+v; want complete with a timed-out epilog", st.Status, st.Hook)
	}
	pid := readPids(t, pidFile)
	waitFor(t, 5*time.Second, "the epilog's child is killed", func() bool { return len(pid) == 1 && gone(pid[0]) })
}

func TestHooksConfig(t *testing.T) {
	c := &Client{}
	for _, h := range []Hooks{{Prolog: "relative/prolog"}, {Epilog: "epilog"}, {Timeout: -time.Second}} {
		if err := c.SetHooks(h); err == nil {
			t.Errorf("SetHooks(%+v) accepted", h)
		}
	}
	if err := c.SetHooks(Hooks{Prolog: "/etc/nai/prolog"}); err != nil || c.currentHooks().Timeout != DefaultHookTimeout {
		t.Errorf("SetHooks: %v, timeout %s", err, c.currentHooks().Timeout)
	}
	if got := lastLine("a\nb  \n\n"); got != "b" {
		t.Errorf("lastLine = %q", got)
	}
	tb := &tailBuffer{max: 4}
	tb.Write([]byte("abc"))
	tb.Write([]byte("defg"))
	if tb.String() != "defg" || !strings.HasSuffix("abcdefg", tb.String()) {
		t.Errorf("tail %q", tb.String())
	}
}
