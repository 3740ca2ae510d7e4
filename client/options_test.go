package client

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// Config.ExecutorBinary is the binary of both per-job processes: the agent
// starts `ExecutorBinary executor DIR`, and the executor starts the exec
// shim from its own binary, so one job never mixes binaries.
func TestExecutorBinary(t *testing.T) {
	f := newFakeServers(t)
	t.Run("defaults", func(t *testing.T) {
		tests := []struct{ name, binary, want string }{
			{name: "this process's binary", want: selfExe(t)},
			{name: "ExecutorBinary", binary: "/opt/nai/bin/nai", want: "/opt/nai/bin/nai"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c, err := New(Config{DataDir: t.TempDir(), Servers: f.api(t), Host: testHost(), ExecutorBinary: tc.binary})
				if err != nil {
					t.Fatal(err)
				}
				if c.cfg.ExecutorBinary != tc.want {
					t.Errorf("executor binary %q, want %q", c.cfg.ExecutorBinary, tc.want)
				}
			})
		}
	})
	t.Run("executor and exec shim run from it", func(t *testing.T) {
		// The test binary under another name: a hard link keeps the name
		// the executor sees as its own (a symlink would resolve to the
		// test binary).
		bin := filepath.Join(t.TempDir(), "nai-executor")
		if err := os.Link(selfExe(t), bin); err != nil {
			copyFile(t, selfExe(t), bin)
		}
		log := filepath.Join(t.TempDir(), "exe.log")
		t.Setenv("TEST_EXE_LOG", log) // the executor's, from the agent's environment
		t.Setenv("NAI_EXEC_SHIM", "1")
		c, err := New(Config{RootTasks: RootTasksAllow, DataDir: t.TempDir(), NodeName: "gpu-test",
			Servers: f.api(t), Host: testHost(), Cgroups: testCgroups(t),
			ExecutorBinary: bin, KillGrace: 500 * time.Millisecond, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		runClient(t, c)
		job := scriptJob("eb1", "true")
		job.Task.Env = map[string]string{"TEST_EXE_LOG": log} // the shim's, from the task's
		a := newAlloc(c, job)
		f.put(a)
		waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
		if st := f.status(a.ID); st.Status != structs.AllocComplete {
			t.Fatalf("final status %+v, want complete", st)
		}
		want := "executor " + bin + "\nexec-shim " + bin + "\n"
		if got := readFile(t, log); got != want {
			t.Errorf("binaries run:\n%s\nwant:\n%s", got, want)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
