//go:build !nai_cli

package main

import (
	"os"
	"strings"
	"testing"
)

// A cluster flag given with -dev is refused before anything starts (no
// data dir, no listener: the refusal would come after a failed listen
// otherwise), where a dev agent used to drop it without a word.
func TestDevRefusesClusterFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-http-port", "5000"}, "-http-port is a cluster agent's flag, which a dev agent does not use: a dev agent listens on -http-addr"},
		{[]string{"-bind-addr", "10.0.0.1"}, "-bind-addr is a cluster agent's flag"},
		{[]string{"-config", "agent.hcl"}, "a dev agent reads no configuration file"},
		{[]string{"-server"}, "-server is a cluster agent's flag"},
		{[]string{"-join", "10.0.0.1:4648"}, "-join is a cluster agent's flag"},
		{[]string{"-reserved-cpu", "2"}, "-reserved-cpu is a cluster agent's flag"},
		{[]string{"-encrypt", "k"}, "-encrypt is a cluster agent's flag"},
	}
	for _, tc := range cases {
		t.Run(tc.args[0], func(t *testing.T) {
			dir := t.TempDir() + "/data"
			args := append([]string{"agent", "-dev", "-data-dir", dir, "-http-addr", "127.0.0.1:0"}, tc.args...)
			code, _, stderr := runCLI(t, args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q: want a failure saying %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the refused agent made its data dir %s", dir)
			}
		})
	}
}

// Every cluster flag a dev agent reads is one the agent has.
func TestDevFlagsAreClusterFlags(t *testing.T) {
	names := map[string]bool{}
	for _, f := range clusterFlags() {
		names[f.Names()[0]] = true
	}
	for name := range devFlags {
		if !names[name] {
			t.Errorf("devFlags names %q, which is not a cluster flag", name)
		}
	}
}
