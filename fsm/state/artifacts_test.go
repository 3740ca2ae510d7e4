package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func digestOf(c byte) string { return strings.Repeat(string(c), 64) }

func (f *fixture) push(kind structs.ArtifactKind, name, digest string) *structs.ArtifactPushResponse {
	f.t.Helper()
	resp, err := f.s.PushArtifact(f.next(), &structs.ArtifactPushRequest{Kind: kind, Name: name, User: "alice", Digest: digest, Size: 10, Files: 2, Now: t0})
	if err != nil {
		f.t.Fatalf("push %s %s: %v", kind, name, err)
	}
	return resp
}

func (f *fixture) artifact(kind structs.ArtifactKind, name string) *structs.Artifact {
	f.t.Helper()
	a, err := f.s.Snapshot().ArtifactByName(nil, kind, name)
	if err != nil || a == nil {
		f.t.Fatalf("%s %s: %v, %v", kind, name, a, err)
	}
	return a
}

func TestPushArtifactVersions(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		name        string
		digest      string
		wantVersion int
		wantCreated bool
	}{
		{"first push is version 1", digestOf('a'), 1, true},
		{"new content is version 2", digestOf('b'), 2, true},
		{"same content as the latest makes nothing", digestOf('b'), 2, false},
		{"older content again is a new version", digestOf('a'), 3, true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := f.push(structs.KindDataset, "digits", s.digest)
			if got.Version != s.wantVersion || got.Created != s.wantCreated {
				t.Errorf("push answered version %d created %v, want %d %v", got.Version, got.Created, s.wantVersion, s.wantCreated)
			}
		})
	}
	a := f.artifact(structs.KindDataset, "digits")
	if len(a.Versions) != 3 || a.User != "alice" || a.Kind != structs.KindDataset {
		t.Errorf("dataset %+v", a)
	}
	// A model of the same name is a different thing.
	if got := f.push(structs.KindModel, "digits", digestOf('a')); got.Version != 1 {
		t.Errorf("model version %d, want 1", got.Version)
	}
}

func TestPushArtifactRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		req  structs.ArtifactPushRequest
		want string
	}{
		{"space in name", structs.ArtifactPushRequest{Kind: structs.KindDataset, Name: "my data", Digest: digestOf('a')}, "name \"my data\" is invalid"},
		{"slash in name", structs.ArtifactPushRequest{Kind: structs.KindModel, Name: "a/b", Digest: digestOf('a')}, "is invalid"},
		{"bad digest", structs.ArtifactPushRequest{Kind: structs.KindDataset, Name: "d", Digest: "abc"}, "digest \"abc\" is invalid"},
		{"relative path", structs.ArtifactPushRequest{Kind: structs.KindDataset, Name: "d", Path: "data"}, "must be absolute"},
		{"model path", structs.ArtifactPushRequest{Kind: structs.KindModel, Name: "m", Path: "/x"}, "only datasets"},
		{"unknown kind", structs.ArtifactPushRequest{Kind: "table", Name: "m", Digest: digestOf('a')}, "kind \"table\" is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.s.PushArtifact(f.next(), &tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, structs.ErrInvalid) {
				t.Fatalf("err = %v, want an invalid error mentioning %q", err, tt.want)
			}
			if as, _ := f.s.Snapshot().Artifacts(nil, structs.KindDataset); len(as) != 0 {
				t.Errorf("a refused push stored %v", as)
			}
		})
	}
}

func TestPathDataset(t *testing.T) {
	f := newFixture(t)
	req := &structs.ArtifactPushRequest{Kind: structs.KindDataset, Name: "imagenet", Path: "/shared/imagenet", Now: t0}
	r1, err := f.s.PushArtifact(f.next(), req)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := f.s.PushArtifact(f.next(), req)
	if err != nil || r1.Version != 1 || r2.Created {
		t.Fatalf("pushes: %+v %+v %v", r1, r2, err)
	}
	j := newJob("train").Build()
	j.Datasets = []structs.ArtifactRef{{Name: "imagenet", Version: "latest"}}
	id := f.register(j)[0]
	got := f.job(id).Datasets[0]
	if got.Path != "/shared/imagenet" || got.Version != "1" || got.Digest != "" {
		t.Errorf("resolved ref %+v", got)
	}
}

func TestRegisterResolvesArtifactRefs(t *testing.T) {
	f := newFixture(t)
	f.push(structs.KindDataset, "d", digestOf('a'))
	f.push(structs.KindDataset, "d", digestOf('b'))
	f.push(structs.KindModel, "m", digestOf('c'))

	j := newJob("train").Build()
	j.Datasets = []structs.ArtifactRef{{Name: "d", Version: "latest", Digest: digestOf('f')}}
	j.Models = []structs.ArtifactRef{{Name: "m", Version: "1"}}
	id := f.register(j)[0]
	got := f.job(id)
	want := []structs.ArtifactRef{{Name: "d", Version: "2", Digest: digestOf('b')}}
	if diff := cmp.Diff(want, got.Datasets); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
	if got.Models[0].Version != "1" || got.Models[0].Digest != digestOf('c') {
		t.Errorf("models %+v", got.Models)
	}
	// A later push does not change what the job reads.
	f.push(structs.KindDataset, "d", digestOf('e'))
	if got := f.job(id).Datasets[0]; got.Version != "2" {
		t.Errorf("job now reads %+v", got)
	}

	bad := []struct {
		name string
		ref  structs.ArtifactRef
		want string
	}{
		{"unknown dataset", structs.ArtifactRef{Name: "nope", Version: "latest"}, "dataset \"nope\" does not exist"},
		{"unknown version", structs.ArtifactRef{Name: "d", Version: "9"}, "has no version 9 (it has 1, 2, 3)"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob("bad").Build()
			j.Datasets = []structs.ArtifactRef{tt.ref}
			before := f.s.LatestIndex()
			_, err := f.s.RegisterJobs(f.next(), &structs.JobRegisterRequest{Jobs: []*structs.Job{j}, Now: t0})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if f.s.LatestIndex() != before {
				t.Error("a refused job changed the state")
			}
		})
	}
}

func TestDeleteArtifactVersion(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 1))
	f.push(structs.KindDataset, "d", digestOf('a'))
	f.push(structs.KindDataset, "d", digestOf('b'))
	j := newJob("train").Build()
	j.Datasets = []structs.ArtifactRef{{Name: "d", Version: "1"}}
	id := f.register(j)[0]

	del := func(v int) error {
		return f.s.DeleteArtifactVersion(f.next(), &structs.ArtifactDeleteRequest{Kind: structs.KindDataset, Name: "d", Version: v, Now: t0})
	}
	if err := del(1); !errors.Is(err, structs.ErrConflict) || !strings.Contains(err.Error(), "in use by job "+id) {
		t.Fatalf("delete of a version a pending job reads: %v", err)
	}
	if err := del(7); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("delete of a missing version: %v", err)
	}
	if err := f.s.DeleteArtifactVersion(f.next(), &structs.ArtifactDeleteRequest{Kind: structs.KindDataset, Name: "zz", Version: 1}); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("delete of a missing dataset: %v", err)
	}
	if err := del(2); err != nil {
		t.Fatalf("delete of an unused version: %v", err)
	}
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := del(1); err != nil {
		t.Fatalf("delete once the job ended: %v", err)
	}
	// Numbers are never reused.
	if got := f.push(structs.KindDataset, "d", digestOf('c')); got.Version != 3 {
		t.Errorf("next version %d, want 3", got.Version)
	}
}

func TestOutputBecomesModelVersion(t *testing.T) {
	f := newFixture(t)
	f.node(testNode("n1", 2))
	f.push(structs.KindDataset, "d", digestOf('a'))
	f.push(structs.KindModel, "m", digestOf('b'))

	j := newJob("train").GPUs(1).Build()
	j.Datasets = []structs.ArtifactRef{{Name: "d", Version: "latest"}}
	j.Models = []structs.ArtifactRef{{Name: "m", Version: "latest"}}
	j.Output = &structs.OutputSpec{Model: "m"}
	id, alloc := f.start(j, "n1", 0)
	if err := f.report(alloc, structs.ClientStatusFields{
		Status: structs.AllocComplete, ExitCode: exit(0), Metrics: map[string]float64{"loss": 0.1},
		OutputDigest: digestOf('c'), OutputSize: 99, MetricsDigest: digestOf('d'),
	}); err != nil {
		t.Fatal(err)
	}
	if st := f.job(id).Status; st != structs.JobComplete {
		t.Fatalf("job %s", st)
	}
	m := f.artifact(structs.KindModel, "m")
	want := &structs.ArtifactVersion{
		Version: 2, Digest: digestOf('c'), Size: 99, Description: "output of job " + id,
		CreateTime: t0.Add(time.Hour), CreatedBy: "alice", Metrics: map[string]float64{"loss": 0.1},
		Lineage: &structs.Lineage{
			JobID: id, JobName: "train",
			Datasets:      []structs.ArtifactRef{{Name: "d", Version: "1", Digest: digestOf('a')}},
			Models:        []structs.ArtifactRef{{Name: "m", Version: "1", Digest: digestOf('b')}},
			ParentVersion: 1, MetricsDigest: digestOf('d'),
		},
	}
	if diff := cmp.Diff(want, m.Latest()); diff != "" {
		t.Errorf("new model version (-want +got):\n%s", diff)
	}

	// A run whose loss became NaN: its version does not claim the last
	// finite loss, and says the loss is NaN.
	jn := newJob("diverged").GPUs(1).Build()
	jn.Output = &structs.OutputSpec{Model: "m"}
	_, an := f.start(jn, "n1", 0)
	if err := f.report(an, structs.ClientStatusFields{Status: structs.AllocRunning, Metrics: map[string]float64{"loss": 0.3, "acc": 0.5}}); err != nil {
		t.Fatal(err)
	}
	nan := map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 7}}
	if err := f.report(an, structs.ClientStatusFields{
		Status: structs.AllocComplete, ExitCode: exit(0), Metrics: map[string]float64{"acc": 0.5}, NonFinite: nan,
		OutputDigest: digestOf('f'), OutputSize: 9,
	}); err != nil {
		t.Fatal(err)
	}
	v := f.artifact(structs.KindModel, "m").Latest()
	if d := cmp.Diff(map[string]float64{"acc": 0.5}, v.Metrics); d != "" {
		t.Errorf("diverged version's metrics (-want +got):\n%s", d)
	}
	if d := cmp.Diff(nan, v.NonFiniteMetrics); d != "" {
		t.Errorf("diverged version's non-finite metrics (-want +got):\n%s", d)
	}

	// A failed job registers nothing; a new model is created on first output.
	j2 := newJob("fails").GPUs(1).Build()
	j2.Output = &structs.OutputSpec{Model: "fresh"}
	_, a2 := f.start(j2, "n1", 1)
	if err := f.report(a2, structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: exit(1), OutputDigest: digestOf('e')}); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.s.Snapshot().ArtifactByName(nil, structs.KindModel, "fresh"); a != nil {
		t.Errorf("a failed job made model %+v", a)
	}
	j3 := newJob("ok").GPUs(1).Build()
	j3.Output = &structs.OutputSpec{Model: "fresh"}
	_, a3 := f.start(j3, "n1", 1)
	if err := f.report(a3, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), OutputDigest: digestOf('e')}); err != nil {
		t.Fatal(err)
	}
	if a := f.artifact(structs.KindModel, "fresh"); a.Latest().Version != 1 || a.User != "alice" {
		t.Errorf("fresh model %+v", a)
	}
}

func TestArtifactsPersistRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.push(structs.KindDataset, "d", digestOf('a'))
	f.push(structs.KindDataset, "d", digestOf('b'))
	f.push(structs.KindModel, "m", digestOf('c'))
	if err := f.s.DeleteArtifactVersion(f.next(), &structs.ArtifactDeleteRequest{Kind: structs.KindDataset, Name: "d", Version: 1}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.s.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []structs.ArtifactKind{structs.KindDataset, structs.KindModel} {
		want, _ := f.s.Snapshot().Artifacts(nil, kind)
		got, err := restored.Snapshot().Artifacts(nil, kind)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s after restore (-orig +restored):\n%s", kind, diff)
		}
	}
	sn, rsn := f.s.Snapshot(), restored.Snapshot()
	if sn.TableIndex(TableDatasets) != rsn.TableIndex(TableDatasets) || sn.TableIndex(TableModels) != rsn.TableIndex(TableModels) {
		t.Error("table indexes differ after restore")
	}
	// The version counter came along: the next push is 3 in both.
	a, err1 := f.s.PushArtifact(100, &structs.ArtifactPushRequest{Kind: structs.KindDataset, Name: "d", Digest: digestOf('f')})
	b, err2 := restored.PushArtifact(100, &structs.ArtifactPushRequest{Kind: structs.KindDataset, Name: "d", Digest: digestOf('f')})
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if a.Version != 3 || b.Version != 3 {
		t.Errorf("next versions %d and %d, want 3", a.Version, b.Version)
	}
}
