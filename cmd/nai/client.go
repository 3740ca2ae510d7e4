package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"

	"github.com/nai-project/nai/api"
	"github.com/urfave/cli/v2"
)

// addressFlag is on the app and on every command that talks to an agent,
// so it may be given before or after the command name.
func addressFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "address",
		Usage: "agent HTTP address (default $NAI_ADDR or " + api.DefaultAddr + ")",
	}
}

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print the API object as JSON"}
}

// address is the -address given nearest to the command, or "" (NAI_ADDR,
// then the default, decided by api.NewClient).
func address(c *cli.Context) string {
	for _, x := range c.Lineage() {
		if slices.Contains(x.LocalFlagNames(), "address") {
			return x.String("address")
		}
	}
	return ""
}

// newClient returns an API client for the chosen agent, acting as the
// local account.
func newClient(c *cli.Context) (*api.Client, error) {
	cl, err := api.NewClient(address(c))
	if err != nil {
		return nil, err
	}
	cl.User = currentUser()
	return cl, nil
}

// currentUser is the local account name, which the servers record as the
// owner of what is submitted until tokens exist.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// printJSON writes v indented, as the API sends it.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// isTerminal reports whether w is a character device (colour is for people).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
