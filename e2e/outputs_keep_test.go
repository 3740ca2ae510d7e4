package e2e

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// keepJob writes weights.json, serve.py and two .pt files; KEEP is
// replaced by the job's output { keep } list.
const keepJob = `job "keep-model" {
  time_limit = "5m"
  resources {
    cpu    = 0.5
    memory = "128MiB"
  }
  task {
    command = "/bin/sh"
    args = ["-c", "mkdir -p $NAI_OUTPUT_DIR/ckpt && echo '{}' > $NAI_OUTPUT_DIR/weights.json && echo 'print(1)' > $NAI_OUTPUT_DIR/serve.py && echo w > $NAI_OUTPUT_DIR/model.pt && echo c > $NAI_OUTPUT_DIR/ckpt/last.pt"]
  }
  output {
    model = "keep-model"
    keep  = KEEP
  }
}
`

// TestOutputKeep: output { keep = ["*.pt"] } keeps only the .pt files, at
// any depth, in the job's outputs and in the model version it registers;
// a keep that matches nothing ends the job as usual, with no outputs and
// a note saying why.
func TestOutputKeep(t *testing.T) {
	a := startAgent(t, t.TempDir(), 1)
	work := t.TempDir()

	id := a.submit(work, "keep", strings.Replace(keepJob, "KEEP", `["*.pt"]`, 1))
	if j := a.waitJob(id, 3*time.Minute); j.Status != structs.JobComplete {
		t.Fatalf("job %s: %s (%s)", id, j.Status, j.Reason)
	}
	want := map[string]string{"ckpt/last.pt": "c\n", "model.pt": "w\n"}
	outs := filepath.Join(work, "outs")
	a.mustNai("job", "outputs", id, "-o", outs)
	if got := filesUnder(t, outs); !maps.Equal(got, want) {
		t.Errorf("nai job outputs wrote %q, want %q", got, want)
	}
	pulled := filepath.Join(work, "pulled")
	a.mustNai("model", "pull", "keep-model:1", "-o", pulled)
	if got := filesUnder(t, pulled); !maps.Equal(got, want) {
		t.Errorf("model version 1 holds %q, want %q", got, want)
	}
	var m structs.Artifact
	if err := json.Unmarshal([]byte(a.mustNai("model", "show", "-json", "keep-model")), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Versions) != 1 || len(m.Versions[0].Serve) != 0 {
		t.Errorf("model versions %+v: want one, without the serve.py that keep left out", m.Versions)
	}

	// Nothing matches: the job completes, keeps nothing, makes no version,
	// and says so.
	none := a.submit(work, "none", strings.Replace(keepJob, "KEEP", `["*.safetensors"]`, 1))
	if j := a.waitJob(none, 3*time.Minute); j.Status != structs.JobComplete || j.OutputDigest != "" {
		t.Fatalf("job %s: %s (%s), outputs %q; want complete without outputs", none, j.Status, j.Reason, j.OutputDigest)
	}
	status := a.mustNai("job", "status", none)
	if !strings.Contains(status, `output { keep = ["*.safetensors"] } matched none of the 4 files in NAI_OUTPUT_DIR, so no outputs were kept`) {
		t.Errorf("job status does not say why nothing was kept:\n%s", status)
	}
	_, errOut, code := a.nai("job", "outputs", none, "-o", filepath.Join(work, "none"))
	if code == 0 || !strings.Contains(errOut, `only files matching output { keep = ["*.safetensors"] } are kept`) {
		t.Errorf("nai job outputs of a job that kept nothing: exit %d, %q", code, errOut)
	}
	if err := json.Unmarshal([]byte(a.mustNai("model", "show", "-json", "keep-model")), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Versions) != 1 {
		t.Errorf("a job that kept nothing made a model version: %+v", m.Versions)
	}

	// A bad glob is refused when the file is read, with its position.
	bad := writeFile(t, work, "bad.hcl", strings.Replace(keepJob, "KEEP", `["[x"]`, 1))
	if _, errOut, code := a.nai("job", "run", "-detach", bad); code == 0 || !strings.Contains(errOut, "bad.hcl:13:") || !strings.Contains(errOut, `"[x" is not a glob`) {
		t.Errorf("job run with a bad keep glob: exit %d, %q", code, errOut)
	}
}
