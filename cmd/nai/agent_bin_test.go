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

func TestExecutorBinary(t *testing.T) {
	dir := t.TempDir()
	agent := filepath.Join(dir, "nai-agent")
	writeExe(t, agent, 0o755)
	// The agent alone runs its own executors.
	if got := executorBinary(agent); got != agent {
		t.Errorf("agent alone: executor %q, want %q", got, agent)
	}
	// With the CLI beside it, the CLI (quicker to start) runs them.
	cli := filepath.Join(dir, "nai")
	writeExe(t, cli, 0o755)
	if got := executorBinary(agent); got != cli {
		t.Errorf("agent beside nai: executor %q, want %q", got, cli)
	}
	// A full binary named nai is its own executor.
	full := filepath.Join(t.TempDir(), "nai")
	writeExe(t, full, 0o755)
	if got := executorBinary(full); got != full {
		t.Errorf("full binary named nai: executor %q, want %q", got, full)
	}
}
