//go:build nai_cli

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"
)

// agentCommand in the CLI binary: `nai agent ARGS` becomes nai-agent in
// this process's place (exec: same pid, same signals, same systemd unit),
// so every habit and unit that says `nai agent` works, while the CLI that
// people run hundreds of times a minute does not link raft, serf, NVML and
// the client and server, nor pay for their start-up (see agent_bin.go).
func agentCommand() *cli.Command {
	return &cli.Command{
		Name:            "agent",
		Usage:           "run a nai agent (server and client); -dev runs a one-machine cluster",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			path, err := agentBinary()
			if err != nil {
				return cli.Exit("nai agent: "+err.Error(), 1)
			}
			argv := append([]string{path, "agent"}, c.Args().Slice()...)
			if err := syscall.Exec(path, argv, os.Environ()); err != nil {
				return cli.Exit(fmt.Sprintf("nai agent: start %s: %v", path, err), 1)
			}
			return nil
		},
	}
}

// agentBinary finds nai-agent: beside this binary (the release archive,
// the .deb and `make build` put them together), else on PATH.
func agentBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this binary: %w", err)
	}
	if real, err := filepath.EvalSymlinks(self); err == nil {
		self = real
	}
	return findAgentBinary(self, os.Getenv("PATH"))
}
