package main

import "github.com/urfave/cli/v2"

// extraCommands are the commands that wire the agent's packages together
// (or run the simulator), as opposed to the thin API clients of the CLI.
func extraCommands() []*cli.Command {
	return append([]*cli.Command{agentCommand(), executorCommand(), execShimCommand(), simCommand(), versionCommand(), completionCommand()}, clusterCommands()...)
}
