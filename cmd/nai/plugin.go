package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/internal/ignore"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
)

// `nai plugin` manages cluster plugins (structs/plugin.go): a folder with
// a plugin.hcl, installed as a versioned artifact of the cluster, and run
// as a job built from its template. `nai plugin list` shows the CLI
// plugins (plugin_exec.go) beside them.

func pluginCommand() *cli.Command {
	withAddr := func(fs ...cli.Flag) []cli.Flag { return append(fs, addressFlag()) }
	return &cli.Command{
		Name:   "plugin",
		Usage:  "install, list and run cluster plugins (and list CLI plugins, nai-NAME)",
		Action: parentAction,
		Subcommands: []*cli.Command{
			{
				Name: "install", Usage: "install a plugin folder (its plugin.hcl and code) as a new version", ArgsUsage: "[-group GROUP] [-json] DIR",
				Flags: withAddr(&cli.StringFlag{Name: "group", Usage: "the owning `GROUP`"},
					&cli.BoolFlag{Name: "json", Usage: "print the server's answer as JSON"}),
				Action: pluginInstall,
			},
			{Name: "list", Usage: "list the cluster plugins and the CLI plugins", ArgsUsage: "[-json]", Flags: withAddr(jsonFlag()), Action: pluginList},
			{Name: "show", Usage: "show a plugin: its versions, kind and variables", ArgsUsage: "[-json] NAME[:VERSION]", Flags: withAddr(jsonFlag()), Action: pluginShow},
			{Name: "rm", Usage: "remove one version of a plugin", ArgsUsage: "[-json] NAME:VERSION", Flags: withAddr(jsonFlag()), Action: pluginRm},
			{
				Name: "run", Usage: "run a plugin: submit the job its template makes",
				ArgsUsage: "[-dataset NAME[:VERSION]] [-var NAME=VALUE]... [-output-dataset NAME] [-group GROUP] [-detach] [-json] PLUGIN[:VERSION]",
				Flags: withAddr(
					&cli.StringFlag{Name: "dataset", Usage: "the dataset version it reads, `NAME[:VERSION]`"},
					varFlag(),
					&cli.StringFlag{Name: "output-dataset", Usage: "the dataset its outputs become the next version of, `NAME` (dataset plugins: default the input dataset)"},
					&cli.StringFlag{Name: "group", Usage: "submit the job into `GROUP`"},
					&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "print the job id and return instead of following it"},
					&cli.BoolFlag{Name: "json", Usage: "print the submission's answer as JSON (implies -detach)"},
				),
				Action: pluginRun,
			},
		},
	}
}

// maxPluginBytes bounds a plugin folder: code, like a job's code folder.
const maxPluginBytes = maxCodeBytes

func pluginInstall(c *cli.Context) error {
	args := c.Args().Slice()
	if err := needArgs(1, args, "plugin folder", usageLine(c)); err != nil {
		return err
	}
	dir := args[0]
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return &usageError{msg: fmt.Sprintf("%s is not a plugin folder (a folder with a %s)", dir, jobspec.PluginFile), usage: usageLine(c)}
	}
	spec, err := checkPluginFolder(c, dir)
	if err != nil {
		return err
	}
	if isBuiltin(c.App, spec.Name) {
		return fmt.Errorf("plugin name %q is the built-in command `nai %s`: choose another name in %s", spec.Name, spec.Name, filepath.Join(dir, jobspec.PluginFile))
	}
	g := c.String("group")
	if g != "" && !structs.ValidName(g) {
		return &usageError{msg: fmt.Sprintf("-group %q is not a group name", g), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	m, err := ignore.LoadCode(dir)
	if err != nil {
		return fmt.Errorf("plugin folder %s: %w", dir, err)
	}
	if m.Match(jobspec.PluginFile, false) {
		return fmt.Errorf("plugin folder %s ignores its own %s (.gitignore or .naiignore): it must be installed with it", dir, jobspec.PluginFile)
	}
	// Packed as a job's code folder is, so the version's content is the
	// code its jobs run.
	p, packErr, err := packAndSend(c.Context, cl, dir, archive.PackOptions{MaxBytes: maxPluginBytes, Ignore: m.Match}, c.App.ErrWriter)
	if packErr != nil {
		return fmt.Errorf("pack plugin folder %s: %w", dir, packErr)
	}
	if err != nil {
		return fmt.Errorf("upload plugin folder %s: %w", dir, err)
	}
	fmt.Fprintln(c.App.ErrWriter, p.describe("plugin "+dir))
	resp, err := cl.PushArtifact(c.Context, structs.KindPlugin, spec.Name, &structs.ArtifactPushRequest{
		Digest: p.info.Digest, Size: p.info.Size, Files: p.st.Files, Description: spec.Description,
		Group: g, User: localOwner(cl), Plugin: spec,
	})
	if err != nil {
		return fmt.Errorf("install plugin %s %s: %w", spec.Name, spec.Version, err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	if resp.Created {
		fmt.Fprintf(c.App.Writer, "Installed plugin %s %s (%s) as %s:%d\n", spec.Name, spec.Version, spec.Kind, spec.Name, resp.Version)
	} else {
		fmt.Fprintf(c.App.Writer, "Plugin %s %s is installed already as %s:%d; nothing changed\n", spec.Name, spec.Version, spec.Name, resp.Version)
	}
	return nil
}

// checkPluginFolder reads and checks DIR/plugin.hcl; problems are printed
// with their source lines (exit status 1).
func checkPluginFolder(c *cli.Context, dir string) (*structs.PluginSpec, error) {
	path := filepath.Join(dir, jobspec.PluginFile)
	src, err := readLimitedFile(path, jobspec.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("plugin folder %s: %w", dir, err)
	}
	p, err := jobspec.CheckPlugin(path, src)
	if err != nil {
		return nil, diagnosticsOr(c, err)
	}
	return &p.Spec, nil
}

// diagnosticsOr prints a parse's diagnostics with their source and turns
// them into exit status 1; any other error is returned as it is.
func diagnosticsOr(c *cli.Context, err error) error {
	var de *jobspec.DiagError
	if !errors.As(err, &de) {
		return err
	}
	w := c.App.ErrWriter
	if ferr := printDiagnostics(w, de, isTerminal(w) && os.Getenv("NO_COLOR") == ""); ferr != nil {
		return fmt.Errorf("%w (and printing it: %v)", err, ferr)
	}
	return exitCode(1)
}

func readLimitedFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %s", path, structs.FormatSize(limit))
	}
	return b, nil
}

// pluginListing is what `nai plugin list -json` prints.
type pluginListing struct {
	Cluster []*structs.Artifact `json:"cluster"`
	CLI     []cliPlugin         `json:"cli"`
}

func pluginList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	local := listCLIPlugins(c.App)
	cl, err := newClient(c)
	var cluster []*structs.Artifact
	if err == nil {
		cluster, err = cl.Artifacts(c.Context, structs.KindPlugin)
	}
	// The CLI plugins are this machine's: they are listed even when the
	// cluster cannot be asked.
	if c.Bool("json") {
		if cluster == nil {
			cluster = []*structs.Artifact{}
		}
		if local == nil {
			local = []cliPlugin{}
		}
		if perr := printJSON(c.App.Writer, pluginListing{Cluster: cluster, CLI: local}); perr != nil {
			return perr
		}
	} else {
		w := c.App.Writer
		switch {
		case err != nil:
		case len(cluster) == 0:
			fmt.Fprintln(w, "No cluster plugins yet. Install one with `nai plugin install DIR` (see examples/plugins).")
		default:
			fmt.Fprintln(w, "Cluster plugins")
			if ferr := formatPluginList(w, cluster, time.Now()); ferr != nil {
				return ferr
			}
		}
		if len(local) > 0 {
			fmt.Fprintln(w, "\nCLI plugins (nai NAME runs nai-NAME)")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPATH\tNOTE")
			for _, p := range local {
				note := "-"
				if p.Shadowed != "" {
					note = "not run: shadowed by " + p.Shadowed
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, jobtext.Printable(p.Path), note)
			}
			if ferr := tw.Flush(); ferr != nil {
				return ferr
			}
		}
	}
	if err != nil {
		return fmt.Errorf("list cluster plugins: %w", err)
	}
	return nil
}

func formatPluginList(w io.Writer, as []*structs.Artifact, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tKIND\tLATEST\tVERSIONS\tOWNER\tUPDATED\tDESCRIPTION")
	for _, a := range as {
		release, kind, latest := "-", "-", "-"
		if l := a.Latest(); l != nil {
			latest = fmt.Sprintf("%s:%d", a.Name, l.Version)
			if l.Plugin != nil {
				release, kind = l.Plugin.Version, string(l.Plugin.Kind)
			}
		}
		owner := a.User
		if a.Group != "" {
			owner += "/" + a.Group
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.Name, release, kind, latest, len(a.Versions), owner, stamp(a.ModifyTime, now), jobtext.Printable(a.Description))
	}
	return tw.Flush()
}

// pluginRef reads the one NAME[:VERSION] argument.
func pluginRef(c *cli.Context, what string) (string, string, error) {
	args := c.Args().Slice()
	if err := needArgs(1, args, what, usageLine(c)); err != nil {
		return "", "", err
	}
	name, version, err := structs.ParsePluginRef(args[0])
	if err != nil {
		return "", "", &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	return name, version, nil
}

// installedPlugin reads a plugin and resolves the version asked for.
func installedPlugin(ctx context.Context, cl *api.Client, name, version string) (*structs.Artifact, *structs.ArtifactVersion, error) {
	a, err := cl.Artifact(ctx, structs.KindPlugin, name)
	if err != nil {
		if api.IsNotFound(err) {
			return nil, nil, fmt.Errorf("plugin %s is not installed (nai plugin list shows what is; nai plugin install DIR adds one)", name)
		}
		return nil, nil, err
	}
	v, err := a.ResolvePlugin(version)
	if err != nil {
		return nil, nil, err
	}
	if v.Plugin == nil {
		return nil, nil, fmt.Errorf("plugin %s:%d has no header: install it again", name, v.Version)
	}
	return a, v, nil
}

func pluginShow(c *cli.Context) error {
	name, version, err := pluginRef(c, "plugin NAME[:VERSION]")
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	a, v, err := installedPlugin(c.Context, cl, name, version)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, a)
	}
	return formatPlugin(c.App.Writer, a, v, time.Now())
}

func formatPlugin(w io.Writer, a *structs.Artifact, v *structs.ArtifactVersion, now time.Time) error {
	spec := v.Plugin
	k := newKV(w)
	k.add("Name", a.Name)
	k.add("Version", fmt.Sprintf("%s (%s:%d)", spec.Version, a.Name, v.Version))
	k.add("Kind", string(spec.Kind))
	k.addIf("Description", spec.Description)
	owner := a.User
	if a.Group != "" {
		owner += " (group " + a.Group + ")"
	}
	k.add("Owner", owner)
	k.add("Content", fmt.Sprintf("%s (%s, %s)", shortDigest(v.Digest), plural(v.Files, "file"), structs.FormatSize(v.Size)))
	k.add("Installed", stamp(v.CreateTime, now)+" by "+jobtext.OrDash(v.CreatedBy))
	if err := k.flush(); err != nil {
		return err
	}
	if len(spec.Variables) > 0 {
		fmt.Fprintln(w, "\nVariables (nai plugin run -var NAME=VALUE)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTYPE\tDEFAULT\tDESCRIPTION")
		for _, pv := range spec.Variables {
			def := pv.Default
			if pv.Required {
				def = "(required)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", pv.Name, jobtext.Printable(pv.Type), jobtext.Printable(def), jobtext.Printable(pv.Description))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nVersions")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tRELEASE\tCONTENT\tSIZE\tINSTALLED\tBY\tUSED BY")
	for _, x := range a.Versions {
		release := "-"
		if x.Plugin != nil {
			release = x.Plugin.Version
		}
		used := "-"
		if len(x.UsedBy) > 0 {
			used = strings.Join(x.UsedBy, ",")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Version, release, shortDigest(x.Digest), structs.FormatSize(x.Size), stamp(x.CreateTime, now), jobtext.OrDash(x.CreatedBy), used)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	example := "nai plugin run " + a.Name
	if spec.Kind == structs.PluginDataset {
		example += " -dataset NAME[:VERSION]"
	}
	_, err := fmt.Fprintf(w, "\nRun it: %s\n", example)
	return err
}

func pluginRm(c *cli.Context) error {
	args := c.Args().Slice()
	if err := needArgs(1, args, "plugin NAME:VERSION", usageLine(c)); err != nil {
		return err
	}
	name, version, err := structs.ParsePluginRef(args[0])
	if err != nil || !strings.Contains(args[0], ":") || version == "latest" {
		return &usageError{msg: fmt.Sprintf("%q: name the version to remove, such as %s:2 or %s:1.0.0", args[0], name, name), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	_, v, err := installedPlugin(c.Context, cl, name, version)
	if err != nil {
		return err
	}
	if err := cl.DeleteArtifactVersion(c.Context, structs.KindPlugin, name, v.Version); err != nil {
		return err
	}
	return reportChange(c, c.App.Writer, change{Action: "removed", Kind: "plugin", Name: fmt.Sprintf("%s:%d", name, v.Version)},
		"Removed plugin %s:%d (%s)", name, v.Version, v.Plugin.Version)
}

// pluginTemplate downloads a plugin version and returns its plugin.hcl,
// checking the content is the version's (its sha256).
func pluginTemplate(ctx context.Context, cl *api.Client, name string, v *structs.ArtifactVersion) ([]byte, error) {
	body, err := cl.ArtifactContent(ctx, structs.KindPlugin, name, strconv.Itoa(v.Version))
	if err != nil {
		return nil, err
	}
	defer body.Close()
	h := sha256.New()
	r := io.TeeReader(io.LimitReader(body, maxPluginBytes+1), h)
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("plugin %s:%d: %w", name, v.Version, err)
	}
	var src []byte
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("plugin %s:%d: %w", name, v.Version, err)
		}
		if hdr.Name == jobspec.PluginFile && hdr.Typeflag == tar.TypeReg {
			if src, err = io.ReadAll(io.LimitReader(tr, jobspec.MaxFileSize+1)); err != nil {
				return nil, fmt.Errorf("plugin %s:%d: %w", name, v.Version, err)
			}
		}
	}
	// The rest of the stream (gzip's trailer) counts towards the digest.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("plugin %s:%d: %w", name, v.Version, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != v.Digest {
		return nil, fmt.Errorf("plugin %s:%d: the content has sha256 %s, not %s", name, v.Version, got, v.Digest)
	}
	if src == nil {
		return nil, fmt.Errorf("plugin %s:%d has no %s", name, v.Version, jobspec.PluginFile)
	}
	return src, nil
}

func pluginRun(c *cli.Context) error {
	name, version, err := pluginRef(c, "plugin NAME[:VERSION]")
	if err != nil {
		return err
	}
	vars, err := parseVars(c.StringSlice("var"), usageLine(c))
	if err != nil {
		return err
	}
	var input *structs.ArtifactRef
	if d := c.String("dataset"); d != "" {
		dn, dv, err := structs.ParseArtifactRef(d)
		if err != nil {
			return &usageError{msg: "-dataset: " + err.Error(), usage: usageLine(c)}
		}
		input = &structs.ArtifactRef{Name: dn, Version: dv}
	}
	out := c.String("output-dataset")
	if out != "" && !structs.ValidName(out) {
		return &usageError{msg: fmt.Sprintf("-output-dataset %q is not a dataset name", out), usage: usageLine(c)}
	}
	g := c.String("group")
	if g != "" && !structs.ValidName(g) {
		return &usageError{msg: fmt.Sprintf("-group %q is not a group name", g), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	_, v, err := installedPlugin(c.Context, cl, name, version)
	if err != nil {
		return err
	}
	spec := v.Plugin
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if spec.Variable(k) == nil {
			return &usageError{msg: fmt.Sprintf("plugin %s %s has no variable %q%s", name, spec.Version, k, declaredVars(spec, k)), usage: usageLine(c)}
		}
	}
	if out != "" && spec.Kind == structs.PluginService {
		if spec.Variable("output_dataset") == nil {
			return &usageError{msg: fmt.Sprintf("plugin %s is a service that says nothing of an output dataset (it declares no variable output_dataset)", name), usage: usageLine(c)}
		}
		vars["output_dataset"] = out
	}
	src, err := pluginTemplate(c.Context, cl, name, v)
	if err != nil {
		return err
	}
	p, err := jobspec.ParsePlugin(fmt.Sprintf("%s:%d/%s", name, v.Version, jobspec.PluginFile), src, jobspec.Options{Vars: vars, Now: time.Now()})
	if err != nil {
		return diagnosticsOr(c, err)
	}
	j := p.Job
	if input != nil {
		j.Datasets = slices.DeleteFunc(j.Datasets, func(r structs.ArtifactRef) bool { return r.Name == input.Name })
		j.Datasets = append([]structs.ArtifactRef{*input}, j.Datasets...)
	}
	switch spec.Kind {
	case structs.PluginDataset:
		if len(j.Datasets) == 0 {
			return &usageError{msg: fmt.Sprintf("plugin %s makes a dataset version from a dataset: name it with -dataset NAME[:VERSION]", name), usage: usageLine(c)}
		}
		if out == "" && (j.Output == nil || j.Output.Dataset == "") {
			out = j.Datasets[0].Name
		}
	case structs.PluginService:
		out = "" // the service pushes what it makes itself
	}
	if out != "" {
		if j.Output == nil {
			j.Output = &structs.OutputSpec{}
		}
		if j.Output.Model != "" {
			return &usageError{msg: fmt.Sprintf("plugin %s writes model %s: its outputs cannot become a dataset too", name, j.Output.Model), usage: usageLine(c)}
		}
		j.Output.Dataset = out
	}
	j.Code = v.Digest
	j.Plugin = &structs.PluginRef{Name: name, Version: strconv.Itoa(v.Version), Digest: v.Digest, Variables: p.Values}
	if err := j.Validate(); err != nil {
		return fmt.Errorf("plugin %s:%d makes an invalid job: %w", name, v.Version, err)
	}
	ownJobs(cl, []*structs.Job{j})
	if g != "" {
		j.Group = g
	}
	resp, err := cl.Register(c.Context, j)
	if err != nil {
		return fmt.Errorf("run plugin %s:%d: %w", name, v.Version, err)
	}
	for _, w := range resp.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "Warning: %s\n", w)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	if len(resp.JobIDs) == 0 {
		return fmt.Errorf("run plugin %s: the server accepted it but returned no job id", name)
	}
	id := resp.JobIDs[0]
	if c.Bool("detach") {
		_, err := fmt.Fprintln(c.App.Writer, id)
		return err
	}
	what := ""
	if input != nil {
		what = " on dataset " + input.String()
	}
	fmt.Fprintf(c.App.ErrWriter, "Submitted job %s: plugin %s %s (%s:%d)%s\n", id, name, spec.Version, name, v.Version, what)
	f := &follower{cl: cl, out: c.App.Writer, errw: c.App.ErrWriter, wait: 30 * time.Second, now: time.Now}
	if err := f.followJob(c.Context, id); err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	// Say which version the outputs are: new, or the latest already.
	final, _, err := cl.Job(c.Context, id)
	if err != nil {
		return err
	}
	switch {
	case final.OutputVersion == 0:
		fmt.Fprintf(c.App.ErrWriter, "==> job %s left nothing in NAI_OUTPUT_DIR: no version of dataset %s\n", id, out)
	default:
		fmt.Fprintf(c.App.ErrWriter, "==> outputs are dataset %s:%d (nai dataset show %s)\n", out, final.OutputVersion, out)
	}
	return nil
}

func declaredVars(spec *structs.PluginSpec, given string) string {
	if len(spec.Variables) == 0 {
		return "; it declares none"
	}
	names := make([]string, len(spec.Variables))
	for i, v := range spec.Variables {
		names[i] = v.Name
	}
	s := "; it declares " + strings.Join(names, ", ")
	if best := closest(given, names); best != "" {
		s += "; did you mean " + quote(best) + "?"
	}
	return s
}
