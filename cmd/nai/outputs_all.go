package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/structs"
)

// arrayOutputsWritten is what nai job outputs -all -json prints: each
// member's folder, and the members that kept none.
type arrayOutputsWritten struct {
	ArrayID string           `json:"array_id"`
	Dir     string           `json:"dir"`
	Members []outputsWritten `json:"members"`
	// Without lists the members with no outputs (yet): pending, running,
	// or ended without writing any.
	Without []string `json:"without"`
	Files   int      `json:"files"`
	Bytes   int64    `json:"bytes"`
}

// arrayOutputs is nai job outputs -all ARRAY: every member's outputs, each
// unpacked into DIR/ID_N, so that a sweep's results sit side by side.
func arrayOutputs(c *cli.Context, cl *api.Client) error {
	usage := usageLine(c)
	args := c.Args().Slice()
	if err := needArgs(1, args, "array id", usage); err != nil {
		return err
	}
	if c.IsSet("rank") {
		return &usageError{msg: "-all and -rank go apart: -rank picks one rank of one job", usage: usage}
	}
	ref := args[0]
	if strings.Contains(ref, "_") {
		return &usageError{msg: fmt.Sprintf("-all takes an array id, not a member (%s): give %s", ref, strings.SplitN(ref, "_", 2)[0]), usage: usage}
	}
	_, id, err := refArg(c, cl)
	if err != nil {
		return err
	}
	j, _, err := cl.Job(c.Context, id)
	if err != nil {
		return err
	}
	if j.ArrayID != j.ID {
		return &usageError{msg: fmt.Sprintf("job %s is not an array: nai job outputs %s gets its outputs", ref, ref), usage: usage}
	}
	members, err := cl.ArrayJobs(c.Context, j.ArrayID)
	if err != nil {
		return fmt.Errorf("list the members of array %s: %w", ref, err)
	}
	dir := c.String("o")
	if dir == "" {
		dir = "job-" + ref + "-outputs"
	}
	if err := newOrEmptyDir(dir); err != nil {
		return err
	}
	out := arrayOutputsWritten{ArrayID: j.ArrayID, Dir: dir, Members: []outputsWritten{}, Without: []string{}}
	for _, m := range members {
		name := m.ArrayRef()
		if m.OutputDigest == "" {
			out.Without = append(out.Without, name)
			continue
		}
		sub := filepath.Join(dir, name)
		what := "outputs of job " + name
		st, err := download(func() (io.ReadCloser, error) { return cl.Outputs(c.Context, m.ID) }, "", sub, m.OutputSize, what, c.App.ErrWriter)
		if err != nil {
			return outputsError(what, err)
		}
		out.Members = append(out.Members, outputsWritten{JobID: m.ID, Dir: sub, Files: st.Files, Bytes: st.Bytes})
		out.Files += st.Files
		out.Bytes += st.Bytes
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, out)
	}
	fmt.Fprintf(c.App.ErrWriter, "Wrote %s (%s) of %s to %s\n", plural(out.Files, "file"), structs.FormatSize(out.Bytes),
		plural(len(out.Members), "member"), dir)
	if n := len(out.Without); n > 0 {
		fmt.Fprintf(c.App.ErrWriter, "%s kept no outputs (yet): %s\n", plural(n, "member"), strings.Join(out.Without, " "))
	}
	return nil
}

// newOrEmptyDir makes dir, or accepts it when it exists and is empty, as
// a single download does.
func newOrEmptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o777)
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("%s is not empty: give a new or empty folder with -o", dir)
	}
	return nil
}

// outputsError says what went wrong downloading what: a refused archive,
// the servers' own answer as it is, or the unpacking.
func outputsError(what string, err error) error {
	if errors.Is(err, archive.ErrUnsafe) || errors.Is(err, archive.ErrTooLarge) {
		return fmt.Errorf("%s refused, nothing written: %w", what, err)
	}
	var se *structs.Error
	if errors.As(err, &se) {
		return err // the servers' answer says it all
	}
	return fmt.Errorf("unpack %s: %w", what, err)
}
