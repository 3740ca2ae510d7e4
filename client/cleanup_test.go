package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/client/executor"
)

// After the outputs are uploaded (here after two refused attempts) and the
// end reported, work/ and output/ go; logs and exit.json stay.
func TestClientCleansAllocDirAfterUpload(t *testing.T) {
	f := newFakeServers(t)
	f.failUploads = 2
	c := newTestClient(t, f, t.TempDir(), nil)
	runClient(t, c)
	job := scriptJob("out", `echo hello; echo weights > "$NAI_OUTPUT_DIR/model.bin"; echo scratch > big.tmp`)
	a := newAlloc(c, job)
	f.put(a)
	waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	// The archive goes last: waiting for work/ and output/ alone raced
	// with its removal.
	waitFor(t, 10*time.Second, "the alloc dir cleaned", func() bool {
		return exists(dir.path(reportedFile)) && !exists(dir.workDir()) && !exists(dir.outputDir()) && !exists(dir.path(archiveName))
	})
	if st := f.status(a.ID); st.OutputDigest == "" {
		t.Errorf("outputs not uploaded: %+v", st)
	}
	if got := readFile(t, dir.logPath("stdout")); got != "hello\n" {
		t.Errorf("stdout after cleanup = %q", got)
	}
	for _, keep := range []string{executor.ExitFile, allocFile} {
		if !exists(dir.path(keep)) {
			t.Errorf("%s removed by the cleanup", keep)
		}
	}
	if exists(dir.path(uploadFailedFile)) {
		t.Error("upload-failed mark left behind")
	}
}

// Outputs the servers refused for good stay on the node (nothing that was
// not uploaded is deleted before the GC age); the work dir and the archive,
// scratch and a copy, go at once, so that a full disk does not stay full.
func TestClientKeepsOnlyOutputsOfFailedUpload(t *testing.T) {
	f := newFakeServers(t)
	f.refuseUploads = true
	c := newTestClient(t, f, t.TempDir(), nil)
	runClient(t, c)
	a := newAlloc(c, scriptJob("out", `echo weights > "$NAI_OUTPUT_DIR/model.bin"; echo scratch > big.tmp`))
	f.put(a)
	waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	waitFor(t, 10*time.Second, "the upload-failed mark", func() bool { return exists(dir.path(uploadFailedFile)) })
	if st := f.status(a.ID); st.OutputDigest != "" || !strings.Contains(st.Message, "output upload failed") {
		t.Errorf("final status %+v; want no outputs and the upload's failure", st)
	}
	if got := readFile(t, dir.path("output", "model.bin")); got != "weights\n" {
		t.Errorf("output/model.bin = %q", got)
	}
	for _, gone := range []string{dir.path("work", "big.tmp"), dir.path(archiveName)} {
		if exists(gone) {
			t.Errorf("%s kept after a failed upload", gone)
		}
	}
}

func TestAllocGC(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), nil)
	c.cfg.AllocGCAge = 24 * time.Hour
	now := time.Now()
	mk := func(id string, reportedAgo time.Duration, files ...string) allocDir {
		t.Helper()
		d := allocDir(filepath.Join(c.allocsDir(), id))
		for _, p := range append([]string{"work/x", "output/y", "logs/stdout"}, files...) {
			writeFileT(t, d.path(p))
		}
		if reportedAgo >= 0 {
			writeFileT(t, d.path(reportedFile))
			at := now.Add(-reportedAgo)
			if err := os.Chtimes(d.path(reportedFile), at, at); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	old := mk("old", 25*time.Hour)
	fresh := mk("fresh", time.Hour)
	failed := mk("failed-upload", time.Hour, uploadFailedFile, archiveName)
	running := mk("running", -1)
	held := mk("held", 48*time.Hour)
	c.runners["held"] = newAllocRunner(c, newAlloc(c, scriptJob("held", "true")))

	c.gcAllocDirs(now)

	tests := []struct {
		name string
		path string
		want bool
	}{
		{"reported over a day ago: removed", string(old), false},
		{"reported recently: logs kept", fresh.logPath("stdout"), true},
		{"reported recently: work removed", fresh.workDir(), false},
		{"reported recently: output removed", fresh.outputDir(), false},
		{"upload failed: output kept", failed.outputDir(), true},
		{"upload failed: work removed", failed.path("work", "x"), false},
		{"upload failed: archive removed", failed.path(archiveName), false},
		{"not reported: untouched", running.workDir(), true},
		{"held by a runner: untouched", held.workDir(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exists(tc.path); got != tc.want {
				t.Errorf("%s exists = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func writeFileT(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
