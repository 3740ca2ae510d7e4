//go:build !nai_cli

package main

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

func TestShouldTrim(t *testing.T) {
	const mib = 1 << 20
	idle := heapStats{allocs: 100 * mib, live: 2 * mib, held: 2 * mib}
	for _, c := range []struct {
		name string
		now  heapStats
		want bool
	}{
		{"idle with free heap", heapStats{allocs: 104 * mib, live: 2 * mib, held: 6 * mib}, true},
		{"idle, nothing to give back", heapStats{allocs: 104 * mib, live: 2 * mib, held: 2*mib + mib/2}, false},
		{"busy: more than the idle allocations since the last look", heapStats{allocs: 100*mib + trimIdleAllocs + 1, live: 2 * mib, held: 30 * mib}, false},
		{"at the idle bound", heapStats{allocs: 100*mib + trimIdleAllocs, live: 2 * mib, held: 30 * mib}, true},
		{"a live heap too large to collect for little", heapStats{allocs: 101 * mib, live: trimMaxLive + 1, held: trimMaxLive + 20*mib}, false},
		{"live above held (read between collections)", heapStats{allocs: 101 * mib, live: 8 * mib, held: 6 * mib}, false},
	} {
		if got := shouldTrim(idle, c.now); got != c.want {
			t.Errorf("%s: shouldTrim = %v, want %v", c.name, got, c.want)
		}
	}
}

// freeHeap is the heap memory that is free and still mapped: what a trim
// gives back.
func freeHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink [][]byte

// makeFreeHeap allocates 32 MiB and lets it go, collected but not yet
// returned (the background scavenger returns it slowly).
func makeFreeHeap() {
	for range 32 {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
	runtime.GC()
}

func TestTrimStepGivesBackAnIdleHeap(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Busy: the 32 MiB were allocated since the last look, so nothing
	// is trimmed.
	prev := readHeapStats()
	makeFreeHeap()
	if free := freeHeap(); free < 16<<20 {
		t.Fatalf("%d bytes free after letting 32 MiB go; expected at least 16 MiB", free)
	}
	prev, idle := trimStep(prev, logger)
	if idle {
		t.Error("a step after 32 MiB of allocations said the agent was idle")
	}
	if free := freeHeap(); free < 16<<20 {
		t.Fatalf("a busy step gave back the heap: %d bytes free after it", free)
	}

	// Idle: the next look finds no allocations since; the free heap goes
	// back to the system.
	// Under 4 MiB rather than nothing: the test binary's other goroutines
	// (earlier tests' servers) allocate and free meanwhile.
	if _, idle := trimStep(prev, logger); !idle {
		t.Error("a step after no allocations said the agent was busy")
	}
	if free := freeHeap(); free > 4<<20 {
		t.Errorf("%d bytes of heap free and mapped after an idle step; expected under 4 MiB of the 32 let go", free)
	}
}

// The binary's start-up pages are released once, at the first step that
// finds the agent idle, and never again. (That a busy step is not idle is
// TestTrimStepGivesBackAnIdleHeap's.)
func TestTrimLoopReleasesOnce(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var releases atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		trimLoop(ctx, logger, 10*time.Millisecond, func() { releases.Add(1) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for releases.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // ten more steps
	cancel()
	<-done
	if n := releases.Load(); n != 1 {
		t.Errorf("released %d times, want once", n)
	}
}
