package main

import (
	"bytes"
	"strings"
	"testing"
)

// Anything but the two per-job commands is a usage error that says what
// was expected; -h prints the usage and succeeds. (The commands themselves
// are client/executor's tests, and e2e's TestBinaries runs them from this
// binary.)
func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string // a substring; "" wants nothing printed there
		stderr   string
		noStderr bool
	}{
		{name: "no command", args: nil, code: 2, stderr: "no command given: expected executor or exec-shim"},
		{name: "unknown command", args: []string{"agent", "-dev"}, code: 2, stderr: `unknown command "agent": expected executor or exec-shim`},
		{name: "flag first", args: []string{"-version"}, code: 2, stderr: `unknown command "-version"`},
		{name: "help", args: []string{"-h"}, code: 0, stdout: "usage: nai-executor executor ALLOC_DIR", noStderr: true},
		{name: "help word", args: []string{"help"}, code: 0, stdout: "nai-executor exec-shim", noStderr: true},
		// Dispatched: the shim's own usage error, before it touches
		// anything.
		{name: "exec-shim without a command", args: []string{"exec-shim", "--"}, code: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if tc.stdout == "" && stdout.Len() > 0 || !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q, want %q in it", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) || tc.noStderr && stderr.Len() > 0 {
				t.Errorf("stderr %q, want %q in it", stderr.String(), tc.stderr)
			}
			if tc.code == 2 && tc.stderr != "" && !strings.Contains(stderr.String(), "usage: nai-executor executor ALLOC_DIR") {
				t.Errorf("a usage error without the usage: %q", stderr.String())
			}
		})
	}
}
