package main

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// deferGC changes the process's collector, so it is tested in a child
// process: the test binary re-run with NAI_TEST_GC set.
func TestDeferGC(t *testing.T) {
	if mode := os.Getenv("NAI_TEST_GC"); mode != "" {
		deferGCChild(mode)
		return
	}
	for _, tc := range []struct {
		name string
		args string // os.Args[1:] as the child sees them
		env  []string
		want string
	}{
		{"a CLI command collects after its first collection only", "job run", nil, "deferred then restored"},
		{"the agent keeps the usual collector", "agent", nil, "untouched"},
		{"GOGC from the user wins", "job run", []string{"GOGC=50"}, "untouched"},
		{"GOMEMLIMIT from the user wins", "job run", []string{"GOMEMLIMIT=1GiB"}, "untouched"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestDeferGC$")
			cmd.Env = append(os.Environ(), "NAI_TEST_GC="+tc.args)
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "GC: "+tc.want+"\n") {
				t.Errorf("child said:\n%s\nwant GC: %s", out, tc.want)
			}
		})
	}
}

func deferGCChild(mode string) {
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	deferGC(append([]string{"nai"}, strings.Fields(mode)...))
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	if percent == before {
		os.Stdout.WriteString("GC: untouched\n")
		return
	}
	if percent != -1 || debug.SetMemoryLimit(-1) != cliHeapHeadroom {
		os.Stdout.WriteString("GC: wrong settings\n")
		return
	}
	// The first collection restores the defaults (its cleanup runs on a
	// goroutine of its own soon after).
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		if p == 100 && debug.SetMemoryLimit(-1) == math.MaxInt64 {
			os.Stdout.WriteString("GC: deferred then restored\n")
			return
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	os.Stdout.WriteString("GC: never restored\n")
}

// serverGC, like deferGC, is tested in a child process.
func TestServerGC(t *testing.T) {
	if os.Getenv("NAI_TEST_SERVER_GC") != "" {
		said := serverGC()
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		os.Stdout.WriteString("GOGC " + strconv.Itoa(p) + ": " + said + "\n")
		return
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"a server collects at GOGC=200", nil, "GOGC 200: GOGC 200 (a server's default; set GOGC to change it)"},
		{"GOGC from the operator wins", []string{"GOGC=50"}, "GOGC 50: GOGC 50 from the environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestServerGC$")
			cmd.Env = append(os.Environ(), "NAI_TEST_SERVER_GC=1")
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want+"\n") {
				t.Errorf("child said:\n%s\nwant %s", out, tc.want)
			}
		})
	}
}
