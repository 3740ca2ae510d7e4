package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The job file of TestInputsReadOnly: it runs script.sh of its code
// folder with the dataset and the model.
const readOnlyJob = `job "NAME" {
  time_limit = "2m"
  code = "."
  dataset "walk" {
    version = "1"
  }
  model "walkm" {
    version = "1"
  }
  resources {
    cpu    = 0.5
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["script.sh"]
  }
}
`

// A job of the user walkthrough that found the defect: it tries to change
// its dataset and its model (the dev agent runs tasks as root, so the
// permissions do not stop it) and says which tries failed.
const tamperJobScript = `#!/bin/sh
echo TAMPERED >> "$NAI_DATASET_DIR/README" || echo "append refused"
rm -f "$NAI_DATASET_DIR/data.json" || echo "rm refused"
echo w1 > "$NAI_MODEL_DIR/weights.bin" || echo "model refused"
echo "uid=$(id -u)"
`

// A later job on the node reads both, as they were pushed.
const readJobScript = `#!/bin/sh
set -e
cat "$NAI_DATASET_DIR/README" "$NAI_DATASET_DIR/data.json" "$NAI_MODEL_DIR/weights.bin"
`

// Datasets and models are read-only to a job even when it runs as root:
// one job's writes fail with EROFS and leave the node's cached copy, which
// every later job on the node reads (also after an agent restart), as it
// was pushed.
func TestInputsReadOnly(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, 1)
	work := t.TempDir()
	ds := filepath.Join(work, "ds")
	writeFile(t, ds, "README", "digits, as pushed\n")
	writeFile(t, ds, "data.json", "[1, 2, 3]\n")
	a.mustNai("dataset", "push", ds, "-name", "walk")
	md := filepath.Join(work, "md")
	writeFile(t, md, "weights.bin", "w0\n")
	a.mustNai("model", "push", md, "-name", "walkm")

	run := func(a *agent, name, script string) (stdout, stderr string) {
		t.Helper()
		dir := filepath.Join(work, name)
		writeFile(t, dir, "script.sh", script)
		id := a.submit(dir, name, strings.Replace(readOnlyJob, "NAME", name, 1))
		j := a.waitJob(id, 2*time.Minute)
		stdout = a.mustNai("job", "logs", id)
		stderr, _, _ = a.nai("job", "logs", "-stderr", id)
		if j.Status != structs.JobComplete {
			t.Fatalf("job %s (%s): %s (%s)\nstdout:\n%s\nstderr:\n%s", name, id, j.Status, j.Reason, stdout, stderr)
		}
		return stdout, stderr
	}

	out, errOut := run(a, "tamper", tamperJobScript)
	if !strings.Contains(out, "uid=0\n") {
		t.Fatalf("the dev agent's task did not run as root, so this proves nothing:\n%s", out)
	}
	for _, want := range []string{"append refused", "rm refused", "model refused"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("job 1 could write its inputs: its output lacks %q:\n%s\nstderr:\n%s", want, out, errOut)
		}
	}
	if n := strings.Count(errOut, "Read-only file system"); n != 3 {
		t.Errorf("%d of job 1's 3 writes failed with EROFS; stderr:\n%s", n, errOut)
	}

	const want = "digits, as pushed\n[1, 2, 3]\nw0\n"
	if out, errOut := run(a, "read", readJobScript); out != want {
		t.Errorf("job 2 read %q, want %q\nstderr:\n%s", out, want, errOut)
	}
	a.stop()
	b := startAgent(t, data, 1)
	if out, errOut := run(b, "read-again", readJobScript); out != want {
		t.Errorf("after a restart job 3 read %q, want %q\nstderr:\n%s", out, want, errOut)
	}
}
