package executor

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/structs"
)

func TestExecutorExit(t *testing.T) {
	tests := []struct {
		name       string
		argv       []string
		wantCode   *int
		wantReason structs.ExitReason
		wantStdout string
		wantStderr string
		wantMsg    string // substring of the message
	}{
		{name: "success", argv: []string{"true"}, wantCode: intPtr(0), wantReason: structs.ExitExited},
		{name: "exit code", argv: []string{"sh", "-c", "exit 3"}, wantCode: intPtr(3), wantReason: structs.ExitExited},
		{name: "logs", argv: []string{"sh", "-c", "echo out; echo err >&2"}, wantCode: intPtr(0), wantReason: structs.ExitExited,
			wantStdout: "out\n", wantStderr: "err\n"},
		{name: "segfault", argv: []string{"sh", "-c", "kill -SEGV $$"}, wantCode: intPtr(128 + 11), wantReason: "signal:SIGSEGV"},
		{name: "killed", argv: []string{"sh", "-c", "kill -KILL $$"}, wantCode: intPtr(128 + 9), wantReason: "signal:SIGKILL"},
		{name: "command not found", argv: []string{"no-such-command-nai"}, wantCode: intPtr(127), wantReason: structs.ExitStartFail,
			wantMsg: "no-such-command-nai"},
		{name: "bash script stops at first error", argv: []string{"/bin/bash", "-e", "-c", "false\necho never"}, wantCode: intPtr(1),
			wantReason: structs.ExitExited, wantStdout: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, cmd := startExecutor(t, Spec{AllocID: "a1", Argv: tc.argv})
			st := waitExecutor(t, dir, cmd)
			if diff := cmp.Diff(tc.wantCode, st.ExitCode); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			if st.Reason != tc.wantReason {
				t.Errorf("reason = %q, want %q (message %q)", st.Reason, tc.wantReason, st.Message)
			}
			if !strings.Contains(st.Message, tc.wantMsg) {
				t.Errorf("message %q does not mention %q", st.Message, tc.wantMsg)
			}
			if got := readFile(t, dir.LogPath("stdout")); got != tc.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tc.wantStdout)
			}
			if tc.wantStderr != "" {
				if got := readFile(t, dir.LogPath("stderr")); got != tc.wantStderr {
					t.Errorf("stderr = %q, want %q", got, tc.wantStderr)
				}
			}
			if st.StartTime.IsZero() || st.EndTime.Before(st.StartTime) {
				t.Errorf("times: start %v end %v", st.StartTime, st.EndTime)
			}
			if exists(dir.Path(PidFile)) {
				t.Error("executor.pid written for a spec in alloc.json: the lock names the executor")
			}
			if pid := dir.LivePid(); pid != 0 {
				t.Errorf("LivePid after the executor ended = %d, want 0", pid)
			}
		})
	}
}

// The agent finds a live executor by its lock on the alloc dir; one of an
// older agent's dir (the spec in executor.json) writes executor.pid too.
func TestExecutorLivePid(t *testing.T) {
	dir, cmd := startExecutor(t, Spec{AllocID: "a1", Argv: []string{"sleep", "30"}})
	waitFor(t, 10*time.Second, "the executor's lock", func() bool { return dir.LivePid() == cmd.Process.Pid })
	if exists(dir.Path(PidFile)) {
		t.Error("executor.pid written although alloc.json holds the spec")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if pid := dir.LivePid(); pid != 0 {
		t.Errorf("LivePid of a killed executor = %d, want 0", pid)
	}

	legacy := Dir(t.TempDir())
	spec := Spec{AllocID: "a2", Argv: []string{"true"}, Dir: string(legacy), Env: []string{"PATH=" + defaultPath}}
	if err := WriteJSONAtomic(legacy.Path(SpecFile), spec); err != nil {
		t.Fatal(err)
	}
	runExecutorOn(t, legacy)
	if st, _ := legacy.ReadExit(); st == nil || st.Reason != structs.ExitExited {
		t.Errorf("legacy spec: exit %+v, want exited", st)
	}
	if legacy.ReadPid() == 0 {
		t.Error("no executor.pid for an older agent's dir")
	}
}

func TestExecutorStartFailures(t *testing.T) {
	t.Run("missing workdir", func(t *testing.T) {
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Argv: []string{"true"}, Dir: "/nonexistent/nai"})
		st := waitExecutor(t, dir, cmd)
		if st.Reason != structs.ExitStartFail || st.ExitCode != nil || !strings.Contains(st.Message, "/nonexistent/nai") {
			t.Errorf("got reason %q code %v message %q; want start-failed without exit code naming the dir", st.Reason, st.ExitCode, st.Message)
		}
	})
	t.Run("stopped before start", func(t *testing.T) {
		dir := Dir(t.TempDir())
		if err := os.WriteFile(dir.Path(StopFile), []byte("preempted\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		spec := Spec{AllocID: "a1", Argv: []string{"sh", "-c", "echo ran > ran"}, Dir: string(dir), Env: []string{"PATH=" + defaultPath}}
		if err := WriteJSONAtomic(dir.Path(SpecFile), spec); err != nil {
			t.Fatal(err)
		}
		runExecutorOn(t, dir)
		st, _ := dir.ReadExit()
		if st == nil || st.Reason != structs.ExitPreempted || exists(dir.Path("ran")) {
			t.Errorf("exit %+v, task ran: %v; want preempted without running", st, exists(dir.Path("ran")))
		}
	})
	t.Run("never runs twice", func(t *testing.T) {
		dir := Dir(t.TempDir())
		spec := Spec{AllocID: "a1", Argv: []string{"sh", "-c", "echo x >> runs"}, Dir: string(dir), Env: []string{"PATH=" + defaultPath}}
		if err := WriteJSONAtomic(dir.Path(SpecFile), spec); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			runExecutorOn(t, dir)
		}
		if got := readFile(t, dir.Path("runs")); got != "x\n" {
			t.Errorf("task ran %d times, want once", strings.Count(got, "x"))
		}
	})
}

// TestExecutorKillsTree checks that the time limit and a stop request
// kill a task's whole tree, children in other process groups and sessions
// included, with the right reason.
func TestExecutorKillsTree(t *testing.T) {
	const tree = `sleep 100 & echo $! >> "$ALLOC/pids"
setsid sleep 100 & echo $! >> "$ALLOC/pids"
sh -c 'trap "" TERM; sleep 100' & echo $! >> "$ALLOC/pids"
echo $$ >> "$ALLOC/pids"
wait`
	tests := []struct {
		name       string
		timeLimit  time.Duration
		stop       string // stop file content; "" for none
		wantReason structs.ExitReason
		cgroups    bool
	}{
		{name: "time limit", timeLimit: 500 * time.Millisecond, wantReason: structs.ExitTimeLimit},
		{name: "cancel", stop: "cancelled", wantReason: structs.ExitCancelled},
		{name: "preempt", stop: "preempted", wantReason: structs.ExitPreempted},
		{name: "cancel in cgroup", stop: "cancelled", wantReason: structs.ExitCancelled, cgroups: true},
		{name: "time limit in cgroup", timeLimit: 500 * time.Millisecond, wantReason: structs.ExitTimeLimit, cgroups: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := Spec{AllocID: "a1", Argv: []string{"sh", "-c", tree}, TimeLimit: structs.Duration(tc.timeLimit)}
			if tc.cgroups {
				spec.Cgroup = makeCgroup(t, cgroups.Limits{Pids: 100})
			}
			dir, cmd := startExecutor(t, spec)
			pidsFile := dir.Path("pids")
			waitFor(t, 10*time.Second, "the task tree to start", func() bool { return len(readPids(t, pidsFile)) == 4 })
			pids := readPids(t, pidsFile)
			if tc.stop != "" {
				if err := os.WriteFile(dir.Path(StopFile), []byte(tc.stop), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			st := waitExecutor(t, dir, cmd)
			if st.Reason != tc.wantReason {
				t.Errorf("reason = %q, want %q", st.Reason, tc.wantReason)
			}
			for _, p := range pids {
				if !gone(p) {
					t.Errorf("pid %d survived (task pids %v)", p, pids)
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
		})
	}
}

func TestExecutorInCgroup(t *testing.T) {
	t.Run("task runs inside its cgroup and the cgroup is removed", func(t *testing.T) {
		name := makeCgroup(t, cgroups.Limits{Pids: 100})
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Cgroup: name,
			Argv: []string{"sh", "-c", "cat /proc/self/cgroup"}})
		st := waitExecutor(t, dir, cmd)
		if st.Reason != structs.ExitExited || *st.ExitCode != 0 {
			t.Fatalf("exit %+v", st)
		}
		out := readFile(t, dir.LogPath("stdout"))
		if !strings.Contains(out, name) {
			t.Errorf("task's /proc/self/cgroup does not name %s:\n%s", name, out)
		}
		if st.Usage == nil {
			t.Errorf("no usage read from the cgroup")
		}
		m := testCgroups(t)
		if _, err := m.Open(name); err == nil {
			t.Errorf("cgroup %s still exists after the task ended", name)
		}
	})
	// A task that ends well but leaves a daemon in its cgroup: the quick
	// removal of an empty cgroup must not be taken, the daemon dies and
	// the cgroup goes.
	t.Run("a daemon left behind dies with the task", func(t *testing.T) {
		name := makeCgroup(t, cgroups.Limits{Pids: 100})
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Cgroup: name,
			Argv: []string{"sh", "-c", `setsid sleep 100 & echo $! > "$ALLOC/pids"; sleep 0.2`}})
		st := waitExecutor(t, dir, cmd)
		if st.Reason != structs.ExitExited || *st.ExitCode != 0 {
			t.Fatalf("exit %+v", st)
		}
		pids := readPids(t, dir.Path("pids"))
		if len(pids) != 1 {
			t.Fatalf("pids %v, want the daemon's", pids)
		}
		if !gone(pids[0]) {
			t.Errorf("daemon %d survived its task", pids[0])
			_ = syscall.Kill(pids[0], syscall.SIGKILL)
		}
		if _, err := testCgroups(t).Open(name); err == nil {
			t.Errorf("cgroup %s still exists after the task ended", name)
		}
	})
	t.Run("oom-killed under 64MiB", func(t *testing.T) {
		name := makeCgroup(t, cgroups.Limits{MemoryBytes: 64 << 20, Pids: 100})
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Cgroup: name,
			Argv: []string{selfExe(t), "test-helper", "alloc-mib", "512"}})
		st := waitExecutor(t, dir, cmd)
		if st.Reason != structs.ExitOOMKilled {
			t.Errorf("reason = %q (code %v, usage %+v), want oom-killed", st.Reason, fmtCode(st.ExitCode), st.Usage)
		}
		if st.Usage == nil || st.Usage.OOMKills == 0 {
			t.Errorf("usage %+v does not count the OOM kill", st.Usage)
		}
	})
	t.Run("bad cgroup name fails the start", func(t *testing.T) {
		if testCgroups(t) == nil {
			t.Skip("cgroups unavailable on this host")
		}
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Cgroup: "nai-does-not-exist", Argv: []string{"sh", "-c", "echo ran"}})
		st := waitExecutor(t, dir, cmd)
		if st.Reason != structs.ExitStartFail {
			t.Errorf("reason = %q, want start-failed", st.Reason)
		}
		if out, _ := os.ReadFile(filepath.Join(string(dir), "logs", "stdout")); len(out) > 0 {
			t.Errorf("task ran outside its cgroup: %q", out)
		}
	})
}

// With Logs set to LogsHere the streams are files of the alloc dir itself,
// and no logs/ dir is made.
func TestExecutorLogsHere(t *testing.T) {
	dir, cmd := startExecutor(t, Spec{AllocID: "a1", Argv: []string{"sh", "-c", "echo out; echo err >&2"}, Logs: LogsHere})
	if st := waitExecutor(t, dir, cmd); st.Reason != structs.ExitExited {
		t.Fatalf("exit %+v, want exited", st)
	}
	if got := readFile(t, dir.Path("stdout")); got != "out\n" {
		t.Errorf("stdout = %q, want %q", got, "out\n")
	}
	if got := readFile(t, dir.Path("stderr")); got != "err\n" {
		t.Errorf("stderr = %q, want %q", got, "err\n")
	}
	if exists(dir.Path("logs")) {
		t.Error("logs/ made although the spec keeps the logs in the alloc dir")
	}
}

// reap returns the main process's status, whether it waits for SIGCHLD
// between non-blocking wait4 calls (as Main runs it) or blocks in wait4,
// and reaps the other children it meets on the way.
func TestReap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sigchld bool
		other   bool // another child, which ends first
		code    int
	}{
		{name: "SIGCHLD", sigchld: true, code: 3},
		{name: "SIGCHLD, another child first", sigchld: true, other: true, code: 4},
		{name: "blocking", code: 5},
		{name: "blocking, another child first", other: true, code: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &executor{}
			if tc.sigchld {
				e.chld = make(chan os.Signal, 1)
				signal.Notify(e.chld, syscall.SIGCHLD)
				defer signal.Stop(e.chld)
			}
			start := func(script string) int {
				pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", script}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
				if err != nil {
					t.Fatal(err)
				}
				return pid
			}
			var other int
			if tc.other {
				other = start("exit 0")
			}
			e.pid = start(fmt.Sprintf("sleep 0.2; exit %d", tc.code))
			exited := make(chan syscall.WaitStatus, 1)
			var ru syscall.Rusage
			go e.reap(exited, &ru)
			select {
			case ws := <-exited:
				if ws.ExitStatus() != tc.code {
					t.Errorf("status %v, want exit %d", ws, tc.code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("reap did not return")
			}
			if other > 0 {
				if err := syscall.Kill(other, 0); err != syscall.ESRCH {
					t.Errorf("the other child %d was not reaped (kill 0: %v)", other, err)
				}
			}
		})
	}
}
