package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/nai-project/nai/client/executor"
)

const usage = `usage: nai-executor executor ALLOC_DIR
       nai-executor exec-shim [-cgroup-parent P] [-cgroup NAME] [-uid N -gid N -groups G] [-start-error FILE] -- COMMAND ARGS...
nai-executor runs one job's executor and exec shim; the client agent starts it
(as it would start ` + "`nai executor`" + `): it is not meant to be run by hand.
`

func main() {
	// No heap profile is ever taken of an executor: without sampling, an
	// allocation now and then no longer unwinds its stack for the profile
	// (perf: 0.8 % of an executor's CPU in a drain of short jobs).
	runtime.MemProfileRate = 0
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches the two per-job processes as cmd/nai's main does, and
// returns the exit code. Anything else is a usage error (2), which also
// tells "this binary runs" from "this binary cannot be executed here" to
// the install script.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "executor":
			return executor.Main(args[1:])
		case "exec-shim":
			return executor.ShimMain(args[1:])
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "nai-executor: unknown command %q: expected executor or exec-shim\n", args[0])
	} else {
		fmt.Fprintln(stderr, "nai-executor: no command given: expected executor or exec-shim")
	}
	fmt.Fprint(stderr, usage)
	return 2
}
