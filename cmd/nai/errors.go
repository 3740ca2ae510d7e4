package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// exitCode ends the command with this status; whatever had to be said was
// already printed (a job's own exit code, diagnostics of a job file).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageError is a mistake in the command line itself.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

// interruptedCode is the conventional status after Ctrl-C (128 + SIGINT).
const interruptedCode = 130

// report prints err for a person and returns the exit status.
func report(ctx context.Context, w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	// Commands from extra.go end with cli.Exit(message, code).
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := strings.TrimSpace(ec.Error()); msg != "" {
			fmt.Fprintf(w, "Error: %s\n", msg)
		}
		return ec.ExitCode()
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "Error: %s (usage: %s)\n", ue.msg, ue.usage)
		return 1
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "Interrupted.")
		return interruptedCode
	}
	fmt.Fprintf(w, "Error: %s\n", err)
	switch msg := err.Error(); {
	case isConnError(err) && (strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:")):
		fmt.Fprintln(w, "The agent speaks mutual TLS: set NAI_CACERT to the cluster's CA, and NAI_CLIENT_CERT and NAI_CLIENT_KEY to a certificate from `nai tls cert create -cli`; NAI_ADDR starts with https://.")
	case isConnError(err):
		fmt.Fprintln(w, unreachableHint(err))
	case structs.CodeOf(err) == structs.CodeNotLeader && strings.Contains(msg, "no raft leader"):
		fmt.Fprintln(w, "Quorum may be lost. `nai operator raft list-peers -stale` shows the raft configuration as the server asked holds it, and `nai agent-info` what it sees; if a majority of the servers is gone for good, see \"Recovering from a lost quorum\" in docs/operations.md (peers.json).")
	}
	return 1
}

// isConnError reports whether err is a failure to reach the agent at all
// (as opposed to an answer from it, or a write sent and left unanswered).
func isConnError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	_, ok := api.Unreachable(err)
	return ok
}

// unreachableHint is the advice under an error that reached no agent: to
// start a dev agent only where the CLI looked for one at the local default
// address, never for a configured cluster.
func unreachableHint(err error) string {
	addrs, _ := api.Unreachable(err)
	local := len(addrs) > 0
	for _, a := range addrs {
		local = local && api.IsLocalDefault(a)
	}
	if local {
		return "Is a nai agent running there? Start one with `nai agent -dev`, or point NAI_ADDR (or -address) at one."
	}
	if len(addrs) > 1 {
		return "No server in NAI_ADDR (or -address) answered: check that they run (systemctl status nai) and that this host can reach them."
	}
	return "Is the nai agent there running, and reachable from this host? Check NAI_ADDR (or -address), or list more servers in it, separated by commas."
}

// needArgs checks the number of positional arguments.
func needArgs(n int, args []string, what string, usage string) error {
	switch {
	case len(args) < n:
		return &usageError{msg: "missing " + what, usage: usage}
	case len(args) > n:
		return &usageError{msg: fmt.Sprintf("too many arguments: %q", args[n:]), usage: usage}
	}
	return nil
}
