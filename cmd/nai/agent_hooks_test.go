//go:build !nai_cli

package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/client"
)

func executable(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAgentConfigHooks(t *testing.T) {
	dir := t.TempDir()
	prolog, epilog := executable(t, dir, "prolog"), executable(t, dir, "epilog")
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "client.hcl")
	write := func(client string) {
		body := "node_name = \"gpu1\"\ndata_dir = \"/var/lib/nai\"\njoin = [\"10.0.0.1:4648\"]\nclient {\n  enabled = true\n" + client + "}\n"
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("  prolog = \"" + prolog + "\"\n  epilog = \"" + epilog + "\"\n  hook_timeout = \"5s\"\n")
	cfg, err := parseAgentFlags(t, "-config", file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.clientHooks(), (client.Hooks{Prolog: prolog, Epilog: epilog, Timeout: 5 * time.Second}); got != want {
		t.Errorf("hooks %+v, want %+v", got, want)
	}
	for _, tc := range []struct{ client, want string }{
		{"  prolog = \"prolog.sh\"\n", `client.prolog "prolog.sh" is not an absolute path`},
		{"  epilog = \"" + notExec + "\"\n", "client.epilog " + notExec + " is not an executable file"},
		{"  prolog = \"/nonexistent/prolog\"\n", "client.prolog: stat /nonexistent/prolog: no such file or directory"},
		{"  hook_timeout = \"soon\"\n", `client.hcl:6:18: hook_timeout "soon" is not a positive duration`},
	} {
		write(tc.client)
		if _, err := parseAgentFlags(t, "-config", file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("client {\n%s}: err %v, want %q", tc.client, err, tc.want)
		}
	}
}

// recordingHooks records the hooks a reload sets.
type recordingHooks struct {
	mu   sync.Mutex
	sets []client.Hooks
}

func (r *recordingHooks) SetHooks(h client.Hooks) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets = append(r.sets, h)
	return nil
}

// SIGHUP applies new hook paths and timeout to the client.
func TestReloadAppliesHooks(t *testing.T) {
	f := newReloadFixture(t)
	hooks := &recordingHooks{}
	f.r.hooks = hooks
	prolog := executable(t, t.TempDir(), "prolog")
	f.write(t, strings.Replace(reloadBase, "  enabled = true\n", "  enabled = true\n  prolog = \""+prolog+"\"\n  hook_timeout = \"2s\"\n", 1))
	if err := f.r.reload(); err != nil {
		t.Fatal(err)
	}
	if len(hooks.sets) != 1 || hooks.sets[0] != (client.Hooks{Prolog: prolog, Timeout: 2 * time.Second}) {
		t.Errorf("hooks set %+v", hooks.sets)
	}
	if !strings.Contains(f.logs.String(), "client hooks prolog") {
		t.Errorf("the reload does not say it applied the hooks:\n%s", f.logs.String())
	}
	// The same configuration again changes nothing.
	if err := f.r.reload(); err != nil || len(hooks.sets) != 1 {
		t.Errorf("a reload without change set hooks again: %v, %+v", err, hooks.sets)
	}
}
