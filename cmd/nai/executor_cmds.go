package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/client/executor"
)

// The per-job processes, in both binaries (main dispatches them before
// the command tree is built; these entries keep them in it, hidden, for
// `nai help` and argument handling). nai-executor runs the same two; these
// stay for agents without it beside them and for executors started before
// it was installed.
func executorCommand() *cli.Command {
	return &cli.Command{
		Name:            "executor",
		Usage:           "supervise one allocation's process (started by the agent)",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			if code := executor.Main(c.Args().Slice()); code != 0 {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

func execShimCommand() *cli.Command {
	return &cli.Command{
		Name:            "exec-shim",
		Usage:           "join an allocation's cgroup and exec its task (started by the executor)",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			if code := executor.ShimMain(c.Args().Slice()); code != 0 {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}
