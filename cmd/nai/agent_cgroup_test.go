//go:build !nai_cli

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// moveToLeaf is exercised on a fake cgroup2 tree: what it creates and
// writes, not the kernel's semantics (this project's test hosts use v1).
func TestMoveToLeaf(t *testing.T) {
	cases := []struct {
		name       string
		v2         bool
		procCgroup string
		want       string
		leaf       string // the cgroup.procs written, relative to the root
	}{
		{"systemd service on v2", true, "0::/system.slice/nai-client.service\n", "/system.slice/nai-client.service", "system.slice/nai-client.service/agent/cgroup.procs"},
		{"already in the leaf", true, "0::/system.slice/nai-client.service/agent\n", "/system.slice/nai-client.service", "system.slice/nai-client.service/agent/cgroup.procs"},
		{"root cgroup", true, "0::/\n", "", ""},
		{"cgroup v1", false, "4:memory:/x\n0::/x\n", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.v2 {
				os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644)
				os.MkdirAll(filepath.Join(root, "system.slice/nai-client.service"), 0o755)
			}
			proc := filepath.Join(t.TempDir(), "cgroup")
			os.WriteFile(proc, []byte(tc.procCgroup), 0o644)
			got, err := moveToLeaf(root, proc, 4242)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parent %q, want %q", got, tc.want)
			}
			if tc.leaf != "" {
				b, err := os.ReadFile(filepath.Join(root, tc.leaf))
				if err != nil || string(b) != "4242" {
					t.Errorf("%s holds %q (%v), want the pid", tc.leaf, b, err)
				}
			}
		})
	}
	t.Run("no v2 line", func(t *testing.T) {
		root := t.TempDir()
		os.WriteFile(filepath.Join(root, "cgroup.controllers"), nil, 0o644)
		proc := filepath.Join(t.TempDir(), "cgroup")
		os.WriteFile(proc, []byte("4:memory:/x\n"), 0o644)
		if _, err := moveToLeaf(root, proc, 1); err == nil {
			t.Error("no error for a v2 host without a 0:: line")
		}
	})
}
