//go:build !nai_cli

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nai-project/nai/client"
)

// A client's node hooks, Slurm's Prolog and Epilog (client/hooks.go):
//
//	client {
//	  prolog       = "/etc/nai/prolog.sh"   # before each job on this node
//	  epilog       = "/etc/nai/epilog.sh"   # after each job
//	  hook_timeout = "30s"
//	}
//
// A reload (SIGHUP) applies new paths and a new timeout to the jobs that
// start after it.

// applyHooks copies the hook settings a file gives onto cfg.
func (fc *fileClient) applyHooks(cfg *agentConfig, errs *configError) {
	set(&cfg.Client.Prolog, fc.Prolog)
	set(&cfg.Client.Epilog, fc.Epilog)
	if str, rng, ok := stringExpr(fc.HookTimeout, errs); ok {
		d, err := time.ParseDuration(str)
		if err != nil || d <= 0 {
			errs.add("%s: hook_timeout %q is not a positive duration such as \"30s\"", pos(rng), str)
		} else {
			cfg.Client.HookTimeout = d
		}
	}
}

// validateHooks checks that each hook is an executable file named by an
// absolute path: a hook that cannot run would drain the node at its first
// job.
func (cfg *agentConfig) validateHooks(errs *configError) {
	for _, h := range []struct{ name, path string }{{"prolog", cfg.Client.Prolog}, {"epilog", cfg.Client.Epilog}} {
		if h.path == "" {
			continue
		}
		if !filepath.IsAbs(h.path) {
			errs.add("client.%s %q is not an absolute path", h.name, h.path)
			continue
		}
		fi, err := os.Stat(h.path)
		switch {
		case err != nil:
			errs.add("client.%s: %v", h.name, err)
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			errs.add("client.%s %s is not an executable file (chmod +x it)", h.name, h.path)
		}
	}
	if cfg.Client.HookTimeout < 0 {
		errs.add("client.hook_timeout %s is negative", cfg.Client.HookTimeout)
	}
}

// clientHooks is the client's view of the configuration.
func (cfg *agentConfig) clientHooks() client.Hooks {
	return client.Hooks{Prolog: cfg.Client.Prolog, Epilog: cfg.Client.Epilog, Timeout: cfg.Client.HookTimeout}
}

// hookSetter is the client's side of a hooks reload (client.Client).
type hookSetter interface {
	SetHooks(client.Hooks) error
}

// reloadHooks applies changed hooks and says what changed, or "".
func (r *agentReloader) reloadHooks(next *agentConfig) (string, error) {
	if r.hooks == nil || next.clientHooks() == r.cfg.clientHooks() {
		return "", nil
	}
	old := r.cfg.clientHooks()
	if err := r.hooks.SetHooks(next.clientHooks()); err != nil {
		return "", err
	}
	r.cfg.Client.Prolog, r.cfg.Client.Epilog, r.cfg.Client.HookTimeout = next.Client.Prolog, next.Client.Epilog, next.Client.HookTimeout
	return fmt.Sprintf("client hooks prolog %q -> %q, epilog %q -> %q, timeout %s -> %s",
		old.Prolog, next.Client.Prolog, old.Epilog, next.Client.Epilog, orDefault(old.Timeout), orDefault(next.Client.HookTimeout)), nil
}

func orDefault(d time.Duration) string {
	if d == 0 {
		return client.DefaultHookTimeout.String() + " (default)"
	}
	return d.String()
}
