package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// jobHoldCommand is `nai job hold ID...` (scontrol hold): pending jobs
// stay in the queue but do not start until released.
func jobHoldCommand() *cli.Command {
	return &cli.Command{
		Name:      "hold",
		Usage:     "keep pending jobs from starting until released (like scontrol hold)",
		ArgsUsage: "[-json] ID|ID_N|ID_[2-5,7]...",
		Description: "An array id holds every pending member; ID_N and ID_[2-5,7] hold members of it. Only pending\n" +
			"jobs can be held: one that runs or has ended refuses the whole request, and nothing changes.\n" +
			"A job held already (an array whose pending jobs all are) is left as it is and named as an error,\n" +
			"exit status 1, as nai job release does with a job not held; the others named are still held.\n" +
			"Your hold is a user hold, which you release with nai job release; an operator's is an admin\n" +
			"hold (JobHeldAdmin), which only an operator releases.",
		Flags:  []cli.Flag{jsonFlag(), addressFlag()},
		Action: func(c *cli.Context) error { return jobHoldOrRelease(c, false) },
	}
}

// jobReleaseCommand is `nai job release ID...` (scontrol release).
func jobReleaseCommand() *cli.Command {
	return &cli.Command{
		Name:      "release",
		Usage:     "let held jobs start again (like scontrol release)",
		ArgsUsage: "[-json] ID|ID_N|ID_[2-5,7]...",
		Description: "An array id releases every held member. A job that is not held (an array with no held job)\n" +
			"is left as it is and named as an error, exit status 1, as scontrol release does; the others named\n" +
			"are still released. An admin hold refuses the whole request, and nothing changes, unless you are an operator.",
		Flags:  []cli.Flag{jsonFlag(), addressFlag()},
		Action: func(c *cli.Context) error { return jobHoldOrRelease(c, true) },
	}
}

// jobRefArgs are the job references a command was given (ID, A_N,
// A_[2-5,7]), each checked before anything is sent.
func jobRefArgs(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return nil, &usageError{msg: "missing job ID", usage: usageLine(c)}
	}
	for _, a := range args {
		if strings.TrimSpace(a) == "" {
			return nil, &usageError{msg: "empty job ID", usage: usageLine(c)}
		}
		if _, _, _, err := memberRef(a); err != nil && !strings.Contains(a, "_[") {
			return nil, &usageError{msg: err.Error(), usage: usageLine(c)}
		}
		if _, _, _, err := parseMemberSet(a); err != nil {
			return nil, &usageError{msg: err.Error(), usage: usageLine(c)}
		}
	}
	return args, nil
}

func jobHoldOrRelease(c *cli.Context, release bool) error {
	args, err := jobRefArgs(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	targets, refs, err := holdTargets(c.Context, cl, args)
	if err != nil {
		return err
	}
	verb, past := "hold", "held"
	call := cl.HoldJobs
	if release {
		verb, past, call = "release", "released", cl.ReleaseJobs
	}
	resp, err := call(c.Context, targets)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, strings.Join(args, " "), err)
	}
	if c.Bool("json") {
		if err := printJSON(c.App.Writer, resp); err != nil {
			return err
		}
		return unchangedError(c.App.ErrWriter, resp.Unchanged, release)
	}
	kind := ""
	if resp.Admin {
		kind = " (admin hold: only an operator can release it)"
	}
	names := heldNames(resp, refs)
	switch n := len(resp.JobIDs); {
	case n == 0 && len(resp.Unchanged) > 0:
		// Said below, as the error.
	case n == 0:
		fmt.Fprintf(c.App.Writer, "Nothing to do: already %s.\n", past)
	case n == 1 && names[0] != resp.JobIDs[0]:
		fmt.Fprintf(c.App.Writer, "Job %s (job %s) %s%s.\n", names[0], resp.JobIDs[0], past, kind)
	case n == 1:
		fmt.Fprintf(c.App.Writer, "Job %s %s%s.\n", names[0], past, kind)
	default:
		fmt.Fprintf(c.App.Writer, "%s %s%s: %s.\n", capitalize(plural(n, "job")), past, kind, idList(names))
	}
	return unchangedError(c.App.ErrWriter, resp.Unchanged, release)
}

// unchangedError reports the targets that were as asked already, one line
// each, and fails: a job held already is as much an error to hold as one
// not held is to release (scontrol's error), and the two are told alike.
// The jobs that did change stay changed.
func unchangedError(w io.Writer, unchanged []structs.JobHoldUnchanged, release bool) error {
	lines := make([]string, len(unchanged))
	for i, u := range unchanged {
		name := "job " + u.Ref
		switch {
		case u.Array:
			name = "job array " + u.Ref
		case u.Ref != u.ID:
			name += " (job " + u.ID + ")"
		}
		switch {
		case release && u.Array:
			lines[i] = name + " has no held job; nothing to release"
		case release:
			lines[i] = name + " is not held; nothing to release"
		case u.Array:
			lines[i] = name + " already held: every pending job in it is"
		default:
			lines[i] = name + " already held"
		}
	}
	switch len(lines) {
	case 0:
		return nil
	case 1:
		return errors.New(lines[0])
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if release {
		return fmt.Errorf("%d of the jobs named were not held", len(lines))
	}
	return fmt.Errorf("%d of the jobs named were already held", len(lines))
}

// heldNames names the jobs a hold or release changed as nai queue does,
// an array's member as A_N: as the server named them, else (a server
// before Refs) as they were typed (typed, from holdTargets), else by id.
func heldNames(resp *structs.JobHoldResponse, typed map[string]string) []string {
	return jobNames(resp.JobIDs, resp.Refs, typed)
}

// jobNames names the jobs ids as nai queue does: by refs, the server's
// names in the same order, when it sent them, else as typed, else by id.
func jobNames(ids, refs []string, typed map[string]string) []string {
	if len(refs) == len(ids) {
		return refs
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = cmp.Or(typed[id], id)
	}
	return names
}

// holdTargets resolves what the person typed: ids go as they are (an
// array id names its members, which the servers pick); ID_N and
// ID_[2-5,7] are looked up, member 0 of an array sent alone. names maps
// the job id of each member named so to its ref (12_3).
func holdTargets(ctx context.Context, cl *api.Client, refs []string) (out []structs.CancelTarget, names map[string]string, err error) {
	names = map[string]string{}
	seen := map[structs.CancelTarget]bool{}
	add := func(t structs.CancelTarget) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, ref := range refs {
		if arr, spans, ok, _ := parseMemberSet(ref); ok {
			members, err := cl.ArrayJobs(ctx, arr)
			if err != nil {
				return nil, nil, fmt.Errorf("job array %s: %w", arr, err)
			}
			for _, s := range spans {
				found := false
				for _, m := range members {
					if t := m.ArrayTask(); t >= s.lo && t <= s.hi {
						found = true
						add(structs.CancelTarget{ID: m.ID, Only: m.ID == arr})
						names[m.ID] = m.ArrayRef()
					}
				}
				if !found {
					return nil, nil, structs.NewError(structs.CodeNotFound, "job array %s has no member in %s", arr, s)
				}
			}
			continue
		}
		if arr, _, ok, _ := memberRef(ref); ok {
			id, err := resolveJob(ctx, cl, ref)
			if err != nil {
				return nil, nil, err
			}
			add(structs.CancelTarget{ID: id, Only: id == arr})
			names[id] = ref
			continue
		}
		add(structs.CancelTarget{ID: ref})
	}
	return out, names, nil
}

// idList is "12, 13, 14", or the first eight and how many more.
func idList(ids []string) string {
	if len(ids) > 8 {
		return strings.Join(ids[:8], ", ") + fmt.Sprintf(" and %d more", len(ids)-8)
	}
	return strings.Join(ids, ", ")
}
