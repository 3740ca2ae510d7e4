package client

import (
	"path/filepath"
	"testing"
)

// A script with a #! line runs by the interpreter it names, as Slurm runs a
// batch script: here /bin/sh, which goes on after a failing command (bash
// -e would stop), and sees SLURM_* like any job.
func TestClientRunsShebangScript(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	runClient(t, c)
	job := scriptJob("s1", "#!/bin/sh\n#SBATCH --time=5\nfalse\necho \"after false: $0 job $SLURM_JOB_ID in $SLURM_SUBMIT_DIR\"\n")
	a := newAlloc(c, job)
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
	if st := f.status(a.ID); st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("final status %+v, want exit code 0", st)
	}
	dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
	want := "after false: " + dir.path(scriptFile) + " job s1 in " + dir.workDir() + "\n"
	if got := readFile(t, dir.logPath("stdout")); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}
