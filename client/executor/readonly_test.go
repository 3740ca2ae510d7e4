package executor

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/structs"
)

// The walkthrough's tampering, as a root task would try it on a dataset
// unpacked into the node's cache.
const tamperScript = `
echo TAMPERED >> "$DATA/README" || echo append-failed
rm -f "$DATA/data.json" || echo rm-failed
touch "$DATA/new" || echo create-failed
echo kept > output.txt || echo work-failed
`

// readOnlyInput makes a dataset dir as the client's cache leaves it:
// files 0444, dirs 0555, owned by the agent.
func readOnlyInput(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "dataset")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"README": "original\n", "data.json": "{}\n"} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(d, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(d, 0o755) })
	return d
}

func checkInputIntact(t *testing.T, data string) {
	t.Helper()
	if got := readFile(t, filepath.Join(data, "README")); got != "original\n" {
		t.Errorf("README is now %q", got)
	}
	if !exists(filepath.Join(data, "data.json")) {
		t.Error("data.json was removed")
	}
	if exists(filepath.Join(data, "new")) {
		t.Error("the task created a file in its dataset")
	}
}

// A task running as root cannot change its read-only inputs: every write
// fails with EROFS, the data stays as it was, its work dir stays
// writable, and no mount is left on the host. Whichever way the task is
// started, in a cgroup or not.
func TestReadOnlyInputs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root may make the mount namespace, and only a root task passes the permissions this guards beyond")
	}
	run := func(t *testing.T, cgroup string) {
		data := readOnlyInput(t)
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Cgroup: cgroup, ReadOnly: []string{data},
			Env:  []string{"PATH=" + defaultPath, "DATA=" + data},
			Argv: []string{"/bin/sh", "-c", tamperScript}})
		st := waitExecutor(t, dir, cmd)
		if st.Reason != structs.ExitExited || st.ExitCode == nil || *st.ExitCode != 0 {
			t.Fatalf("task ended %q code %s: %s", st.Reason, fmtCode(st.ExitCode), st.Message)
		}
		out, errOut := readFile(t, dir.LogPath("stdout")), readFile(t, dir.LogPath("stderr"))
		if want := "append-failed\nrm-failed\ncreate-failed\n"; out != want {
			t.Errorf("task's output %q, want %q", out, want)
		}
		if n := strings.Count(errOut, "Read-only file system"); n != 3 {
			t.Errorf("%d of 3 writes failed with EROFS; stderr:\n%s", n, errOut)
		}
		checkInputIntact(t, data)
		if got := readFile(t, dir.Path("work", "output.txt")); got != "kept\n" {
			t.Errorf("work dir file %q", got)
		}
		if mi := readFile(t, "/proc/self/mountinfo"); strings.Contains(mi, data) {
			t.Errorf("a mount of %s is left on the host:\n%s", data, mi)
		}
	}
	// The control: without the read-only mounts root changes the data
	// (the defect this guards against).
	t.Run("without", func(t *testing.T) {
		data := readOnlyInput(t)
		dir, cmd := startExecutor(t, Spec{AllocID: "a1",
			Env:  []string{"PATH=" + defaultPath, "DATA=" + data},
			Argv: []string{"/bin/sh", "-c", tamperScript}})
		waitExecutor(t, dir, cmd)
		if exists(filepath.Join(data, "data.json")) {
			t.Fatal("a root task could not remove a file of its dataset without the read-only mounts: the test proves nothing")
		}
	})
	startPaths(t, func(t *testing.T) {
		t.Run("no cgroup", func(t *testing.T) { run(t, "") })
		t.Run("in cgroup", func(t *testing.T) { run(t, makeCgroup(t, cgroups.Limits{Pids: 100})) })
		// An input that cannot be made read-only fails the start, with
		// why, rather than run the task with it writable.
		t.Run("missing input", func(t *testing.T) {
			missing := filepath.Join(t.TempDir(), "gone")
			dir, cmd := startExecutor(t, Spec{AllocID: "a1", ReadOnly: []string{missing},
				Argv: []string{"/bin/sh", "-c", "echo ran"}})
			st := waitExecutor(t, dir, cmd)
			if st.Reason != structs.ExitStartFail || !strings.Contains(st.Message, "read-only") || !strings.Contains(st.Message, missing) {
				t.Errorf("ended %q: %q; want start-failed naming %s and why", st.Reason, st.Message, missing)
			}
			if out, _ := os.ReadFile(dir.LogPath("stdout")); len(out) > 0 {
				t.Errorf("the task ran: %q", out)
			}
		})
	})
}

// An executor without CAP_SYS_ADMIN (a non-root agent's) runs the task
// all the same, its inputs guarded by their permissions alone, and says
// why once in its log.
func TestReadOnlyInputsWithoutPrivilege(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: to run the executor as another, unprivileged user")
	}
	const nobody = 65534
	// The test binary, the alloc dir and the way to them must be
	// reachable by that user.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // t.TempDir's are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe := filepath.Join(base, "nai")
	b, err := os.ReadFile(selfExe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := Dir(filepath.Join(base, "alloc"))
	if err := os.MkdirAll(dir.Path("work"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{string(dir), dir.Path("work")} {
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	data := readOnlyInput(t)
	if err := os.Chmod(filepath.Dir(data), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := Spec{AllocID: "a1", Dir: dir.Path("work"), ReadOnly: []string{data}, KillGrace: structs.Duration(300 * time.Millisecond),
		Env:  []string{"PATH=" + defaultPath, "DATA=" + data},
		Argv: []string{"/bin/sh", "-c", tamperScript}}
	if err := WriteJSONAtomic(dir.Path(AllocFile), AllocRecord{Executor: &spec}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir.Path(AllocFile), nobody, nobody); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	cmd := exec.Command(exe, "executor", string(dir))
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	if err := cmd.Run(); err != nil {
		t.Fatalf("executor: %v\n%s", err, log.String())
	}
	st, err := dir.ReadExit()
	if err != nil || st == nil {
		t.Fatalf("no exit status (%v); executor log:\n%s", err, log.String())
	}
	if st.Reason != structs.ExitExited || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("task ended %q code %s: %s", st.Reason, fmtCode(st.ExitCode), st.Message)
	}
	if out := readFile(t, dir.LogPath("stdout")); out != "append-failed\nrm-failed\ncreate-failed\n" {
		t.Errorf("task's output %q", out)
	}
	if errOut := readFile(t, dir.LogPath("stderr")); strings.Contains(errOut, "Read-only file system") || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("want the permissions to refuse the writes, not a read-only mount; stderr:\n%s", errOut)
	}
	checkInputIntact(t, data)
	if n := strings.Count(log.String(), "cannot give tasks a mount namespace"); n != 1 {
		t.Errorf("the fallback is logged %d times, want once; executor log:\n%s", n, log.String())
	}
}
