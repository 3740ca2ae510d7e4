package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

// stateViews is what an operator compares after a restore: the queue with
// finished jobs, the datasets and the models, as the CLI prints them.
func stateViews(t *testing.T, run func(args ...string) string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, args := range [][]string{{"queue", "-all", "-json"}, {"dataset", "list", "-json"}, {"model", "list", "-json"}} {
		var v any
		if err := json.Unmarshal([]byte(run(args...)), &v); err != nil {
			t.Fatalf("nai %s: %v", strings.Join(args, " "), err)
		}
		if args[0] == "queue" {
			// The restored cluster's scheduler may rewrite a pending
			// job's wait at once (its node is a new one): the job is the
			// same, its modify index moves on.
			for _, j := range v.([]any) {
				if m, ok := j.(map[string]any); ok && m["status"] == "pending" {
					delete(m, "modify_index")
				}
			}
		}
		out[strings.Join(args, " ")] = v
	}
	return out
}

// The backup procedure of docs/operations.md, end to end: save a snapshot
// of a cluster with jobs, datasets and models (and copy the blob dir),
// lose everything, start an empty agent, put the blobs back, restore: the
// same queue, datasets and models. A truncated or corrupt snapshot is
// refused and changes nothing; one of another cluster needs -force.
func TestSnapshotBackupRestore(t *testing.T) {
	dataDir := t.TempDir()
	a := startAgent(t, dataDir, 1)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	writeFile(t, data, "train.txt", "0 1 2 3\n")
	a.mustNai("dataset", "push", data, "-name", "digits.v1", "-description", "tiny")
	weights := filepath.Join(work, "weights")
	writeFile(t, weights, "model.bin", "weights\n")
	a.mustNai("model", "push", weights, "-name", "m")
	done := a.submit(work, "done", `job "done" {
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    command = "/bin/true"
  }
}
`)
	if j := a.waitJob(done, time.Minute); j.Status != structs.JobComplete {
		t.Fatalf("job %s ended %s", done, j.Status)
	}
	a.submit(work, "waits", waitingJob)

	file := filepath.Join(work, "backup.snap")
	if out := a.mustNai("operator", "snapshot", "save", file); !strings.Contains(out, "Saved snapshot to "+file) {
		t.Errorf("save said %q", out)
	}
	// A second save over the same file replaces it, and says so.
	if out := a.mustNai("operator", "snapshot", "save", file); !strings.Contains(out, "Saved snapshot to "+file+" (replaced the ") {
		t.Errorf("a save over an existing file said %q", out)
	}
	info := a.mustNai("operator", "snapshot", "inspect", file)
	for _, want := range []string{"Checksums   verified", "Cluster ID  (none: a dev agent)", "jobs", "datasets", "models"} {
		if !strings.Contains(info, want) {
			t.Errorf("inspect does not say %q:\n%s", want, info)
		}
	}
	var si structs.SnapshotInfo
	if err := json.Unmarshal([]byte(a.mustNai("operator", "snapshot", "inspect", "-json", file)), &si); err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, tb := range si.Tables {
		rows[tb.Name] = tb.Rows
	}
	if rows["jobs"] != 2 || rows["datasets"] != 1 || rows["models"] != 1 {
		t.Errorf("inspect -json counts %v, want 2 jobs, 1 dataset, 1 model", rows)
	}
	want := stateViews(t, a.mustNai)
	blobBackup := filepath.Join(work, "blobs")
	if out, err := exec.Command("cp", "-a", filepath.Join(dataDir, "server", "blobs"), blobBackup).CombinedOutput(); err != nil {
		t.Fatalf("copy the blob dir: %v\n%s", err, out)
	}

	// Everything is lost.
	a.cancelLiveJobs()
	a.stop()
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}
	b := startAgent(t, dataDir, 1)
	if out, err := exec.Command("cp", "-a", blobBackup+"/.", filepath.Join(dataDir, "server", "blobs")).CombinedOutput(); err != nil {
		t.Fatalf("put the blobs back: %v\n%s", err, out)
	}
	empty := stateViews(t, b.mustNai)

	// Bad files are refused by the CLI before anything is sent, and by
	// the server (the API, without the CLI's check).
	whole, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	truncated := writeFile(t, work, "truncated.snap", string(whole[:len(whole)*2/3]))
	flipped := []byte(string(whole))
	flipped[len(flipped)/2] ^= 0x10
	corrupt := writeFile(t, work, "corrupt.snap", string(flipped))
	for _, bad := range []string{truncated, corrupt} {
		out, errOut, code := b.nai("operator", "snapshot", "restore", bad)
		if code == 0 || !strings.Contains(errOut, "restore refused, nothing changed") {
			t.Errorf("restore %s: exit %d\n%s%s", filepath.Base(bad), code, out, errOut)
		}
		if _, _, code := b.nai("operator", "snapshot", "inspect", bad); code == 0 {
			t.Errorf("inspect %s passed", filepath.Base(bad))
		}
		f, err := os.Open(bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.api().RestoreSnapshot(t.Context(), f, false)
		f.Close()
		if structs.CodeOf(err) != structs.CodeInvalid {
			t.Errorf("the server took %s: %v", filepath.Base(bad), err)
		}
	}
	if d := cmp.Diff(empty, stateViews(t, b.mustNai)); d != "" {
		t.Errorf("a refused restore changed the state:\n%s", d)
	}

	out := b.mustNai("operator", "snapshot", "restore", file)
	if !strings.Contains(out, "Restored the snapshot of index") {
		t.Errorf("restore said %q", out)
	}
	if d := cmp.Diff(want, stateViews(t, b.mustNai)); d != "" {
		t.Errorf("the restored state differs from the saved one (-saved +restored):\n%s", d)
	}
	// The blobs put back are the restored versions' content.
	pulled := filepath.Join(work, "pulled")
	b.mustNai("dataset", "pull", "-o", pulled, "digits.v1")
	if got, err := os.ReadFile(filepath.Join(pulled, "train.txt")); err != nil || string(got) != "0 1 2 3\n" {
		t.Errorf("pulled dataset after the restore: %q, %v", got, err)
	}

	// A cluster's server refuses a dev agent's snapshot unless forced.
	s := startClusterAgent(t, "s1", t.TempDir(), "-server", "-bootstrap-expect", "1")
	waitFor(t, 30*time.Second, "the one-server cluster has a leader", func() bool {
		self, err := s.self()
		return err == nil && self.Leader && self.ClusterID != ""
	})
	out, errOut, code := s.nai("operator", "snapshot", "restore", file)
	if code == 0 || !strings.Contains(errOut, "-force") || !strings.Contains(errOut, "(none: a dev agent)") {
		t.Errorf("restore of another cluster's snapshot: exit %d\n%s%s", code, out, errOut)
	}
	if out := s.mustNai("operator", "snapshot", "restore", "-force", file); !strings.Contains(out, "another cluster (-force)") {
		t.Errorf("forced restore said %q", out)
	}
	got := stateViews(t, s.mustNai)
	if d := cmp.Diff(want["dataset list -json"], got["dataset list -json"]); d != "" {
		t.Errorf("datasets after the forced restore:\n%s", d)
	}
}
