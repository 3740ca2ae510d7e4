package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The training job of the artifacts test: it reads the dataset it was
// given, proves the code folder's .naiignore was honoured, reports
// metrics, and writes weights made from its input.
const trainScript = `#!/bin/sh
set -e
test -e big.bin && { echo "big.bin was uploaded despite .naiignore" >&2; exit 3; }
test "$NAI_DATASET_DIR" = "$NAI_DATASET_DIR_DIGITS_V1" || { echo "dataset dirs differ" >&2; exit 4; }
mkdir -p "$NAI_OUTPUT_DIR/weights"
{ printf 'weights of %s from ' "$NAI_JOB_ID"; cat "$NAI_DATASET_DIR/train.txt" "$NAI_DATASET_DIR/labels/y.csv"; } > "$NAI_OUTPUT_DIR/weights/model.bin"
echo '{"epoch": 1, "loss": 0.9}' >> "$NAI_METRICS_FILE"
echo '{"epoch": 2, "loss": 0.5}' >> "$NAI_METRICS_FILE"
echo '{"epoch": 3, "loss": 0.25, "accuracy": 0.96}' >> "$NAI_METRICS_FILE"
echo trained
`

const trainJob = `job "train" {
  time_limit = "5m"
  code = "."
  dataset "digits.v1" {
    version = "latest"
  }
  resources {
    cpu    = 0.5
    memory = "128MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["train.sh"]
  }
  output {
    model = "m"
  }
}
`

// A job that cannot start (no node has 8 GPUs) and so stays pending,
// holding the version it reads.
const waitingJob = `job "waits" {
  dataset "digits.v1" {
    version = "1"
  }
  resources {
    gpu {
      count = 8
    }
  }
  task {
    command = "/bin/true"
  }
}
`

func TestDatasetTrainModel(t *testing.T) {
	a := startAgent(t, t.TempDir(), 1)
	work := t.TempDir()

	// Push a dataset folder: version 1; the same content again makes none.
	data := filepath.Join(work, "data")
	writeFile(t, data, "train.txt", "0 1 2 3 4 5 6 7 8 9\n")
	writeFile(t, data, "labels/y.csv", "y\n1\n")
	out := a.mustNai("dataset", "push", data, "-name", "digits.v1", "-description", "tiny digits")
	if !strings.Contains(out, "Pushed dataset digits.v1 version 1") {
		t.Fatalf("push said %q", out)
	}
	if out := a.mustNai("dataset", "push", data, "-name", "digits.v1"); !strings.Contains(out, "version 1 already has this content") {
		t.Errorf("identical push said %q", out)
	}

	// Bad input: clear errors, nothing created.
	empty := filepath.Join(work, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dataset", "push", empty, "-name", "e"}, "has no files"},
		{[]string{"dataset", "push", data, "-name", "my data"}, "is invalid"},
		{[]string{"dataset", "push", data, "-name", "a/b"}, "is invalid"},
		{[]string{"dataset", "pull", "digits.v1:7"}, "has no version 7"},
		{[]string{"dataset", "show", "nope"}, "not found"},
		{[]string{"model", "pull", "nope"}, "not found"},
		{[]string{"dataset", "rm", "digits.v1"}, "name the version to remove"},
	} {
		if _, errOut, code := a.nai(tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("nai %s: exit %d, stderr %q; want an error mentioning %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}

	// A pending job pins version 1: removing it is refused.
	waiting := a.submit(work, "waits", waitingJob)
	_, errOut, code := a.nai("dataset", "rm", "digits.v1:1")
	if code == 0 || !strings.Contains(errOut, "in use by job "+waiting) {
		t.Fatalf("rm of a version a pending job uses: exit %d, %q", code, errOut)
	}
	a.mustNai("job", "cancel", waiting)

	// Train on it; the output becomes model m version 1.
	code_ := filepath.Join(work, "code")
	writeFile(t, code_, "train.sh", trainScript)
	writeFile(t, code_, ".naiignore", "# data is not code\n*.bin\n")
	writeFile(t, code_, "big.bin", strings.Repeat("x", 1<<20))
	id := a.submit(code_, "train", trainJob)
	j := a.waitJob(id, 3*time.Minute)
	if j.Status != structs.JobComplete {
		logs, _, _ := a.nai("job", "logs", "-stderr", id)
		t.Fatalf("train job %s: %s (%s)\nstderr:\n%s", id, j.Status, j.Reason, logs)
	}
	if j.Datasets[0].Version != "1" || j.Datasets[0].Digest == "" {
		t.Errorf("job's dataset ref was not pinned: %+v", j.Datasets)
	}

	var m structs.Artifact
	if err := json.Unmarshal([]byte(a.mustNai("model", "show", "-json", "m")), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Versions) != 1 || m.Versions[0].Lineage == nil {
		t.Fatalf("model m: %+v", m)
	}
	v := m.Versions[0]
	if v.Lineage.JobID != id || len(v.Lineage.Datasets) != 1 || v.Lineage.Datasets[0].Name != "digits.v1" || v.Lineage.Datasets[0].Version != "1" {
		t.Errorf("lineage %+v", v.Lineage)
	}
	if v.Metrics["loss"] != 0.25 || v.Metrics["accuracy"] != 0.96 {
		t.Errorf("metrics %v", v.Metrics)
	}
	if human := a.mustNai("model", "show", "m"); !strings.Contains(human, id) || !strings.Contains(human, "digits.v1:1") || !strings.Contains(human, "loss=0.25") {
		t.Errorf("model show:\n%s", human)
	}

	// Pull the weights and compare them with what the job wrote.
	pulled := filepath.Join(work, "pulled")
	a.mustNai("model", "pull", "m:1", "-o", pulled)
	got, err := os.ReadFile(filepath.Join(pulled, "weights", "model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "weights of " + id + " from 0 1 2 3 4 5 6 7 8 9\ny\n1\n"; string(got) != want {
		t.Errorf("pulled weights %q, want %q", got, want)
	}

	// A model pushed by hand is the next version, without lineage.
	writeFile(t, pulled, "weights/extra.txt", "fine-tuned by hand\n")
	if out := a.mustNai("model", "push", pulled, "-name", "m", "-description", "hand-tuned"); !strings.Contains(out, "Pushed model m version 2") {
		t.Errorf("model push said %q", out)
	}

	// The dataset says who used it; the full metric history is kept.
	var d structs.Artifact
	if err := json.Unmarshal([]byte(a.mustNai("dataset", "show", "-json", "digits.v1")), &d); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d.Versions[0].UsedBy, id) || d.Versions[0].Files != 2 {
		t.Errorf("dataset version %+v", d.Versions[0])
	}
	var hist structs.JobMetrics
	if err := json.Unmarshal([]byte(a.mustNai("job", "metrics", "-all", "-json", id)), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.History) != 3 || !strings.Contains(string(hist.History[1]), `"loss": 0.5`) {
		t.Errorf("metric history %s", hist.History)
	}
	if list := a.mustNai("model", "list"); !strings.Contains(list, "m ") {
		t.Errorf("model list:\n%s", list)
	}

	// Once no live job reads it, the version can go; its number is not reused.
	a.mustNai("dataset", "rm", "digits.v1:1")
	writeFile(t, data, "train.txt", "new\n")
	if out := a.mustNai("dataset", "push", data, "-name", "digits.v1"); !strings.Contains(out, "version 2") {
		t.Errorf("push after rm said %q", out)
	}
	// A single file is a dataset too.
	if out := a.mustNai("dataset", "push", filepath.Join(data, "train.txt"), "-name", "one-file"); !strings.Contains(out, "version 1") {
		t.Errorf("file push said %q", out)
	}
	a.mustNai("dataset", "pull", "one-file", "-o", filepath.Join(work, "one"))
	if b, err := os.ReadFile(filepath.Join(work, "one", "train.txt")); err != nil || string(b) != "new\n" {
		t.Errorf("pulled file %q %v", b, err)
	}
}

// A model version whose archive tries to escape is refused at pull, and
// nothing is written outside (or inside) the target.
func TestPullRefusesMaliciousArchive(t *testing.T) {
	a := startAgent(t, t.TempDir(), 0)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := "owned"
	if err := tw.WriteHeader(&tar.Header{Name: "../escape.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.Close()
	zw.Close()
	c := a.api()
	info, err := c.UploadBlob(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PushArtifact(context.Background(), structs.KindModel, "evil", &structs.ArtifactPushRequest{Digest: info.Digest}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	target := filepath.Join(work, "sub", "out")
	_, errOut, code := a.nai("model", "pull", "evil", "-o", target)
	if code == 0 || !strings.Contains(errOut, "refused") {
		t.Fatalf("pull of a malicious archive: exit %d, %q", code, errOut)
	}
	for _, p := range []string{filepath.Join(work, "sub", "escape.txt"), filepath.Join(work, "escape.txt"), target} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a refused pull", p)
		}
	}
}
