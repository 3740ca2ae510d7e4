//go:build !nai_cli

package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/nai-project/nai/internal/exepages"
)

// An idle agent gives its free heap back to the system.
//
// Go's collector lets the heap grow to its target before it collects
// (twice the live heap at GOGC=100, three times at a server's 200, and at
// least 4 or 8 MiB), and its scavenger keeps up to a tenth more than that
// target mapped. An idle agent allocates a little all the time
// (heartbeats, polls, gossip: 25-40 KB a second, ten times that before
// membership's own transport), so within minutes its heap holds that target
// whatever its live data: 10 MiB of private memory for a server whose live
// heap is 1 MiB, 7 MiB for a client (BENCH.md, the eleventh pass). A GPU
// host's agent should weigh what it holds, not what its collector
// allows. So every trimEvery the agent looks at what it allocated since
// the last look; when that is little (it is idle) and the live heap is
// small, it collects and returns every free page (debug.FreeOSMemory): a
// collection of a small heap, about a millisecond of CPU every ten
// seconds. A busy agent, or one with a large live heap (a leader's state),
// is left to the collector as configured: trimming it would cost a full
// collection for memory that it will use again at once.
const (
	trimEvery = 10 * time.Second
	// trimIdleAllocs is the most an agent may allocate in trimEvery and
	// still count as idle (1.6 MB a second).
	trimIdleAllocs = 16 << 20
	// trimMaxLive is the largest live heap trimmed.
	trimMaxLive = 64 << 20
	// trimMinGain is the least free heap worth a collection.
	trimMinGain = 1 << 20
)

// heapStats is what the trimmer reads of the runtime.
type heapStats struct {
	allocs uint64 // bytes allocated since the process started
	live   uint64 // the live heap marked by the last collection
	held   uint64 // heap memory mapped and not returned: objects, free and unused span space
}

var heapSamples = []string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
}

// readHeapStats reads heapStats from runtime/metrics (no stop of the world,
// unlike runtime.ReadMemStats).
func readHeapStats() heapStats {
	s := make([]metrics.Sample, len(heapSamples))
	for i, name := range heapSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	u := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return heapStats{allocs: u(0), live: u(1), held: u(2) + u(3) + u(4)}
}

// idleSince says whether the agent was idle between two looks.
func idleSince(prev, now heapStats) bool {
	return now.allocs-prev.allocs <= trimIdleAllocs
}

// shouldTrim decides from the last look (prev) and this one (now).
func shouldTrim(prev, now heapStats) bool {
	if !idleSince(prev, now) || now.live > trimMaxLive {
		return false
	}
	return now.held > now.live && now.held-now.live >= trimMinGain
}

// trimIdleMemory runs until ctx ends, trimming every trimEvery as
// shouldTrim says. The first time it finds the agent idle it also pages
// out the binary's start-up pages (releaseStartupPages).
func trimIdleMemory(ctx context.Context, logger *slog.Logger) {
	trimLoop(ctx, logger, trimEvery, func() { releaseStartupPages(logger) })
}

// trimLoop is trimIdleMemory every `every`, with release called once, at
// the first step that finds the agent idle.
func trimLoop(ctx context.Context, logger *slog.Logger, every time.Duration, release func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev := readHeapStats()
	released := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var idle bool
		prev, idle = trimStep(prev, logger)
		if idle && !released {
			released = true
			release()
		}
	}
}

// trimStep reads the heap, trims it when shouldTrim says so, and returns
// what the next step compares against and whether the agent was idle.
func trimStep(prev heapStats, logger *slog.Logger) (heapStats, bool) {
	now := readHeapStats()
	idle := idleSince(prev, now)
	if !shouldTrim(prev, now) {
		return now, idle
	}
	debug.FreeOSMemory()
	after := readHeapStats()
	logger.Debug("idle: returned free heap to the system", "held_before", now.held, "held_after", after.held, "live", after.live)
	return after, idle
}

// releaseStartupPages pages out what the agent's binary left resident
// while it started (internal/exepages): 27 MiB of a 35 MB binary, of
// which an idle agent runs about 7 (BENCH.md, the sixteenth pass). Once,
// when the agent is first idle: later pages are the ones it uses.
func releaseStartupPages(logger *slog.Logger) {
	res, err := exepages.Release()
	if err != nil {
		logger.Debug("idle: could not page out the binary's start-up pages", "error", err)
		return
	}
	logger.Debug("idle: paged out the binary's start-up pages",
		"resident_before", res.Before, "resident_after", res.After, "freed", res.Freed())
}
