package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/structs"
)

// Catching up. A server that starts restores raft's newest snapshot and
// then replays the log entries after it, but only once it learns how far
// the log is committed: from the leader, or by becoming leader. Until its
// state has applied the entries its log held at start (raft's last index
// then), and the entries the leader says are committed, that state is
// half-replayed: jobs that ended long ago still run, tokens issued since
// the snapshot are unknown, revoked ones still work. The door does not
// answer reads, writes or token lookups from such a state: it waits up to
// catchUpWait for the state to catch up, else answers 503 catching_up, so
// that a caller tries another server. Once caught up, a server stays so
// (a follower's ?stale reads are then as stale as they always were).

// catchUpWait bounds how long a request waits for a server that is
// catching up before it is answered 503 catching_up.
var catchUpWait = 3 * time.Second

// catchUp tracks how far the state is replayed against what it must reach.
type catchUp struct {
	// applied is the highest raft index handed to the FSM (commands) or
	// known to hold no command the FSM has not seen.
	applied atomic.Uint64
	// start is raft's last log index when the server started; leader is
	// the highest commit index a leader has sent this server since.
	start, leader atomic.Uint64
	// done latches once the state caught up.
	done atomic.Bool

	mu   sync.Mutex
	wake chan struct{} // closed when applied moves while not done
}

func newCatchUp() *catchUp { return &catchUp{wake: make(chan struct{})} }

// noteApplied records that the FSM applied the entry at index.
func (c *catchUp) noteApplied(index uint64) {
	if c == nil {
		return
	}
	maxStore(&c.applied, index)
	if c.done.Load() {
		return
	}
	c.mu.Lock()
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

// noteLeaderCommit records a commit index a leader sent.
func (c *catchUp) noteLeaderCommit(index uint64) { maxStore(&c.leader, index) }

func (c *catchUp) waitCh() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wake
}

func maxStore(v *atomic.Uint64, n uint64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// target is the raft index the state must reach: the leader's commit
// index once one was heard (entries of the log at start that were never
// committed may be replaced), else the log's last index at start.
func (c *catchUp) target() uint64 {
	if n := c.leader.Load(); n > 0 {
		return n
	}
	return c.start.Load()
}

// caughtUp reports whether this server's state may answer, with the raft
// index it applied and the one it must reach.
func (s *Server) caughtUp() (applied, target uint64, ok bool) {
	c := s.catchup
	if c == nil || c.done.Load() {
		return 0, 0, true
	}
	target = c.target()
	applied = c.applied.Load()
	// A follower must have heard from a leader first: its log may lack
	// what was committed while it was away. The leader is its own.
	heard := c.leader.Load() > 0 || s.IsLeader()
	if !heard {
		return applied, target, false
	}
	if applied < target && s.raft.AppliedIndex() >= target {
		// raft handed the FSM every entry up to target, but the last
		// ones may be no-ops and configurations, which never reach it:
		// caught up when no command lies between.
		if last, err := s.lastCommand(applied, target); err == nil && last <= applied {
			maxStore(&c.applied, target)
			applied = c.applied.Load()
		}
	}
	if applied < target {
		return applied, target, false
	}
	c.done.Store(true)
	return applied, target, true
}

// lastCommand is the index of the last command entry in (after, upto] of
// the log; after when there is none, or when the rest is compacted into a
// snapshot this server took of its own state.
func (s *Server) lastCommand(after, upto uint64) (uint64, error) {
	var l raft.Log
	for i := upto; i > after; i-- {
		if err := s.store.GetLog(i, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				return after, nil
			}
			return 0, err
		}
		if l.Type == raft.LogCommand {
			return i, nil
		}
	}
	return after, nil
}

// awaitCaughtUp waits (up to catchUpWait) until the state caught up, else
// answers the coded catching_up error.
func (s *Server) awaitCaughtUp(ctx context.Context) error {
	applied, target, ok := s.caughtUp()
	if ok {
		return nil
	}
	timer := time.NewTimer(catchUpWait)
	defer timer.Stop()
	// No-ops and a leader's first contact do not wake waiters: look
	// again now and then too.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.catchup.waitCh():
		case <-tick.C:
		case <-timer.C:
			return s.catchingUpError(applied, target)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.shutdownCh:
			return structs.NewError(structs.CodeUnavailable, "this server is shutting down")
		}
		if applied, target, ok = s.caughtUp(); ok {
			return nil
		}
	}
}

func (s *Server) catchingUpError(applied, target uint64) error {
	return structs.NewError(structs.CodeCatchingUp, "%s; another server may answer (retry)", s.catchingUpText(applied, target))
}

func (s *Server) catchingUpText(applied, target uint64) string {
	if s.catchup.leader.Load() == 0 && !s.IsLeader() {
		return fmt.Sprintf("this server is catching up: it has not heard from a raft leader since it started, and its state has applied %d of the %d entries of its raft log", applied, target)
	}
	return fmt.Sprintf("this server is catching up: its state has applied %d of %d raft entries", applied, target)
}

// catchingUpProblem is agent-info's problem for a server catching up.
func (s *Server) catchingUpProblem(now time.Time) (structs.AgentProblem, bool) {
	applied, target, ok := s.caughtUp()
	if ok {
		return structs.AgentProblem{}, false
	}
	return structs.AgentProblem{Kind: "catching-up", First: now.UTC(), Last: now.UTC(), Count: 1,
		Message: s.catchingUpText(applied, target) + " (it restarted and replays its log, or it was away): until then it answers reads, writes and token lookups 503 catching_up"}, true
}

// peekTransport passes raft's RPCs on to raft, noting the commit index
// each leader's AppendEntries carries (and an installed snapshot's index).
type peekTransport struct {
	*raft.NetworkTransport
	out chan raft.RPC
}

func (s *Server) peekTransport(t *raft.NetworkTransport) *peekTransport {
	p := &peekTransport{NetworkTransport: t, out: make(chan raft.RPC)}
	in := t.Consumer()
	go func() {
		for {
			select {
			case rpc := <-in:
				switch cmd := rpc.Command.(type) {
				case *raft.AppendEntriesRequest:
					s.catchup.noteLeaderCommit(cmd.LeaderCommitIndex)
				case *raft.InstallSnapshotRequest:
					s.catchup.noteLeaderCommit(cmd.LastLogIndex)
				}
				select {
				case p.out <- rpc:
				case <-s.shutdownCh:
					return
				}
			case <-s.shutdownCh:
				return
			}
		}
	}()
	return p
}

// Consumer is where raft reads the RPCs.
func (p *peekTransport) Consumer() <-chan raft.RPC { return p.out }
