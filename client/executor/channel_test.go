package executor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
	"golang.org/x/sys/unix"
)

// chanExecutor is an executor started with a channel, as the agent starts
// one it may reuse.
type chanExecutor struct {
	ino   uint64 // the socket inode of the executor's end
	cmd   *exec.Cmd
	conn  *os.File
	lines *bufio.Scanner
}

// writeSpec writes spec into a fresh alloc dir named name.
func writeSpec(t *testing.T, name string, spec Spec) Dir {
	t.Helper()
	dir := Dir(filepath.Join(t.TempDir(), name))
	if err := os.MkdirAll(dir.Path("work"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec.AllocID = name
	if spec.Dir == "" {
		spec.Dir = dir.Path("work")
	}
	if spec.Env == nil {
		spec.Env = []string{"PATH=" + defaultPath}
	}
	if spec.KillGrace == 0 {
		spec.KillGrace = structs.Duration(300 * time.Millisecond)
	}
	spec.Logs = LogsHere
	if err := WriteJSONAtomic(dir.Path(AllocFile), AllocRecord{Executor: &spec}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startChanExecutor(t *testing.T, dir Dir) *chanExecutor {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "agent"), os.NewFile(uintptr(fds[1]), "executor")
	var st unix.Stat_t
	if err := unix.Fstat(fds[1], &st); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(selfExe(t), "executor", string(dir))
	w := newTWriter(t)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Env = append(os.Environ(), ChannelEnv+"=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	t.Cleanup(func() {
		mine.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return &chanExecutor{ino: st.Ino, cmd: cmd, conn: mine, lines: bufio.NewScanner(mine)}
}

func (c *chanExecutor) send(t *testing.T, line string) {
	t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("send %q: %v", line, err)
	}
}

// waitExit waits up to 30 s for the executor to exit with status 0.
func (c *chanExecutor) waitExit(t *testing.T, what string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("executor: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// expect waits for the executor's next line.
func (c *chanExecutor) expect(t *testing.T, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if c.lines.Scan() {
			got <- c.lines.Text()
		}
		close(got)
	}()
	select {
	case line, ok := <-got:
		if !ok || line != want {
			t.Fatalf("executor said %q (ok %v), want %q", line, ok, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("executor said nothing in 30s, want %q", want)
	}
}

// One executor runs three allocations handed over its channel, one after
// the other: each gets its own exit.json, the dir's lock is dropped before
// "done", a stop that names an earlier allocation does not touch the one
// running, and the task never inherits the channel. Closing the agent's
// end ends the executor.
func TestExecutorChannelRunsMany(t *testing.T) {
	a := writeSpec(t, "1.1", Spec{Argv: []string{"/bin/sh", "-c", "for f in /proc/$$/fd/*; do readlink $f; done; true"}})
	ce := startChanExecutor(t, a)
	ce.expect(t, "done 1.1")
	if st, err := a.ReadExit(); err != nil || st == nil || st.Reason != structs.ExitExited || *st.ExitCode != 0 {
		t.Fatalf("first allocation: %+v, %v", st, err)
	}
	if pid := a.LivePid(); pid != 0 {
		t.Fatalf("the first dir is still locked by %d after done", pid)
	}
	// The task's descriptors: never the channel.
	out := readFile(t, a.Path("stdout"))
	if !strings.Contains(out, "/dev/null") || strings.Contains(out, fmt.Sprintf("socket:[%d]", ce.ino)) {
		t.Fatalf("the task's descriptors:\n%s(the channel is socket:[%d])", out, ce.ino)
	}

	b := writeSpec(t, "1.2", Spec{Argv: []string{"sleep", "30"}})
	ce.send(t, "run "+string(b))
	waitFor(t, 10*time.Second, "the second allocation's lock", func() bool { return b.LivePid() == ce.cmd.Process.Pid })
	// A late stop of the first allocation.
	ce.send(t, "stop 1.1")
	time.Sleep(300 * time.Millisecond)
	if st, _ := b.ReadExit(); st != nil {
		t.Fatalf("a stop of 1.1 ended 1.2: %+v", st)
	}
	if err := WriteFileAtomic(b.Path(StopFile), []byte("preempted\n")); err != nil {
		t.Fatal(err)
	}
	ce.send(t, "stop 1.2")
	ce.expect(t, "done 1.2")
	if st, err := b.ReadExit(); err != nil || st == nil || st.Reason != structs.ExitPreempted {
		t.Fatalf("second allocation: %+v, %v", st, err)
	}

	// A stop file written before the hand-over is read at the start.
	c := writeSpec(t, "1.3", Spec{Argv: []string{"sleep", "30"}})
	if err := WriteFileAtomic(c.Path(StopFile), []byte("cancelled\n")); err != nil {
		t.Fatal(err)
	}
	ce.send(t, "run "+string(c))
	ce.expect(t, "done 1.3")
	if st, err := c.ReadExit(); err != nil || st == nil || st.Reason != structs.ExitCancelled || st.Message != "stopped before it started" {
		t.Fatalf("third allocation: %+v, %v", st, err)
	}

	ce.conn.Close()
	ce.waitExit(t, "an idle executor to end when the agent's end closed")
}

// With the agent's end closed while an allocation runs, the executor
// finishes it (exit.json as ever) and exits instead of waiting for more.
func TestExecutorChannelAgentGoneMidRun(t *testing.T) {
	a := writeSpec(t, "2.1", Spec{Argv: []string{"sh", "-c", "sleep 0.3; echo ok"}})
	ce := startChanExecutor(t, a)
	ce.conn.Close()
	ce.waitExit(t, "the executor to end after its allocation")
	if st, err := a.ReadExit(); err != nil || st == nil || st.Reason != structs.ExitExited || *st.ExitCode != 0 {
		t.Fatalf("exit status %+v, %v", st, err)
	}
	if got := readFile(t, a.Path("stdout")); got != "ok\n" {
		t.Fatalf("stdout %q", got)
	}
}

// Nonsense on the channel ends the conversation, not the allocation.
func TestExecutorChannelBadInput(t *testing.T) {
	for _, line := range []string{"hello", "run relative/dir", "", "run"} {
		t.Run(line, func(t *testing.T) {
			a := writeSpec(t, "3.1", Spec{Argv: []string{"true"}})
			ce := startChanExecutor(t, a)
			ce.expect(t, "done 3.1")
			ce.send(t, line)
			ce.waitExit(t, fmt.Sprintf("the executor to end after %q", line))
		})
	}
}
