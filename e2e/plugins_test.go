package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// examplePlugin is the folder of a plugin that ships with nai.
func examplePlugin(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "examples", "plugins", name)
}

// datasetOf reads a dataset through `nai dataset show -json`.
func (a *agent) datasetOf(name string) *structs.Artifact {
	a.t.Helper()
	var d structs.Artifact
	if err := json.Unmarshal([]byte(a.mustNai("dataset", "show", "-json", name)), &d); err != nil {
		a.t.Fatal(err)
	}
	return &d
}

// filesUnder maps every file below dir (slash paths) to its content.
func filesUnder(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Install split-train-val, run it on a pushed dataset: the next version of
// the dataset holds every file under train/ or val/ by the fraction, and
// its lineage names the plugin version, the input version, the job and the
// variables. The same inputs and seed again give the same digest: no new
// version. Then the ways to get it wrong.
func TestPluginSplitTrainVal(t *testing.T) {
	dir := t.TempDir()
	a := startAgent(t, filepath.Join(dir, "data"), 1)
	ctx := context.Background()

	raw := filepath.Join(dir, "raw")
	want := map[string]string{}
	for i := range 10 {
		name := fmt.Sprintf("class%d/img%02d.txt", i%2, i)
		want[name] = fmt.Sprintf("sample %d\n", i)
		writeFile(t, raw, name, want[name])
	}
	a.mustNai("dataset", "push", "-name", "pets", raw)

	out := a.mustNai("plugin", "install", examplePlugin(t, "split-train-val"))
	if !strings.Contains(out, "Installed plugin split-train-val 1.0.0 (dataset) as split-train-val:1") {
		t.Fatalf("install said %q", out)
	}
	if out := a.mustNai("plugin", "install", examplePlugin(t, "split-train-val")); !strings.Contains(out, "installed already as split-train-val:1") {
		t.Errorf("installing the same again said %q", out)
	}
	if out := a.mustNai("plugin", "list"); !strings.Contains(out, "split-train-val  1.0.0    dataset") {
		t.Errorf("plugin list:\n%s", out)
	}

	run := func(args ...string) *structs.Job {
		t.Helper()
		id := strings.TrimSpace(a.mustNai(append([]string{"plugin", "run", "-detach"}, args...)...))
		j := a.waitJob(id, 2*time.Minute)
		if j.Status != structs.JobComplete {
			logs, _, _ := a.nai("job", "logs", "-stderr", id)
			t.Fatalf("plugin job %s ended %s (%s): %s\n%s", id, j.Status, j.ExitReason, j.Reason, logs)
		}
		return j
	}
	j := run("-dataset", "pets:1", "-var", "fraction=0.7", "-var", "seed=3", "split-train-val")
	if j.OutputVersion != 2 {
		t.Fatalf("the job's outputs are version %d of pets, want 2", j.OutputVersion)
	}
	pets := a.datasetOf("pets")
	v2 := pets.Latest()
	if len(pets.Versions) != 2 || v2.Version != 2 || v2.Files != 11 {
		t.Fatalf("pets after the split: %d versions, latest %d with %d files; want 2, 2 and 11 (10 files and split.json)", len(pets.Versions), v2.Version, v2.Files)
	}
	lin := v2.Lineage
	if lin == nil || lin.JobID != j.ID || lin.ParentVersion != 1 || len(lin.Datasets) != 1 || lin.Datasets[0].Name != "pets" || lin.Datasets[0].Version != "1" ||
		lin.Plugin == nil || lin.Plugin.Name != "split-train-val" || lin.Plugin.Version != "1" || lin.Plugin.Release != "1.0.0" ||
		lin.Plugin.Variables["fraction"] != "0.7" || lin.Plugin.Variables["seed"] != "3" {
		t.Errorf("lineage of pets:2: %+v (plugin %+v)", lin, lin.Plugin)
	}
	show := a.mustNai("dataset", "show", "pets")
	if !strings.Contains(show, "Lineage") || !strings.Contains(show, "split-train-val:1 (1.0.0)") || !strings.Contains(show, "fraction=0.7 seed=3") {
		t.Errorf("nai dataset show pets does not print the lineage:\n%s", show)
	}

	pulled := filepath.Join(dir, "pulled")
	a.mustNai("dataset", "pull", "-o", pulled, "pets:2")
	got := filesUnder(t, pulled)
	var manifest struct {
		Train, Val []string
		Seed       int
	}
	if err := json.Unmarshal([]byte(got["split.json"]), &manifest); err != nil {
		t.Fatalf("split.json: %v", err)
	}
	if len(manifest.Train) != 7 || len(manifest.Val) != 3 || manifest.Seed != 3 {
		t.Errorf("split.json: %d train, %d val, seed %d; want 7, 3, 3", len(manifest.Train), len(manifest.Val), manifest.Seed)
	}
	seen := map[string]bool{}
	for side, names := range map[string][]string{"train": manifest.Train, "val": manifest.Val} {
		for _, n := range names {
			if seen[n] {
				t.Errorf("%s is in train and val", n)
			}
			seen[n] = true
			if got[side+"/"+n] != want[n] {
				t.Errorf("%s/%s holds %q, want %q", side, n, got[side+"/"+n], want[n])
			}
		}
	}
	if len(seen) != len(want) || len(got) != len(want)+1 {
		t.Errorf("the split covers %d of %d files; the version holds %d files", len(seen), len(want), len(got))
	}

	// The same input, fraction and seed: the same digest, no new version.
	again := run("-dataset", "pets:1", "-var", "fraction=0.7", "-var", "seed=3", "split-train-val")
	if pets := a.datasetOf("pets"); len(pets.Versions) != 2 || again.OutputDigest != v2.Digest || again.OutputVersion != 2 {
		t.Errorf("a rerun made %d versions; its outputs %s (version %d), pets:2 is %s", len(pets.Versions), again.OutputDigest, again.OutputVersion, v2.Digest)
	}
	// Another seed splits otherwise, into another dataset.
	other := run("-dataset", "pets:1", "-var", "seed=4", "-output-dataset", "pets-split", "split-train-val:1.0.0")
	if ps := a.datasetOf("pets-split"); len(ps.Versions) != 1 || other.OutputDigest == v2.Digest || ps.Latest().Lineage.Plugin.Variables["seed"] != "4" {
		t.Errorf("seed 4 into pets-split: %d versions, digest %s (pets:2 %s)", len(ps.Versions), other.OutputDigest, v2.Digest)
	}

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"unknown version", []string{"plugin", "run", "-dataset", "pets", "split-train-val:9.9"}, "plugin split-train-val has no version 9.9 (it has 1 (1.0.0))"},
			{"unknown version number", []string{"plugin", "run", "-dataset", "pets", "split-train-val:7"}, "plugin split-train-val has no version 7"},
			{"variable of the wrong type", []string{"plugin", "run", "-dataset", "pets", "-var", "fraction=most", "split-train-val"}, `variable "fraction" has type number`},
			{"undeclared variable", []string{"plugin", "run", "-dataset", "pets", "-var", "sed=1", "split-train-val"}, `has no variable "sed"; it declares fraction, seed; did you mean "seed"?`},
			{"no dataset", []string{"plugin", "run", "split-train-val"}, "name it with -dataset NAME[:VERSION]"},
			{"unknown plugin", []string{"plugin", "run", "nope"}, "plugin nope is not installed"},
			{"unknown dataset", []string{"plugin", "run", "-dataset", "cats", "split-train-val"}, `dataset "cats" does not exist`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, errOut, code := a.nai(tc.args...)
				if code == 0 || !strings.Contains(errOut, tc.want) {
					t.Errorf("nai %s: exit %d, stderr %q; want %q", strings.Join(tc.args, " "), code, errOut, tc.want)
				}
			})
		}
		bad := filepath.Join(dir, "bad")
		writeFile(t, bad, "plugin.hcl", "plugin \"bad\" {\n  version = \"1.0\"\n  kind    = \"job\"\n}\n\njob \"bad\" {\n  task {\n    command = [\n  }\n}\n")
		if _, errOut, code := a.nai("plugin", "install", bad); code != 1 || !strings.Contains(errOut, "bad/plugin.hcl:9:") {
			t.Errorf("a plugin.hcl with a syntax error: exit %d, stderr:\n%s", code, errOut)
		}
		shadow := filepath.Join(dir, "shadow")
		writeFile(t, shadow, "plugin.hcl", "plugin \"queue\" {\n  version = \"1.0\"\n  kind    = \"job\"\n}\n\njob \"q\" {\n  task {\n    command = \"true\"\n  }\n}\n")
		if _, errOut, code := a.nai("plugin", "install", shadow); code != 1 || !strings.Contains(errOut, "plugin name \"queue\" is the built-in command `nai queue`") {
			t.Errorf("a plugin named like a built-in: exit %d, stderr %q", code, errOut)
		}
		if ps, err := a.api().Artifacts(ctx, structs.KindPlugin); err != nil || len(ps) != 1 {
			t.Errorf("plugins after the refused installs: %v, %v", ps, err)
		}
		// A job whose output { dataset } fails registers no version.
		id := a.submit(dir, "fails", `job "fails" {
  task {
    script = "echo half > $NAI_OUTPUT_DIR/partial.txt; exit 1"
  }
  output {
    dataset = "pets"
  }
}
`)
		if j := a.waitJob(id, time.Minute); j.Status != structs.JobFailed || j.OutputVersion != 0 {
			t.Errorf("failing job: %s, output version %d", j.Status, j.OutputVersion)
		}
		if pets := a.datasetOf("pets"); len(pets.Versions) != 2 {
			t.Errorf("pets has %d versions after a failed job, want 2", len(pets.Versions))
		}
	})

	out = a.mustNai("plugin", "rm", "split-train-val:1.0.0")
	if !strings.Contains(out, "Removed plugin split-train-val:1 (1.0.0)") {
		t.Errorf("plugin rm said %q", out)
	}
	if _, errOut, code := a.nai("plugin", "run", "-dataset", "pets", "split-train-val"); code == 0 || !strings.Contains(errOut, "has no versions") {
		t.Errorf("run of a plugin without versions: exit %d, %q", code, errOut)
	}
}

// `nai hello world` runs nai-hello from PATH with the cluster's address,
// and the plugin can use the cluster with it.
func TestCLIPluginHello(t *testing.T) {
	dir := t.TempDir()
	a := startAgent(t, filepath.Join(dir, "data"), 1)
	bin := filepath.Join(dir, "bin")
	writeFile(t, bin, "nai-hello", "#!/bin/sh\necho \"hello $* via $NAI_ADDR\"\nexec \"$NAI_E2E_BIN\" node list\n")
	if err := os.Chmod(filepath.Join(bin, "nai-hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("NAI_E2E_BIN", naiBin)
	out := a.mustNai("hello", "world")
	if !strings.HasPrefix(out, "hello world via "+a.addr+"\n") || !strings.Contains(out, "e2e-node") {
		t.Errorf("nai hello world said:\n%s", out)
	}
	if out := a.mustNai("plugin", "list"); !strings.Contains(out, "hello") || !strings.Contains(out, filepath.Join(bin, "nai-hello")) {
		t.Errorf("plugin list does not show the CLI plugin:\n%s", out)
	}
	if _, errOut, code := a.nai("helloo"); code != 1 || !strings.Contains(errOut, `did you mean "hello"?`) {
		t.Errorf("nai helloo: exit %d, %q", code, errOut)
	}
}

// label-images, the service plugin, used through the gateway: two labels
// posted to its page's API and a save make the next version of the
// dataset, with labels.json and lineage to the labelled version and the
// service's job; `nai service stop` ends the session.
func TestPluginLabelImages(t *testing.T) {
	dir := t.TempDir()
	a := startAgent(t, filepath.Join(dir, "data"), 1, "-service-ports", servicePorts(t, 4))
	imgs := filepath.Join(dir, "imgs")
	for i, name := range []string{"a/cat.png", "a/dog.png", "b/bird.png"} {
		img := image.NewGray(image.Rect(0, 0, 4, 4))
		for p := range img.Pix {
			img.Pix[p] = uint8(40*i + p)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		writeFile(t, imgs, name, b.String())
	}
	writeFile(t, imgs, "README", "three images\n")
	a.mustNai("dataset", "push", "-name", "pets", imgs)
	a.mustNai("plugin", "install", examplePlugin(t, "label-images"))

	// A service: reached through the agent's gateway, never on its port.
	id := strings.TrimSpace(a.mustNai("plugin", "run", "-detach", "-dataset", "pets", "-var", `labels=["cat", "dog", "bird"]`, "label-images"))
	base := a.addr + "/v1/services/label-images/"
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var state struct {
		Dataset string
		Version int
		Choices []string
		Images  []struct{ Path string }
	}
	waitFor(t, time.Minute, "the labelling page answers", func() bool {
		code, body := call("GET", "api/state", "")
		return code == 200 && json.Unmarshal([]byte(body), &state) == nil
	})
	var paths []string
	for _, im := range state.Images {
		paths = append(paths, im.Path)
	}
	if state.Dataset != "pets" || state.Version != 1 || !slices.Equal(paths, []string{"a/cat.png", "a/dog.png", "b/bird.png"}) || len(state.Choices) != 3 {
		t.Fatalf("state %+v", state)
	}
	if code, body := call("GET", "", ""); code != 200 || !strings.Contains(body, "label-images") {
		t.Errorf("page: %d %.100s", code, body)
	}
	if code, body := call("GET", "image?path=a/cat.png", ""); code != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("image: %d", code)
	}
	for _, lb := range [][2]string{{"a/cat.png", "cat"}, {"b/bird.png", "bird"}} {
		if code, body := call("POST", "api/label", fmt.Sprintf(`{"path": %q, "label": %q}`, lb[0], lb[1])); code != 200 {
			t.Fatalf("label %v: %d %s", lb, code, body)
		}
	}
	if code, body := call("POST", "api/label", `{"path": "a/dog.png", "label": "horse"}`); code != 400 || !strings.Contains(body, "not one of the labels") {
		t.Errorf("an unknown label: %d %s", code, body)
	}
	code, body := call("POST", "api/save", "")
	if code != 200 || !strings.Contains(body, `"version": 2`) || !strings.Contains(body, `"created": true`) {
		t.Fatalf("save: %d %s", code, body)
	}
	// The session goes on after a save (a replica that ended would be
	// restarted); stopping the service ends it.
	if code, body := call("GET", "health", ""); code != 200 {
		t.Errorf("after the save the service answers %d %s", code, body)
	}
	a.mustNai("service", "stop", "label-images")
	if j := a.waitJob(id, time.Minute); j.Status != structs.JobCancelled {
		t.Errorf("the stopped session ended %s", j.Status)
	}
	pets := a.datasetOf("pets")
	v := pets.Latest()
	if v.Version != 2 || v.Lineage == nil || v.Lineage.JobID != id || v.Lineage.ParentVersion != 1 || v.Lineage.Plugin == nil || v.Lineage.Plugin.Name != "label-images" {
		t.Fatalf("pets:2 %+v lineage %+v", v, v.Lineage)
	}
	pulled := filepath.Join(dir, "pulled")
	a.mustNai("dataset", "pull", "-o", pulled, "pets:2")
	got := filesUnder(t, pulled)
	var labels struct{ Labels map[string]string }
	if err := json.Unmarshal([]byte(got["labels.json"]), &labels); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(labels.Labels) != 2 || labels.Labels["a/cat.png"] != "cat" || labels.Labels["b/bird.png"] != "bird" ||
		!slices.Equal(names, []string{"README", "a/cat.png", "a/dog.png", "b/bird.png", "labels.json"}) {
		t.Errorf("pets:2 holds %v with labels %v", names, labels.Labels)
	}
}
