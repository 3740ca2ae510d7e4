package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/internal/version"
)

// versionFlag is the top-level -version, the same as `nai version`.
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Usage: "print the version, commit and Go version, and exit"}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version, commit and Go version of this binary",
		ArgsUsage: "[-json]",
		Flags:     []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, version.Get())
			}
			return printVersion(c.App.Writer, version.Get())
		},
	}
}

// rootAction runs for `nai` given no command: -version, else help or a
// usage error as for any command group.
func rootAction(c *cli.Context) error {
	if c.Bool("version") {
		return printVersion(c.App.Writer, version.Get())
	}
	return parentAction(c)
}

func printVersion(w io.Writer, v version.Info) error {
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	} else if v.Modified {
		commit += " (modified)"
	}
	build := v.Build
	if build == version.BuildCLI {
		build += " (the agent is " + agentBinaryName + ", beside it)"
	}
	_, err := fmt.Fprintf(w, "nai %s\ncommit: %s\ngo:     %s %s\nbuild:  %s\n", v.Version, commit, v.GoVersion, v.Platform, build)
	return err
}
