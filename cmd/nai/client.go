package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// addressFlag is on the app and on every command that talks to an agent,
// so it may be given before or after the command name.
func addressFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "address",
		Usage: "agent HTTP `ADDRESS` (default $NAI_ADDR or " + api.DefaultAddr + ")",
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

// newClient returns an API client for the chosen agent, with the token,
// CA and client certificate of the environment (NAI_TOKEN or the file `nai
// login` wrote, NAI_CACERT, NAI_CLIENT_CERT, NAI_CLIENT_KEY).
func newClient(c *cli.Context) (*api.Client, error) {
	return api.NewClient(address(c))
}

// localOwner is who a submission or a push says it is from: the local
// account when the CLI has no token (a cluster without ACLs records it),
// nobody when it has one (the token decides who the servers record).
func localOwner(cl *api.Client) string {
	if cl.Token() != "" {
		return ""
	}
	return currentUser()
}

// ownJobs names the local account as the jobs' owner when the CLI has no
// token.
func ownJobs(cl *api.Client, jobs []*structs.Job) {
	if u := localOwner(cl); u != "" {
		for _, j := range jobs {
			if j.User == "" {
				j.User = u
			}
		}
	}
}

// currentUser is the local account name, which a cluster without ACLs
// records as the owner of what is submitted.
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

// isTerminal reports whether w is a terminal (colour, progress and
// questions are for people).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	// A terminal answers the terminal ioctl; a character device alone is
	// not one (/dev/null is a character device).
	return term.IsTerminal(int(f.Fd()))
}

// change is what -json prints for a change the API answers without an
// object of its own: what was done to what, with the object as set.
type change struct {
	Action string `json:"action"` // created, updated, removed
	Kind   string `json:"kind"`   // user, group, queue, share, quota, token, ...
	Name   string `json:"name"`
	// Index is the raft index that holds the change, when the API says.
	Index  uint64 `json:"index,omitempty"`
	Detail any    `json:"detail,omitempty"`
}

// reportChange ends a command that changed something: with -json the
// change as JSON on stdout, else a sentence on w.
func reportChange(c *cli.Context, w io.Writer, ch change, format string, args ...any) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, ch)
	}
	_, err := fmt.Fprintf(w, format+"\n", args...)
	return err
}
