package testtool

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Watchdog starts a timer for a test binary that is stuck: a minute before
// -test.timeout would end it, it writes every goroutine's stack to stderr,
// then a short account of the tests still running and of the goroutines
// of this module that have been blocked for minutes (all that wait, when
// the runtime shows no wait times), and exits with 2.
// Go's own timeout prints the running tests first and the stacks after, so
// a CI log that keeps only its tail loses the one line that says which test
// hung; this account comes last. Call it in TestMain before m.Run and the
// returned stop after. It parses the command line's flags.
func Watchdog() (stop func()) {
	if !flag.Parsed() {
		flag.Parse()
	}
	timeout := time.Duration(0)
	if f := flag.Lookup("test.timeout"); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			timeout, _ = g.Get().(time.Duration)
		}
	}
	if timeout < 2*time.Minute {
		return func() {}
	}
	t := time.AfterFunc(timeout-time.Minute, func() {
		buf := make([]byte, 1<<20)
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				buf = buf[:n]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		os.Stderr.Write(buf)
		fmt.Fprintf(os.Stderr, "\n")
		writeStuck(os.Stderr, buf, timeout-time.Minute)
		os.Exit(2)
	})
	return func() { t.Stop() }
}

// module is the import path prefix of this repository's packages.
const module = "github.com/nai-project/nai/"

var (
	goroutineHeader = regexp.MustCompile(`^goroutine \d+ \[([^\],]+)(?:, (\d+) minutes)?(?:, locked to thread)?\]:$`)
	testFrame       = regexp.MustCompile(`\.(Test\w+|Benchmark\w+|Fuzz\w+)(?:\.func[\d.]+)?\(`)
)

// writeStuck writes the account Watchdog ends with, from a dump of every
// goroutine's stack: the tests found on the stacks, then each distinct
// waiting stack of this module (at most 12, longest blocked first).
func writeStuck(w io.Writer, dump []byte, after time.Duration) {
	tests := map[string]bool{}
	type stuck struct {
		state   string
		minutes int
		frames  string
		count   int
	}
	bySig := map[string]*stuck{}
	for _, g := range bytes.Split(dump, []byte("\n\n")) {
		lines := strings.Split(strings.TrimSpace(string(g)), "\n")
		if len(lines) < 2 {
			continue
		}
		m := goroutineHeader.FindStringSubmatch(lines[0])
		if m == nil {
			continue
		}
		var ours []string
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "\t") || !strings.HasPrefix(l, module) {
				continue
			}
			if tm := testFrame.FindStringSubmatch(l); tm != nil {
				tests[tm[1]] = true
			}
			fn := strings.TrimPrefix(l, module)
			if i := strings.LastIndexByte(fn, '('); i > 0 {
				fn = fn[:i]
			}
			if len(ours) < 3 {
				ours = append(ours, fn)
			}
		}
		minutes, _ := strconv.Atoi(m[2])
		if len(ours) == 0 || m[1] == "running" {
			continue
		}
		sig := m[1] + " " + strings.Join(ours, " < ")
		if s := bySig[sig]; s != nil {
			s.count++
			s.minutes = max(s.minutes, minutes)
			continue
		}
		bySig[sig] = &stuck{state: m[1], minutes: minutes, frames: strings.Join(ours, " < "), count: 1}
	}
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	sort.Strings(names)
	// The runtime shows how long a goroutine has waited once a garbage
	// collection has seen it waiting: when some have waited minutes, the
	// others are noise.
	long := false
	for _, s := range bySig {
		long = long || s.minutes > 0
	}
	list := make([]*stuck, 0, len(bySig))
	for _, s := range bySig {
		if !long || s.minutes > 0 {
			list = append(list, s)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].minutes != list[j].minutes {
			return list[i].minutes > list[j].minutes
		}
		return list[i].frames < list[j].frames
	})
	fmt.Fprintf(w, "watchdog: the tests still ran after %s; stacks above\n", after)
	if len(names) == 0 {
		fmt.Fprintf(w, "watchdog: no test function is on a stack (stuck in TestMain or a cleanup?)\n")
	} else {
		fmt.Fprintf(w, "watchdog: on the stacks: %s\n", strings.Join(names, ", "))
	}
	for i, s := range list {
		if i == 12 {
			fmt.Fprintf(w, "watchdog: and %d more blocked stacks\n", len(list)-i)
			break
		}
		state := s.state
		if s.minutes > 0 {
			state = fmt.Sprintf("%s, %d min", s.state, s.minutes)
		}
		fmt.Fprintf(w, "watchdog: %dx [%s] %s\n", s.count, state, s.frames)
	}
}
