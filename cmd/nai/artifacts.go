package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/internal/ignore"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// artifactCommands are `nai dataset ...` and `nai model ...`: the same
// verbs over the two registries.
func artifactCommands() []*cli.Command {
	return []*cli.Command{
		artifactCommand(structs.KindDataset, "push, list, pull and remove versioned datasets", "DIR|FILE"),
		artifactCommand(structs.KindModel, "push, list, pull and remove versioned models (weights and their lineage)", "DIR"),
	}
}

func artifactCommand(kind structs.ArtifactKind, usage, what string) *cli.Command {
	withAddr := func(fs ...cli.Flag) []cli.Flag { return append(fs, addressFlag()) }
	pushFlags := []cli.Flag{
		&cli.StringFlag{Name: "name", Usage: "the " + string(kind) + "'s `NAME` (letters, digits, '.', '_', '-')"},
		&cli.StringFlag{Name: "description", Usage: "what it is, a `TEXT`"},
		&cli.StringFlag{Name: "group", Usage: "the owning `GROUP`"},
		&cli.BoolFlag{Name: "json", Usage: "print the server's answer (name, version, whether it is new) as JSON"},
	}
	pushArgs := "-name NAME [-description TEXT] [-group GROUP] [-json] " + what
	if kind == structs.KindDataset {
		pushFlags = append(pushFlags, &cli.StringFlag{Name: "path", Usage: "record data already present on every client at this absolute `PATH` instead of uploading"})
		pushArgs = "-name NAME [-description TEXT] [-group GROUP] [-json] (" + what + " | -path /shared/DIR)"
	}
	a := artifactCmds{kind: kind}
	return &cli.Command{
		Name:   string(kind),
		Usage:  usage,
		Action: parentAction,
		Subcommands: []*cli.Command{
			{Name: "push", Usage: "upload a new version (identical content makes none)", ArgsUsage: pushArgs, Flags: withAddr(pushFlags...), Action: a.push},
			{Name: "list", Usage: "list the " + string(kind) + "s", ArgsUsage: "[-json]", Flags: withAddr(jsonFlag()), Action: a.list},
			{Name: "show", Usage: "show one " + string(kind) + " and its versions", ArgsUsage: "[-json] NAME[:VERSION]", Flags: withAddr(jsonFlag()), Action: a.show},
			{
				Name: "pull", Usage: "download a version and unpack it", ArgsUsage: "[-o DIR] [-json] NAME[:VERSION]",
				Flags: withAddr(&cli.StringFlag{Name: "o", Aliases: []string{"output"}, Usage: "new or empty `DIR` to unpack into (default NAME-vVERSION)"},
					&cli.BoolFlag{Name: "json", Usage: "print what was written (version, folder, files, bytes) as JSON"}),
				Action: a.pull,
			},
			{Name: "rm", Usage: "remove one version (refused while a pending or running job uses it)", ArgsUsage: "[-json] NAME:VERSION", Flags: withAddr(jsonFlag()), Action: a.rm},
		},
	}
}

type artifactCmds struct{ kind structs.ArtifactKind }

func (a artifactCmds) push(c *cli.Context) error {
	name := c.String("name")
	if name == "" {
		return &usageError{msg: "missing -name", usage: usageLine(c)}
	}
	if !structs.ValidName(name) {
		return &usageError{msg: fmt.Sprintf("%s name %q is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d characters", a.kind, name, structs.MaxNameLen), usage: usageLine(c)}
	}
	req := &structs.ArtifactPushRequest{Description: c.String("description"), Group: c.String("group")}
	args := c.Args().Slice()
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if p := pathFlag(c); p != "" {
		if err := needArgs(0, args, "", usageLine(c)); err != nil {
			return &usageError{msg: "give either a folder or -path, not both", usage: usageLine(c)}
		}
		req.Path = p
	} else {
		if err := needArgs(1, args, string(a.kind)+" folder", usageLine(c)); err != nil {
			return err
		}
		// Ask before the transfer whether this push will be taken (who
		// may write the name, the group): a refusal after uploading the
		// folder would have sent it for nothing. A server too old to
		// know the question refuses the field; the push then goes ahead
		// and is checked as before.
		check := *req
		check.DryRun, check.User = true, localOwner(cl)
		if _, err := cl.PushArtifact(c.Context, a.kind, name, &check); err != nil && !strings.Contains(err.Error(), `unknown field "dry_run"`) {
			return fmt.Errorf("push %s %s: %w", a.kind, name, err)
		}
		blob, err := packAndUpload(c.Context, cl, args[0], c.App.ErrWriter)
		if err != nil {
			return err
		}
		req.Digest, req.Size, req.Files = blob.digest, blob.size, blob.files
		if a.kind == structs.KindModel {
			req.Serve = modelServeCommand(args[0]) // service.go
		}
	}
	req.User = localOwner(cl)
	resp, err := cl.PushArtifact(c.Context, a.kind, name, req)
	if err != nil {
		return fmt.Errorf("push %s %s: %w", a.kind, name, err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	if resp.Created {
		fmt.Fprintf(c.App.Writer, "Pushed %s %s version %d\n", a.kind, name, resp.Version)
	} else {
		fmt.Fprintf(c.App.Writer, "%s %s version %d already has this content; no new version\n", capitalize(string(a.kind)), name, resp.Version)
	}
	return nil
}

func pathFlag(c *cli.Context) string {
	if slices.Contains(c.LocalFlagNames(), "path") {
		return c.String("path")
	}
	return ""
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type packedBlob struct {
	digest string
	size   int64
	files  int
}

// maxArtifactBytes bounds what one push packs (expanded).
const maxArtifactBytes = archive.DefaultMaxBytes

// packAndUpload packs a folder (honouring its .naiignore) or one file and
// uploads it, unless the servers hold that content already.
func packAndUpload(ctx context.Context, cl *api.Client, src string, errw io.Writer) (*packedBlob, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	var m *ignore.Matcher
	if fi.IsDir() {
		if m, err = ignore.Load(src); err != nil {
			return nil, err
		}
	}
	p, packErr, err := packAndSend(ctx, cl, src, archive.PackOptions{MaxBytes: maxArtifactBytes, Ignore: m.Match}, errw)
	if packErr == nil && err == nil && p.st.Files == 0 {
		packErr = fmt.Errorf("%s has no files: nothing to push", src)
	}
	if packErr != nil {
		return nil, fmt.Errorf("pack %s: %w", src, packErr)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", src, err)
	}
	// "folder ds1", not "Ds1": the path is the user's, its case too.
	fmt.Fprintln(errw, p.describe("folder "+src))
	return &packedBlob{digest: p.info.Digest, size: p.info.Size, files: p.st.Files}, nil
}

func (a artifactCmds) list(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	as, err := cl.Artifacts(c.Context, a.kind)
	if err != nil {
		return fmt.Errorf("list %ss: %w", a.kind, err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, as)
	}
	if len(as) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "No %ss yet. Push one with `nai %s push`.\n", a.kind, a.kind)
		return nil
	}
	return formatArtifactList(c.App.Writer, as, time.Now())
}

func formatArtifactList(w io.Writer, as []*structs.Artifact, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// PACKED: the size of the stored archive, compressed, which is what a
	// version costs the servers (a push says the folder's own size).
	fmt.Fprintln(tw, "NAME\tLATEST\tVERSIONS\tPACKED\tOWNER\tUPDATED\tDESCRIPTION")
	for _, a := range as {
		latest, size := "-", "-"
		if l := a.Latest(); l != nil {
			latest = strconv.Itoa(l.Version)
			size = structs.FormatSize(l.Size)
			if l.Path != "" {
				size = "-" // a path on the clients, not stored (dataset show names it)
			}
		}
		owner := a.User
		if a.Group != "" {
			owner += "/" + a.Group
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", a.Name, latest, len(a.Versions), size, owner, stamp(a.ModifyTime, now), jobtext.Printable(a.Description))
	}
	return tw.Flush()
}

// parseRef reads NAME[:VERSION] as a usage error when malformed.
func parseRef(c *cli.Context, what string) (string, string, error) {
	args := c.Args().Slice()
	if err := needArgs(1, args, what, usageLine(c)); err != nil {
		return "", "", err
	}
	name, version, err := structs.ParseArtifactRef(args[0])
	if err != nil {
		return "", "", &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	return name, version, nil
}

func (a artifactCmds) show(c *cli.Context) error {
	name, version, err := parseRef(c, string(a.kind)+" NAME")
	if err != nil {
		return err
	}
	explicit := strings.Contains(c.Args().First(), ":")
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	art, err := cl.Artifact(c.Context, a.kind, name)
	if err != nil {
		return err
	}
	if explicit {
		v, err := art.Resolve(version)
		if err != nil {
			return err
		}
		art.Versions = []*structs.ArtifactVersion{v}
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, art)
	}
	return formatArtifact(c.App.Writer, art, time.Now())
}

func formatArtifact(w io.Writer, a *structs.Artifact, now time.Time) error {
	k := newKV(w)
	k.add("Name", a.Name)
	k.add("Kind", string(a.Kind))
	owner := a.User
	if a.Group != "" {
		owner += " (group " + a.Group + ")"
	}
	k.add("Owner", owner)
	k.addIf("Description", a.Description)
	k.add("Created", stamp(a.CreateTime, now))
	if err := k.flush(); err != nil {
		return err
	}
	if len(a.Versions) == 0 {
		_, err := fmt.Fprintln(w, "\nNo versions.")
		return err
	}
	fmt.Fprintln(w, "\nVersions")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if a.Kind == structs.KindModel {
		fmt.Fprintln(tw, "VERSION\tCONTENT\tPACKED\tCREATED\tBY\tJOB\tDATASETS\tPARENT\tMETRICS")
	} else {
		fmt.Fprintln(tw, "VERSION\tCONTENT\tPACKED\tFILES\tCREATED\tBY\tUSED BY")
	}
	for _, v := range a.Versions {
		content := shortDigest(v.Digest)
		if v.Path != "" {
			content = jobtext.Printable(v.Path)
		}
		if a.Kind == structs.KindModel {
			job, datasets, parent := "-", "-", "-"
			if l := v.Lineage; l != nil {
				job = l.JobID
				if len(l.Datasets) > 0 {
					ds := make([]string, len(l.Datasets))
					for i, d := range l.Datasets {
						ds[i] = d.String()
					}
					datasets = strings.Join(ds, ",")
				}
				if l.ParentVersion > 0 {
					parent = strconv.Itoa(l.ParentVersion)
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, content, structs.FormatSize(v.Size), stamp(v.CreateTime, now), v.CreatedBy, job, datasets, parent, metricsSummary(v.Metrics, v.NonFiniteMetrics))
			continue
		}
		used := "-"
		if len(v.UsedBy) > 0 {
			used = strings.Join(v.UsedBy, ",")
		}
		size, files := structs.FormatSize(v.Size), strconv.Itoa(v.Files)
		if v.Path != "" {
			size, files = "-", "-" // not copied: nothing was measured
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, content, size, files, stamp(v.CreateTime, now), v.CreatedBy, used)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if a.Kind == structs.KindDataset {
		return formatDatasetLineage(w, a) // plugin_lineage.go
	}
	return nil
}

func metricsSummary(m map[string]float64, nonFinite map[string]structs.NonFiniteMetric) string {
	if len(m) == 0 && len(nonFinite) == 0 {
		return "-"
	}
	vals := make(map[string]string, len(m)+len(nonFinite))
	for k, v := range m {
		vals[k] = formatFloat(v)
	}
	for k, nf := range nonFinite {
		vals[k] = nf.Value // the run diverged: NaN, not its last finite value
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		parts = append(parts, jobtext.Printable(k)+"="+vals[k]) // metric names come from the job
	}
	return strings.Join(parts, " ")
}

func (a artifactCmds) pull(c *cli.Context) error {
	name, version, err := parseRef(c, string(a.kind)+" NAME[:VERSION]")
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	art, err := cl.Artifact(c.Context, a.kind, name)
	if err != nil {
		return err
	}
	v, err := art.Resolve(version)
	if err != nil {
		return err
	}
	if v.Path != "" {
		return fmt.Errorf("%s %s:%d is data already on the clients at %s: there is nothing to download", a.kind, name, v.Version, v.Path)
	}
	dir := c.String("o")
	if dir == "" {
		dir = fmt.Sprintf("%s-v%d", name, v.Version)
	}
	st, err := download(func() (io.ReadCloser, error) {
		return cl.ArtifactContent(c.Context, a.kind, name, strconv.Itoa(v.Version))
	}, v.Digest, dir, v.Size, fmt.Sprintf("%s:%d", name, v.Version), c.App.ErrWriter)
	if err != nil {
		return fmt.Errorf("pull %s %s:%d: %w", a.kind, name, v.Version, err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, pulled{Kind: a.kind, Name: name, Version: v.Version, Digest: v.Digest, Dir: dir, Files: st.Files, Bytes: st.Bytes})
	}
	_, err = fmt.Fprintf(c.App.ErrWriter, "Wrote %s %s:%d (%s, %s) to %s\n", a.kind, name, v.Version, plural(st.Files, "file"), structs.FormatSize(st.Bytes), dir)
	return err
}

// pulled is what `nai dataset pull -json` prints.
type pulled struct {
	Kind    structs.ArtifactKind `json:"kind"`
	Name    string               `json:"name"`
	Version int                  `json:"version"`
	Digest  string               `json:"digest"`
	Dir     string               `json:"dir"`
	Files   int                  `json:"files"`
	Bytes   int64                `json:"bytes"`
}

func (a artifactCmds) rm(c *cli.Context) error {
	args := c.Args().Slice()
	if err := needArgs(1, args, string(a.kind)+" NAME:VERSION", usageLine(c)); err != nil {
		return err
	}
	name, version, err := structs.ParseArtifactRef(args[0])
	if err != nil {
		return &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	n, err := strconv.Atoi(version)
	if err != nil || !strings.Contains(args[0], ":") {
		return &usageError{msg: fmt.Sprintf("%q: name the version to remove, such as %s:3", args[0], name), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if err := cl.DeleteArtifactVersion(c.Context, a.kind, name, n); err != nil {
		return err
	}
	return reportChange(c, c.App.Writer, change{Action: "removed", Kind: string(a.kind), Name: fmt.Sprintf("%s:%d", name, n)}, "Removed %s %s:%d", a.kind, name, n)
}
