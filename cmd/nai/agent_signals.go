//go:build !nai_cli

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// startupStopGrace is how long an agent told to stop (SIGINT, SIGTERM)
// while it starts may take to give up; a step that does not look at its
// context (a hung GPU driver, a file lock) must not make it ignore the
// signal.
const startupStopGrace = 10 * time.Second

// stopSignals catches SIGINT and SIGTERM from the agent's first moment, so
// that one sent while it starts stops it as one sent later does: the first
// ends ctx, and a second, or a start-up that does not end within
// startupStopGrace of the first, ends the process at once.
type stopSignals struct {
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan os.Signal
	done   chan struct{}

	mu    sync.Mutex
	sig   os.Signal
	ready bool
}

func catchStopSignals() *stopSignals {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stopSignals{ctx: ctx, cancel: cancel, ch: make(chan os.Signal, 2), done: make(chan struct{})}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	go s.watch()
	return s
}

func (s *stopSignals) watch() {
	var sig os.Signal
	select {
	case sig = <-s.ch:
	case <-s.done:
		return
	}
	s.mu.Lock()
	s.sig = sig
	starting := !s.ready
	s.mu.Unlock()
	s.cancel()
	var grace <-chan time.Time
	if starting {
		fmt.Fprintf(os.Stderr, "==> nai agent: %s while starting: stopping\n", signalName(sig))
		grace = time.After(startupStopGrace)
	}
	select {
	case <-s.ch:
		fmt.Fprintln(os.Stderr, "==> nai agent: second signal: exiting at once")
		os.Exit(1)
	case <-grace:
		fmt.Fprintf(os.Stderr, "==> nai agent: start-up did not stop within %s of %s: exiting at once\n", startupStopGrace, signalName(sig))
		os.Exit(1)
	case <-s.done:
	}
}

// up says the agent has started: from now on a signal starts its orderly
// shutdown, which takes the time it needs.
func (s *stopSignals) up() {
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
}

// signal is the signal that ended ctx, nil before one came.
func (s *stopSignals) signal() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sig
}

// stoppedWhileStarting is what a start-up step answers once ctx has
// ended: the agent stops cleanly (its deferred clean-ups run) and says so.
func (s *stopSignals) stoppedWhileStarting() error {
	fmt.Fprintf(os.Stderr, "==> nai agent stopped (%s) before it was ready\n", signalName(s.signal()))
	return nil
}

// stop lets signals act as they did before catchStopSignals.
func (s *stopSignals) stop() {
	signal.Stop(s.ch)
	close(s.done)
	s.cancel()
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case nil:
		return "no signal"
	}
	return sig.String()
}
