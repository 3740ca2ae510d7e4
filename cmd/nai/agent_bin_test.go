package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeExe(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestFindAgentBinary(t *testing.T) {
	dir := t.TempDir()
	bin, onPath, other := filepath.Join(dir, "bin"), filepath.Join(dir, "path"), filepath.Join(dir, "other")
	self := filepath.Join(bin, "nai")
	writeExe(t, self, 0o755)
	writeExe(t, filepath.Join(onPath, "nai-agent"), 0o755)
	writeExe(t, filepath.Join(other, "nai-agent"), 0o644) // not executable: skipped

	// On PATH only.
	got, err := findAgentBinary(self, other+string(os.PathListSeparator)+onPath)
	if err != nil || got != filepath.Join(onPath, "nai-agent") {
		t.Errorf("agent on PATH: %q, %v", got, err)
	}
	// Beside the CLI wins over PATH.
	writeExe(t, filepath.Join(bin, "nai-agent"), 0o755)
	if got, err := findAgentBinary(self, onPath); err != nil || got != filepath.Join(bin, "nai-agent") {
		t.Errorf("agent beside nai: %q, %v", got, err)
	}
	// Nowhere: the error names the binary, where it looked and what to do.
	lone := filepath.Join(dir, "lone", "nai")
	writeExe(t, lone, 0o755)
	_, err = findAgentBinary(lone, other)
	if err == nil || !strings.Contains(err.Error(), "nai-agent") || !strings.Contains(err.Error(), lone) || !strings.Contains(err.Error(), "make build") {
		t.Errorf("no agent anywhere: %v", err)
	}
}

// The agent's executor binary: nai-executor beside it first, then the
// CLI nai beside it, then itself; only executable regular files count.
func TestExecutorBinary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		self  string            // the agent's binary, in the case's dir
		files map[string]string // name in the dir -> "x" (executable), "-" (not), "d" (a dir)
		want  string            // name in the dir
	}{
		{name: "agent alone", self: "nai-agent", want: "nai-agent"},
		{name: "CLI beside", self: "nai-agent", files: map[string]string{"nai": "x"}, want: "nai"},
		{name: "nai-executor beside", self: "nai-agent", files: map[string]string{"nai-executor": "x"}, want: "nai-executor"},
		{name: "nai-executor wins over the CLI", self: "nai-agent", files: map[string]string{"nai": "x", "nai-executor": "x"}, want: "nai-executor"},
		{name: "nai-executor not executable", self: "nai-agent", files: map[string]string{"nai": "x", "nai-executor": "-"}, want: "nai"},
		{name: "nai-executor a dir", self: "nai-agent", files: map[string]string{"nai-executor": "d"}, want: "nai-agent"},
		{name: "CLI not executable", self: "nai-agent", files: map[string]string{"nai": "-"}, want: "nai-agent"},
		// A full binary named nai is its own executor, unless nai-executor
		// is beside it.
		{name: "full binary named nai", self: "nai", want: "nai"},
		{name: "full binary named nai with nai-executor", self: "nai", files: map[string]string{"nai-executor": "x"}, want: "nai-executor"},
		{name: "renamed agent", self: "nai-agent-1.2", files: map[string]string{"nai": "x"}, want: "nai"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeExe(t, filepath.Join(dir, tc.self), 0o755)
			for name, kind := range tc.files {
				p := filepath.Join(dir, name)
				switch kind {
				case "x":
					writeExe(t, p, 0o755)
				case "-":
					writeExe(t, p, 0o644)
				case "d":
					if err := os.Mkdir(p, 0o755); err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatalf("file kind %q: want x, - or d", kind)
				}
			}
			if got, want := executorBinary(filepath.Join(dir, tc.self)), filepath.Join(dir, tc.want); got != want {
				t.Errorf("executor binary %q, want %q", got, want)
			}
		})
	}
}
