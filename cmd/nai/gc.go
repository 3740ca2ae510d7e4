package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
)

// cliHeapHeadroom is how far a CLI command's heap may grow before its
// first garbage collection.
const cliHeapHeadroom = 64 << 20

// deferGC lets a CLI command allocate up to cliHeapHeadroom before the
// first collection, and collect as usual after it. Most commands end long
// before that: parsing a 1000-member sweep allocates a few MB, and each
// collection of such a young heap costs its process 2-3 ms of CPU (15 % of
// `nai job validate` of that sweep) for nothing it keeps. The first
// collection, forced by the memory limit, runs a cleanup that restores
// GOGC=100 and lifts the limit, so a long command (`nai job logs -f`)
// does not keep collecting at the limit or keep more than it needs.
//
// Not for the agent, the executor or the exec shim, which live long and
// keep their usual collector; and a GOGC or GOMEMLIMIT in the environment
// is the user's choice, left alone.
func deferGC(args []string) {
	if len(args) > 1 && args[1] == "agent" {
		return
	}
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(cliHeapHeadroom)
	// The sentinel holds a pointer so that it is not a tiny allocation,
	// whose cleanups may never run; nothing refers to it, so the first
	// collection frees it.
	sentinel := &gcSentinel{}
	runtime.AddCleanup(sentinel, func(struct{}) { restoreGC() }, struct{}{})
}

type gcSentinel struct{ _ *byte }

// restoreGC puts the collector back to Go's defaults.
func restoreGC() {
	debug.SetMemoryLimit(math.MaxInt64)
	debug.SetGCPercent(100)
}

// serverGCPercent is the collector's target (GOGC) of an agent that runs
// a server. A server's heap is mostly its state, long-lived, and its
// allocations (each write's new rows, radix nodes, HTTP and raft buffers)
// are collected at a CPU cost that halves when the target doubles: in
// the 1000-node benchmark (BENCH.md), three servers on two cores placed
// 1258 and 1589 jobs a second with GOGC=100 and 1841 and 1812 with 200.
// The price is memory: the heap may grow to three times the live state
// instead of two (RSS peak of the leader while 50,000 jobs ran: 790 MiB,
// 1055-1201 MiB with 200; with 5000 jobs pending 58.7 and 59.6 MiB).
const serverGCPercent = 200

// serverGC sets the collector of an agent that runs a server, unless
// GOGC is in the environment (the operator's choice, left alone; so is
// GOMEMLIMIT, which bounds the heap whatever the target). It says what it
// set, for the log.
func serverGC() string {
	if os.Getenv("GOGC") != "" {
		return "GOGC " + os.Getenv("GOGC") + " from the environment"
	}
	debug.SetGCPercent(serverGCPercent)
	return fmt.Sprintf("GOGC %d (a server's default; set GOGC to change it)", serverGCPercent)
}
