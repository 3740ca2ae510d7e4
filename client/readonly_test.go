package client

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/structs"
)

// unpackInto puts files into the node's unpacked cache under digest, as
// stageArtifact leaves a fetched version.
func unpackInto(t *testing.T, c *Client, digest string, files map[string]string) string {
	t.Helper()
	src := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := archive.Pack(&buf, src, 0); err != nil {
		t.Fatal(err)
	}
	arc := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(arc, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(c.unpackedDir(), digest)
	if err := unpackReadOnly(arc, dst); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = makeWritable(dst) })
	return dst
}

// The walkthrough: a root task appends to its dataset's README, deletes
// its data.json and overwrites its model's weights. Every write fails
// with EROFS, the node's cached copies stay as they were, and the next
// job on the node reads them unchanged.
func TestClientInputsReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: tasks run as root here, and only root may give them a mount namespace")
	}
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	if !c.mountNS {
		t.Skip("this root agent lacks CAP_SYS_ADMIN")
	}
	runClient(t, c)
	dsDigest, mdDigest := strings.Repeat("a", 64), strings.Repeat("b", 64)
	ds := unpackInto(t, c, dsDigest, map[string]string{"README": "digits\n", "data.json": "[1, 2, 3]\n"})
	md := unpackInto(t, c, mdDigest, map[string]string{"weights.bin": "w0\n"})
	withInputs := func(j *structs.Job) *structs.Job {
		j.Datasets = []structs.ArtifactRef{{Name: "digits", Version: "1", Digest: dsDigest}}
		j.Models = []structs.ArtifactRef{{Name: "base", Version: "1", Digest: mdDigest}}
		return j
	}
	run := func(job *structs.Job) (string, string) {
		t.Helper()
		a := newAlloc(c, job)
		f.put(a)
		waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
		if st := f.status(a.ID); st.Status != structs.AllocComplete {
			t.Fatalf("job %s: %+v", job.ID, st)
		}
		dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
		return readFile(t, dir.logPath("stdout")), readFile(t, dir.logPath("stderr"))
	}

	out, errOut := run(withInputs(scriptJob("j1", `
echo TAMPERED >> "$NAI_DATASET_DIR/README" || echo append-failed
rm -f "$NAI_DATASET_DIR/data.json" || echo rm-failed
echo w1 > "$NAI_MODEL_DIR/weights.bin" || echo model-failed
echo fine > "$NAI_OUTPUT_DIR/result" || echo output-failed`)))
	if want := "append-failed\nrm-failed\nmodel-failed\n"; out != want {
		t.Errorf("job 1 printed %q, want %q", out, want)
	}
	if n := strings.Count(errOut, "Read-only file system"); n != 3 {
		t.Errorf("%d of 3 writes failed with EROFS; stderr:\n%s", n, errOut)
	}
	for path, want := range map[string]string{
		filepath.Join(ds, "README"): "digits\n", filepath.Join(ds, "data.json"): "[1, 2, 3]\n", filepath.Join(md, "weights.bin"): "w0\n",
	} {
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("cached %s: %q, %v; want %q", path, got, err, want)
		}
	}

	out, _ = run(withInputs(scriptJob("j2", `cat "$NAI_DATASET_DIR/README" "$NAI_DATASET_DIR/data.json" "$NAI_MODEL_DIR/weights.bin"`)))
	if want := "digits\n[1, 2, 3]\nw0\n"; out != want {
		t.Errorf("job 2 read %q, want %q", out, want)
	}
}

func TestReadOnlyDirs(t *testing.T) {
	c := &Client{cfg: Config{DataDir: "/var/lib/nai"}, logger: testLogger(t), mountNS: true}
	got := c.readOnlyDirs(
		[]artifactDir{{Name: "a", Dir: "/var/lib/nai/cache/unpacked/aa"}, {Name: "root", Dir: "/"}, {Name: "var", Dir: "/var/lib"}, {Name: "b", Dir: "/data/b/"}},
		[]artifactDir{{Name: "m", Dir: "/var/lib/nai/cache/unpacked/aa"}, {Name: "sib", Dir: "/var/lib/nai2"}})
	want := []string{"/var/lib/nai/cache/unpacked/aa", "/data/b", "/var/lib/nai2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("readOnlyDirs = %q, want %q (none that holds the data dir, no repeats)", got, want)
	}
	c.mountNS = false
	if got := c.readOnlyDirs([]artifactDir{{Name: "a", Dir: "/x"}}, nil); got != nil {
		t.Errorf("without mount namespaces: %q, want none", got)
	}
}
