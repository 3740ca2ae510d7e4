package executor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ChannelEnv names the descriptor of the executor's channel to the agent
// that started it: a Unix stream socket over which the agent may hand the
// executor more allocations after its first. A Go process start is about
// half of an executor's CPU on a drain of short jobs (the runtime's
// start, its threads, the page faults of a fresh heap, the exit): an
// executor that the agent reuses pays it once for many jobs.
//
// The channel carries lines, each a verb and an argument:
//
//	agent -> executor   run ALLOC_DIR    run this allocation next (only while idle)
//	                    stop ALLOC_ID    stop this allocation, if it is the one
//	                                     running (the stop file says why)
//	executor -> agent   done ALLOC_ID    that allocation is over: exit.json is
//	                                     on disk, the cgroup is gone, and the
//	                                     dir's lock is released
//
// The files of the alloc dir stay the contract: exit.json, the stop file
// and the lock mean what they always meant, so an agent that started
// after the executor (and has no channel to it) watches and stops it as
// before. The channel is only the fast path of the agent that started it.
// When the agent's end closes (the agent stopped, or it retires an idle
// executor) the executor finishes the allocation it runs and exits.
// Services are never handed over a channel: their executor restarts their
// task for its whole life.
const ChannelEnv = "NAI_EXECUTOR_CHANNEL"

// channel is the executor's end of ChannelEnv's socket. One goroutine
// reads it and sorts the lines: stops go to stops, run requests to runs;
// eof is closed when the agent's end is gone.
type channel struct {
	f     *os.File
	stops chan string
	runs  chan string
	eof   chan struct{}
}

// openChannel opens the channel ChannelEnv names, or returns nil when
// there is none (the agent wants this executor for one allocation only).
// The descriptor is made close-on-exec first: no task may inherit a way
// to tell the agent that an allocation is over.
func openChannel() (*channel, error) {
	v := os.Getenv(ChannelEnv)
	if v == "" {
		return nil, nil
	}
	// Not for the task's environment, nor for an exec shim's.
	_ = os.Unsetenv(ChannelEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not a descriptor number above 2", ChannelEnv, v)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return nil, fmt.Errorf("channel descriptor %d: %w", fd, err)
	}
	// Non-blocking, so that os.File waits for it in the runtime's poller:
	// a read blocked in the kernel would tie up a thread of its own.
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("channel descriptor %d: %w", fd, err)
	}
	ch := &channel{
		f:     os.NewFile(uintptr(fd), "agent-channel"),
		stops: make(chan string, 16),
		runs:  make(chan string, 1),
		eof:   make(chan struct{}),
	}
	go ch.read()
	return ch, nil
}

func (ch *channel) read() {
	defer close(ch.eof)
	sc := bufio.NewScanner(ch.f)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(sc.Text(), " ")
		switch verb {
		case "stop":
			select {
			case ch.stops <- arg:
			default: // the executor is behind on stops; the stop file stays
			}
		case "run":
			select {
			case ch.runs <- arg:
			default:
				// A second run before the first was taken: the agent
				// is confused, so end the conversation.
				return
			}
		default:
			return
		}
	}
}

// done tells the agent that the allocation is over.
func (ch *channel) done(allocID string) error {
	_, err := ch.f.Write([]byte("done " + allocID + "\n"))
	return err
}

// next waits while idle for the next allocation's dir. It returns "" when
// the agent's end is gone or the executor was told to end (SIGTERM,
// SIGINT).
func (ch *channel) next(sigs <-chan os.Signal) string {
	select {
	case dir := <-ch.runs:
		return dir
	case <-ch.eof:
		// A run written just before the agent's end closed is still
		// served: the agent counted on it.
		select {
		case dir := <-ch.runs:
			return dir
		default:
			return ""
		}
	case <-sigs:
		return ""
	}
}

// serve runs allocations the agent hands over after the first, until the
// agent's end closes. prev is the executor of the first; a failed
// executor (one that could not record an end or remove a cgroup) is not
// reused.
func serve(ch *channel, prev *executor, err error) int {
	for {
		if err != nil {
			prev.logger.Error("executor failed", "dir", string(prev.dir), "error", err)
			return 1
		}
		if prev.spec.Service != nil {
			return 0 // a service's executor is never reused
		}
		prev.release()
		if ch.done(filepath.Base(string(prev.dir))) != nil {
			return 0
		}
		dir := ch.next(prev.sigs)
		if dir == "" || !filepath.IsAbs(dir) {
			return 0
		}
		// A stale SIGCHLD of the last task means nothing now (reap
		// checks with WNOHANG first). Stops queued so far may name the
		// new allocation too, but the agent writes the stop file before
		// it sends a stop, and run reads that file once it holds the
		// dir's lock: none is lost, and none of an earlier allocation
		// fills the queue.
		drain(prev.chld)
		drainStops(ch.stops)
		e := &executor{dir: Dir(dir), logger: prev.base.With("alloc", filepath.Base(dir)), base: prev.base,
			sigs: prev.sigs, chld: prev.chld, ch: ch, trees: prev.trees}
		err = e.run()
		prev = e
	}
}

// release drops the lock on the alloc dir: after it, LivePid finds no
// executor for it, as if this process had exited.
func (e *executor) release() {
	if e.lock != nil {
		_ = e.lock.Close()
		e.lock = nil
	}
}

func drainStops(c <-chan string) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func drain(c <-chan os.Signal) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// stopsFor is the channel's stops, or nil (no channel: a nil channel never
// delivers).
func (e *executor) stopsFor() <-chan string {
	if e.ch == nil {
		return nil
	}
	return e.ch.stops
}
