package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
)

// selfFlag is `nai node status -self`: the node of the agent the CLI talks
// to, so that on a GPU host `nai node status -self` needs no id.
func selfFlag() cli.Flag {
	return &cli.BoolFlag{Name: "self", Usage: "show the node of the agent at -address (a client agent) instead of naming one"}
}

// nodeStatusArg is the node `nai node status` shows: its argument, or with
// -self the name of the client agent the CLI talks to.
func nodeStatusArg(c *cli.Context, cl *api.Client) (string, error) {
	if !c.Bool("self") {
		if err := needArgs(1, c.Args().Slice(), "node ID (or -self)", usageLine(c)); err != nil {
			return "", err
		}
		return c.Args().First(), nil
	}
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return "", &usageError{msg: "-self and a node ID are exclusive: give one", usage: usageLine(c)}
	}
	self, err := cl.AgentSelf(c.Context)
	if err != nil {
		return "", fmt.Errorf("ask the agent which node it is: %w", err)
	}
	if !slices.Contains(strings.Split(self.Role, ","), "client") {
		return "", fmt.Errorf("the agent at %s (%s) is a %s and runs no GPU client: give a node ID, or the -address of a client agent", cl.Address(), self.Name, self.Role)
	}
	return self.Name, nil
}
