package client

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nai-project/nai/client/executor"
	"golang.org/x/sys/unix"
)

// Executors are reused (executor.ChannelEnv): when a batch allocation
// ends, its executor tells the agent over a socket and waits, idle, for
// the next allocation instead of exiting. On a drain of 1000 /bin/true
// jobs the executors were half of the node's CPU, and about half of that
// was starting and ending a Go process: the runtime's start (its CPU
// feature probes trap to the hypervisor in a VM), its threads, the page
// faults of a fresh heap, the mountinfo parse, the exit.
//
// The pool keeps at most execPoolMax idle executors, each for at most
// execPoolIdle: an idle executor is a few MB of memory that nothing else
// can use. Services get an executor of their own, never reused. On cgroup
// v2 each executor sits in a leaf of its allocation's (execgroup.go), so
// executors are not reused there. NAI_EXECUTOR_REUSE=0 in the agent's
// environment turns reuse off.
//
// An executor runs at most execReuseMax allocations: its stdout and stderr
// are the executor log the agent had open when it started it, which the
// agent rotates (execlog.go), and a bound on its life bounds what it
// writes into a rotated file.
const (
	execPoolMax  = 16
	execReuseMax = 1000
)

// execPoolIdle is how long an executor waits idle before it is retired (a
// var for the tests).
var execPoolIdle = 10 * time.Second

// execPool holds the executors this agent started with a channel.
type execPool struct {
	mu     sync.Mutex
	idle   []*pooledExec // most recently idle last
	closed bool
	logger *slog.Logger
}

// pooledExec is an executor started with a channel: its pid, the agent's
// end of the channel, and the runner of the allocation it runs (nil while
// idle).
type pooledExec struct {
	pid    int
	conn   *os.File
	exited chan struct{} // closed once the process is reaped
	// mu also orders what is written to conn with what serve reads:
	// cur is the allocation the executor was last handed, set only once
	// the hand-over is written.
	mu   sync.Mutex
	cur  *allocRunner
	dead bool // its channel ended
	runs int  // allocations handed to it
	// idleAt is when it last went idle (retire compares it).
	idleAt time.Time
}

// reuseExecutors says whether this agent hands executors more than one
// allocation.
func (c *Client) reuseExecutors() bool {
	if os.Getenv("NAI_EXECUTOR_REUSE") == "0" {
		return false
	}
	return c.cfg.Cgroups == nil || c.cfg.Cgroups.Version() == 1
}

// runOnExecutor starts r's task on an idle executor, or on a new one with
// a channel (reuse on), or on a new one of its own (pe nil). It returns
// the executor's pid.
func (c *Client) runOnExecutor(r *allocRunner, service bool) (pid int, pe *pooledExec, err error) {
	if service || !c.reuseExecutors() {
		cmd := c.executorCmd(r)
		if err := c.startExecutor(cmd); err != nil {
			return 0, nil, err
		}
		go func() {
			_ = cmd.Wait()
			r.markExited()
		}()
		return cmd.Process.Pid, nil, nil
	}
	for {
		pe := c.execs.take()
		if pe == nil {
			break
		}
		if err := pe.hand(r); err == nil {
			return pe.pid, pe, nil
		}
		// Gone while idle: its reader drops it; try the next.
	}
	pe, err = c.startPooled(r)
	if err != nil {
		return 0, nil, err
	}
	return pe.pid, pe, nil
}

// executorCmd is the command of an executor for r's dir.
func (c *Client) executorCmd(r *allocRunner) *exec.Cmd {
	cmd := exec.Command(c.cfg.ExecutorBinary, "executor", string(r.dir))
	cmd.Dir = string(r.dir)
	cmd.Env = executorEnv(os.Environ())
	// Its own session: the executor must outlive the agent and not get the
	// agent's terminal signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func (c *Client) startExecutor(cmd *exec.Cmd) error {
	return c.withExecutorLog(func(logf *os.File) error {
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start executor: %w", err)
		}
		return nil
	})
}

// startPooled starts an executor for r with a channel, so that it can be
// handed more allocations after r's.
func (c *Client) startPooled(r *allocRunner) (*pooledExec, error) {
	// Close-on-exec on both ends: only the executor gets its end, as
	// descriptor 3 (ExtraFiles), and it marks that close-on-exec for its
	// tasks in turn.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("executor channel: %w", err)
	}
	// The agent's end non-blocking: os.File then waits for it in the
	// runtime's poller, and Close ends a read in progress (a blocked read
	// would keep the descriptor, and the executor would never see the
	// end).
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("executor channel: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "executor-channel"), os.NewFile(uintptr(fds[1]), "executor-channel")
	cmd := c.executorCmd(r)
	// It outlives this allocation's dir, which the agent removes in time.
	cmd.Dir = c.allocsDir()
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Env = append(cmd.Env, executor.ChannelEnv+"=3")
	err = c.startExecutor(cmd)
	theirs.Close()
	if err != nil {
		mine.Close()
		return nil, err
	}
	pe := &pooledExec{pid: cmd.Process.Pid, conn: mine, exited: make(chan struct{}), cur: r, runs: 1}
	go func() {
		_ = cmd.Wait()
		close(pe.exited)
	}()
	go c.execs.serve(pe)
	return pe, nil
}

// hand gives an idle executor r's allocation.
func (pe *pooledExec) hand(r *allocRunner) error {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if pe.dead {
		return errExecutorGone
	}
	if _, err := pe.conn.Write([]byte("run " + string(r.dir) + "\n")); err != nil {
		return err
	}
	pe.cur = r
	pe.runs++
	return nil
}

// stop asks the executor to stop r's allocation, if it still runs it.
func (pe *pooledExec) stop(r *allocRunner) error {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if pe.cur != r {
		return nil // over already: the executor moved on or is idle
	}
	_, err := pe.conn.Write([]byte("stop " + r.alloc.ID + "\n"))
	return err
}

// serve reads what pe says until its channel ends. Each "done" ends its
// current allocation, after which it goes back to the pool; when the
// channel ends (the executor exited, or was retired) the allocation it
// ran, if any, ends once the process is reaped.
func (p *execPool) serve(pe *pooledExec) {
	sc := bufio.NewScanner(pe.conn)
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "done ")
		pe.mu.Lock()
		r := pe.cur
		if !ok || r == nil || r.alloc.ID != id {
			pe.mu.Unlock()
			if p.logger != nil {
				p.logger.Warn("executor said what it should not; retiring it", "pid", pe.pid, "line", sc.Text())
			}
			break
		}
		pe.cur = nil
		pe.idleAt = time.Now()
		at, spent := pe.idleAt, pe.runs >= execReuseMax
		pe.mu.Unlock()
		// Back in the pool first: the job's end, once reported, frees
		// what the node's next job waits for, and that job should find
		// this executor idle.
		p.put(pe, at, spent)
		r.markExited()
	}
	pe.mu.Lock()
	r := pe.cur
	pe.cur, pe.dead = nil, true
	pe.mu.Unlock()
	p.remove(pe)
	_ = pe.conn.Close() // the executor ends after what it runs, if it lives
	if r != nil {
		<-pe.exited
		r.markExited()
	}
}

// take pops an idle executor, nil when there is none.
func (p *execPool) take() *pooledExec {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		pe := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return pe
	}
	return nil
}

// put makes pe idle since at, or retires it when the pool is full or
// closed, or pe has run its share (spent).
func (p *execPool) put(pe *pooledExec, at time.Time, spent bool) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= execPoolMax || spent {
		p.mu.Unlock()
		_ = pe.conn.Close()
		return
	}
	p.idle = append(p.idle, pe)
	p.mu.Unlock()
	time.AfterFunc(execPoolIdle, func() { p.retire(pe, at) })
}

// retire closes pe's channel if it is still idle since at.
func (p *execPool) retire(pe *pooledExec, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, q := range p.idle {
		if q == pe {
			pe.mu.Lock()
			still := pe.cur == nil && pe.idleAt.Equal(at)
			pe.mu.Unlock()
			if still {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				_ = pe.conn.Close()
			}
			return
		}
	}
}

func (p *execPool) remove(pe *pooledExec) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, q := range p.idle {
		if q == pe {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}

// close retires the idle executors; the busy ones end after their
// allocation (their "done" finds the pool closed).
func (p *execPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, pe := range idle {
		_ = pe.conn.Close()
	}
}

var errExecutorGone = errors.New("executor gone")
