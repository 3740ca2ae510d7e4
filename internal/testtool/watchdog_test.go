package testtool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The account names the tests on the stacks and each distinct stack of
// this module blocked for minutes, longest first; stacks of other modules
// only, and short waits, are left out.
func TestWriteStuck(t *testing.T) {
	dump, err := os.ReadFile(filepath.Join("testdata", "stacks.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeStuck(&out, dump, 19*time.Minute)
	want := `watchdog: the tests still ran after 19m0s; stacks above
watchdog: on the stacks: TestClusterBootstrapForwardAndLiveness
watchdog: 1x [semacquire, 18 min] server.(*Server).Shutdown.func1 < server.(*Server).Shutdown < server.(*member).stop
watchdog: 2x [select, 18 min] server.(*Server).apply < server.(*Server).schedulePass < server.(*Server).leaderLoop
`
	if got := out.String(); got != want {
		t.Errorf("account:\n%s\nwant:\n%s", got, want)
	}
}

// Garbage in a dump is skipped, not a panic.
func TestWriteStuckGarbage(t *testing.T) {
	for _, dump := range []string{"", "\n\n\n", "goroutine x [", "goroutine 1 [select, 9 minutes]:\n" + module + "p.f(\n\n"} {
		var out bytes.Buffer
		writeStuck(&out, []byte(dump), time.Minute)
		if !bytes.Contains(out.Bytes(), []byte("watchdog: the tests still ran")) {
			t.Errorf("dump %q: %s", dump, out.String())
		}
	}
}

// Without wait times (no garbage collection saw the waits) every waiting
// stack of this module is listed.
func TestWriteStuckWithoutWaitTimes(t *testing.T) {
	dump := `goroutine 22 [sleep]:
time.Sleep(0x45d964b800)
	/usr/local/go/src/runtime/time.go:363 +0x165
github.com/nai-project/nai/tmpwd.TestHang(0x3fd7c2fb0488?)
	/work/main/tmpwd/x_test.go:15 +0x29

goroutine 23 [chan receive]:
github.com/nai-project/nai/tmpwd.block()
	/work/main/tmpwd/x_test.go:13 +0x25
created by github.com/nai-project/nai/tmpwd.TestHang in goroutine 22
	/work/main/tmpwd/x_test.go:15 +0x1a
`
	var out bytes.Buffer
	writeStuck(&out, []byte(dump), time.Minute)
	want := `watchdog: the tests still ran after 1m0s; stacks above
watchdog: on the stacks: TestHang
watchdog: 1x [sleep] tmpwd.TestHang
watchdog: 1x [chan receive] tmpwd.block
`
	if got := out.String(); got != want {
		t.Errorf("account:\n%s\nwant:\n%s", got, want)
	}
}
