package client

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// TestTaskCannotSeeOtherAllocations is the red team's H2: a task of one
// user lists and reads nothing of another allocation on the host (its
// logs, outputs, metrics, checkpoints, alloc.json), nor the agent's files
// or the caches' digests, while its own dirs work, with umask 077.
func TestTaskCannotSeeOtherAllocations(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	if _, err := lookupTaskUser("nobody"); err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	f := newFakeServers(t)
	data := t.TempDir()
	searchableDataDir(t, data)
	c := newTestClient(t, f, data, testCgroups(t))
	runClient(t, c)
	// The victim: another account (here the agent's own, root) with a
	// log, outputs, metrics and a checkpoint, still running.
	victim := scriptJob("v", `echo victim-log
echo weights > "$NAI_OUTPUT_DIR/w"
echo ck > "$NAI_CHECKPOINT_DIR/c"
echo '{"loss": 1}' >> "$NAI_METRICS_FILE"
touch "$NAI_OUTPUT_DIR/ready"
sleep 60`)
	va := newAlloc(c, victim)
	f.put(va)
	vdir := filepath.Join(data, "allocs", va.ID)
	waitFor(t, 15*time.Second, "the victim's outputs", func() bool { return exists(filepath.Join(vdir, "output", "ready")) })
	// A dataset version as the agent unpacks one: a task given it
	// reaches it by its path, without listing its neighbours.
	if err := os.MkdirAll(filepath.Join(data, "cache", "unpacked", "abc123"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "cache", "unpacked", "abc123", "train.csv"), []byte("1,2\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(data, "cache", "unpacked", "abc123"), 0o555); err != nil {
		t.Fatal(err)
	}
	probe := fmt.Sprintf(`D=%s
for p in $D $D/allocs $D/allocs/v.1 $D/allocs/v.1/output $D/allocs/v.1/work $D/checkpoints $D/checkpoints/v $D/cache $D/cache/unpacked $D/cache/blobs; do
  ls "$p" >/dev/null 2>&1 && echo "listed $p"
done
for p in $D/allocs/v.1/stdout $D/allocs/v.1/alloc.json $D/allocs/v.1/output/w $D/allocs/v.1/metrics.jsonl $D/checkpoints/v/c $D/node-secret $D/executor.log; do
  cat "$p" >/dev/null 2>&1 && echo "read $p"
done
umask
cat $D/cache/unpacked/abc123/train.csv >/dev/null && ls $D/cache/unpacked/abc123 >/dev/null && echo dataset-ok
echo mine > "$NAI_OUTPUT_DIR/mine" && echo '{"x": 1}' >> "$NAI_METRICS_FILE" && echo c > "$NAI_CHECKPOINT_DIR/c" && cat "$NAI_OUTPUT_DIR/mine" "$NAI_CHECKPOINT_DIR/c" >/dev/null && ls "$NAI_OUTPUT_DIR" >/dev/null && echo own-ok
`, data)
	job := scriptJob("a", probe)
	job.Task.User = "nobody"
	a := newAlloc(c, job)
	f.put(a)
	waitFor(t, terminalWait, "the probe's final report", func() bool { return f.terminal(a.ID) })
	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	if got, want := readFile(t, dir.logPath("stdout")), "0077\ndataset-ok\nown-ok\n"; got != want {
		t.Errorf("the probe said %q, want %q (stderr %q)", got, want, readFile(t, dir.logPath("stderr")))
	}
	if st := f.status(a.ID); st.Status != structs.AllocComplete || st.Metrics["x"] != 1 || st.OutputDigest == "" {
		t.Errorf("probe %s, metrics %v, outputs %q: its own files did not work", st.Status, st.Metrics, st.OutputDigest)
	}
	f.modify(va.ID, func(a *structs.Allocation) {
		a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitCancelled
	})
	waitFor(t, terminalWait, "the victim's final report", func() bool { return f.terminal(va.ID) })
}

// TestTightenDataDir: an older agent's data dir (world-readable allocation
// dirs, logs and checkpoints) is tightened at the agent's start, and what
// a task needs stays reachable.
func TestTightenDataDir(t *testing.T) {
	data := t.TempDir()
	mk := func(p string, mode fs.FileMode, dir bool) {
		p = filepath.Join(data, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if dir {
			err = os.Mkdir(p, mode)
		} else {
			err = os.WriteFile(p, []byte("x"), mode)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("allocs/1.1", 0o755, true)
	mk("allocs/1.1/work", 0o755, true)
	mk("allocs/1.1/output", 0o755, true)
	mk("allocs/1.1/stdout", 0o644, false)
	mk("allocs/1.1/stderr", 0o644, false)
	mk("allocs/1.1/metrics.jsonl", 0o644, false)
	mk("allocs/1.1/task-script", 0o755, false)
	mk("allocs/2.1/logs/stdout", 0o644, false)
	mk("checkpoints/1", 0o755, true)
	mk("cache/blobs/abc", 0o644, false)
	mk("cache/unpacked/abc", 0o555, true)
	mk("executor.log", 0o644, false)
	if err := os.Symlink("/etc/passwd", filepath.Join(data, "allocs/1.1/output.tar.gz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tightenDataDir(data, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		".": 0o711, "allocs": 0o711, "allocs/1.1": 0o711, "allocs/1.1/work": 0o700, "allocs/1.1/output": 0o700,
		"allocs/1.1/stdout": 0o600, "allocs/1.1/stderr": 0o600, "allocs/1.1/metrics.jsonl": 0o600,
		"allocs/1.1/task-script": 0o700, "allocs/2.1": 0o711, "allocs/2.1/logs": 0o700, "allocs/2.1/logs/stdout": 0o600,
		"checkpoints": 0o711, "checkpoints/1": 0o700, "cache": 0o711, "cache/blobs": 0o700,
		"cache/unpacked": 0o711, "cache/unpacked/abc": 0o555, "executor.log": 0o600,
	}
	var bad []string
	for p, m := range want {
		fi, err := os.Lstat(filepath.Join(data, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != m {
			bad = append(bad, fmt.Sprintf("%s %04o, want %04o", p, fi.Mode().Perm(), m))
		}
	}
	if fi, err := os.Stat("/etc/passwd"); err != nil || fi.Mode().Perm()&0o004 == 0 {
		bad = append(bad, "a symlink in an allocation dir was followed")
	}
	if len(bad) > 0 {
		t.Errorf("after tightening:\n%s", strings.Join(bad, "\n"))
	}
}
