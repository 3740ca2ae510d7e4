package state

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func pluginSpec(name, release string) *structs.PluginSpec {
	return &structs.PluginSpec{Name: name, Version: release, Kind: structs.PluginDataset,
		Variables: []structs.PluginVariable{{Name: "seed", Type: "number", Default: "0"}}}
}

func (f *fixture) install(name, release, digest string) (*structs.ArtifactPushResponse, error) {
	f.t.Helper()
	return f.s.PushArtifact(f.next(), &structs.ArtifactPushRequest{Kind: structs.KindPlugin, Name: name, User: "alice",
		Digest: digest, Size: 10, Files: 2, Now: t0, Plugin: pluginSpec(name, release)})
}

// A plugin's own version names one content: the same again is no new
// version, other content under it is refused, a new release is the next
// registry version; and a reference resolves by number, "latest" or
// release.
func TestInstallPluginVersions(t *testing.T) {
	f := newFixture(t)
	for _, step := range []struct {
		release, digest string
		version         int
		created         bool
		err             string
	}{
		{"1.0.0", digestOf('a'), 1, true, ""},
		{"1.0.0", digestOf('a'), 1, false, ""},
		{"1.0.0", digestOf('b'), 0, false, "plugin split version 1.0.0 is installed already (as split:1) with other content"},
		{"1.1.0", digestOf('b'), 2, true, ""},
		{"1.0.0", digestOf('a'), 1, false, ""}, // an older release installed again: the version it has
	} {
		resp, err := f.install("split", step.release, step.digest)
		if step.err != "" {
			if err == nil || !strings.Contains(err.Error(), step.err) || structs.CodeOf(err) != structs.CodeConflict {
				t.Errorf("install %s: err %v, want a conflict %q", step.release, err, step.err)
			}
			continue
		}
		if err != nil || resp.Version != step.version || resp.Created != step.created {
			t.Errorf("install %s: %+v, %v; want version %d created %t", step.release, resp, err, step.version, step.created)
		}
	}
	a := f.artifact(structs.KindPlugin, "split")
	for ref, want := range map[string]int{"": 2, "latest": 2, "1": 1, "1.0.0": 1, "1.1.0": 2} {
		v, err := a.ResolvePlugin(ref)
		if err != nil || v.Version != want {
			t.Errorf("resolve %q: %v, %v; want version %d", ref, v, err, want)
		}
	}
	if _, err := a.ResolvePlugin("2.0.0"); err == nil || err.Error() != "plugin split has no version 2.0.0 (it has 1 (1.0.0), 2 (1.1.0))" {
		t.Errorf("unknown release: %v", err)
	}
	// A plugin version is a blob, with a header that names it.
	for _, req := range []*structs.ArtifactPushRequest{
		{Kind: structs.KindPlugin, Name: "p", User: "alice", Digest: digestOf('c'), Now: t0},
		{Kind: structs.KindPlugin, Name: "p", User: "alice", Digest: digestOf('c'), Now: t0, Plugin: pluginSpec("q", "1.0")},
		{Kind: structs.KindPlugin, Name: "p", User: "alice", Path: "/shared/p", Now: t0, Plugin: pluginSpec("p", "1.0")},
		{Kind: structs.KindPlugin, Name: "p", User: "alice", Digest: digestOf('c'), Now: t0, Plugin: pluginSpec("p", "3")},
		{Kind: structs.KindDataset, Name: "p", User: "alice", Digest: digestOf('c'), Now: t0, Plugin: pluginSpec("p", "1.0")},
	} {
		if _, err := f.s.PushArtifact(f.next(), req); structs.CodeOf(err) != structs.CodeInvalid {
			t.Errorf("push %+v: err %v, want invalid", req, err)
		}
	}
}

// A job built from a plugin names it; registration pins the version and
// refuses a job whose code is not that version's content, an unknown
// version, or a variable the plugin does not declare.
func TestRegisterPinsPlugin(t *testing.T) {
	f := newFixture(t)
	f.install("split", "1.0.0", digestOf('a'))
	f.install("split", "1.1.0", digestOf('b'))
	build := func(version, code string, vars map[string]string) *structs.Job {
		j := newJob("split").Build()
		j.Code = code
		j.Plugin = &structs.PluginRef{Name: "split", Version: version, Variables: vars}
		return j
	}
	id := f.register(build("1.0.0", digestOf('a'), map[string]string{"seed": "3"}))[0]
	want := &structs.PluginRef{Name: "split", Version: "1", Release: "1.0.0", Kind: structs.PluginDataset, Digest: digestOf('a'), Variables: map[string]string{"seed": "3"}}
	if d := cmp.Diff(want, f.job(id).Plugin); d != "" {
		t.Errorf("pinned plugin (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		name string
		job  *structs.Job
		want string
	}{
		{"unknown version", build("9.9", digestOf('a'), nil), "plugin split has no version 9.9 (it has 1 (1.0.0), 2 (1.1.0))"},
		{"unknown number", build("7", digestOf('a'), nil), "plugin split has no version 7"},
		{"other code", build("latest", digestOf('a'), nil), "runs that version's folder as its code"},
		{"unknown variable", build("1", digestOf('a'), map[string]string{"sed": "1"}), `plugin split:1 has no variable "sed"`},
		{"not installed", func() *structs.Job { j := build("1", digestOf('a'), nil); j.Plugin.Name = "nope"; return j }(), `plugin "nope" is not installed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.RegisterJobs(f.next(), &structs.JobRegisterRequest{Jobs: []*structs.Job{tc.job}, Now: t0})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	// A version a pending job runs cannot be removed.
	err := f.s.DeleteArtifactVersion(f.next(), &structs.ArtifactDeleteRequest{Kind: structs.KindPlugin, Name: "split", Version: 1, Now: t0})
	if structs.CodeOf(err) != structs.CodeConflict || !strings.Contains(err.Error(), "in use by job "+id) {
		t.Errorf("remove a plugin version in use: %v", err)
	}
}

// output { dataset } makes the next version of the dataset when the job
// completes, with lineage to its inputs and plugin; the same content again
// makes none; a failed job makes none.
func TestOutputBecomesDatasetVersion(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 2))
	f.push(structs.KindDataset, "raw", digestOf('a'))
	f.install("split", "1.0.0", digestOf('e'))
	run := func(status structs.AllocStatus, output string) *structs.Job {
		t.Helper()
		j := newJob("split").Build()
		j.Code = digestOf('e')
		j.Datasets = []structs.ArtifactRef{{Name: "raw", Version: "1"}}
		j.Output = &structs.OutputSpec{Dataset: "raw"}
		j.Plugin = &structs.PluginRef{Name: "split", Version: "latest", Variables: map[string]string{"seed": "1"}}
		id, alloc := f.start(j, "n1")
		code := 0
		if status != structs.AllocComplete {
			code = 1
		}
		if err := f.report(alloc, structs.ClientStatusFields{Status: status, ExitCode: exit(code), OutputDigest: output, OutputSize: 50, OutputFiles: 4}); err != nil {
			t.Fatal(err)
		}
		return f.job(id)
	}
	first := run(structs.AllocComplete, digestOf('b'))
	if first.OutputVersion != 2 || first.OutputFiles != 4 {
		t.Errorf("job output version %d files %d, want 2 and 4", first.OutputVersion, first.OutputFiles)
	}
	want := &structs.ArtifactVersion{
		Version: 2, Digest: digestOf('b'), Size: 50, Files: 4, Description: "output of job " + first.ID + ", plugin split 1.0.0",
		CreateTime: t0.Add(time.Hour), CreatedBy: "alice",
		Lineage: &structs.Lineage{
			JobID: first.ID, JobName: "split", ParentVersion: 1,
			Datasets: []structs.ArtifactRef{{Name: "raw", Version: "1", Digest: digestOf('a')}},
			Plugin:   &structs.PluginRef{Name: "split", Version: "1", Release: "1.0.0", Kind: structs.PluginDataset, Digest: digestOf('e'), Variables: map[string]string{"seed": "1"}},
		},
	}
	if d := cmp.Diff(want, f.artifact(structs.KindDataset, "raw").Latest()); d != "" {
		t.Errorf("new dataset version (-want +got):\n%s", d)
	}
	again := run(structs.AllocComplete, digestOf('b'))
	if a := f.artifact(structs.KindDataset, "raw"); len(a.Versions) != 2 || again.OutputVersion != 2 {
		t.Errorf("a rerun with the same output: %d versions, job names version %d; want 2 and 2", len(a.Versions), again.OutputVersion)
	}
	failed := run(structs.AllocFailed, digestOf('c'))
	if a := f.artifact(structs.KindDataset, "raw"); len(a.Versions) != 2 || failed.OutputVersion != 0 || failed.Status != structs.JobFailed {
		t.Errorf("a failed job: %d versions, job %s names version %d; want 2 versions and none", len(a.Versions), failed.Status, failed.OutputVersion)
	}
}
