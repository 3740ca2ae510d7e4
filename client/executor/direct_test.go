package executor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/structs"
)

// startPaths runs f with the executor forking the task itself (from a
// thread that visits the cgroup on v1, and with the whole process visiting
// it) and through the exec shim (the fallback).
func startPaths(t *testing.T, f func(t *testing.T)) {
	for _, p := range []struct{ name, shim, processMove string }{
		{"direct", "", ""},
		{"direct, whole process", "", "1"},
		{"exec shim", "1", ""},
	} {
		t.Run(p.name, func(t *testing.T) {
			t.Setenv("NAI_EXEC_SHIM", p.shim)
			t.Setenv("NAI_EXEC_PROCESS_MOVE", p.processMove)
			f(t)
		})
	}
}

// The task is inside its cgroup from its first instruction, and the
// executor, which visited the cgroup to fork it, leaves it, every thread
// of it. The task may run before the executor has returned to its own
// cgroups (the fork returns in both at once), so it looks at its parent's
// threads for up to 5 s.
func TestStartInCgroup(t *testing.T) {
	startPaths(t, func(t *testing.T) {
		name := makeCgroup(t, cgroups.Limits{MemoryBytes: 256 << 20, Pids: 100})
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Cgroup: name,
			Argv: []string{"/bin/sh", "-c", "cat /proc/self/cgroup; for i in $(seq 50); do grep -q " + name + " /proc/$PPID/task/*/cgroup || break; sleep 0.1; done; cat /proc/$PPID/task/*/cgroup >&2"}})
		st := waitExecutor(t, dir, cmd)
		if st.Reason != structs.ExitExited || st.ExitCode == nil || *st.ExitCode != 0 {
			t.Fatalf("task ended %q code %s: %s", st.Reason, fmtCode(st.ExitCode), st.Message)
		}
		task, parent := readFile(t, dir.LogPath("stdout")), readFile(t, dir.LogPath("stderr"))
		for _, ctrl := range []string{"memory", "pids"} {
			if line := cgroupLine(task, ctrl); !strings.HasSuffix(line, "/"+name) {
				t.Errorf("task's %s cgroup line %q is not the allocation's %s", ctrl, line, name)
			}
		}
		if strings.Contains(parent, name) {
			t.Errorf("the task's parent stayed in the allocation's cgroup:\n%s", parent)
		}
	})
}

func cgroupLine(procCgroup, ctrl string) string {
	for _, l := range strings.Split(procCgroup, "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 && (parts[1] == ctrl || strings.Contains(","+parts[1]+",", ","+ctrl+",")) {
			return l
		}
	}
	return ""
}

// The task gets default signal dispositions for SIGPIPE (a pipeline's
// writer dies quietly) whichever way it was started.
func TestStartSignalDispositions(t *testing.T) {
	startPaths(t, func(t *testing.T) {
		dir, cmd := startExecutor(t, Spec{AllocID: "a1", Argv: []string{"grep", "^SigIgn:", "/proc/self/status"}})
		if st := waitExecutor(t, dir, cmd); st.ExitCode == nil || *st.ExitCode != 0 {
			t.Fatalf("task ended %q: %s", st.Reason, st.Message)
		}
		f := strings.Fields(readFile(t, dir.LogPath("stdout")))
		if len(f) != 2 {
			t.Fatalf("unexpected status line %q", f)
		}
		mask, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if mask&(1<<(13-1)) != 0 {
			t.Errorf("SIGPIPE is ignored in the task (SigIgn %s)", f[1])
		}
	})
}

func TestLookPathIn(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "run.sh")
	plain := filepath.Join(dir, "data.txt")
	for p, mode := range map[string]os.FileMode{exe: 0o755, plain: 0o644} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HOME=/x", "PATH=relative:" + dir + ":/usr/bin:/bin"}
	tests := []struct {
		name, cmd string
		env       []string
		want      string // "" means an error
	}{
		{"found along PATH", "run.sh", env, exe},
		{"first PATH entry wins", "sh", []string{"PATH=/bin:/usr/bin"}, "/bin/sh"},
		{"absolute", exe, nil, exe},
		{"relative to the task dir", "./run.sh", nil, exe},
		{"not executable", "./data.txt", env, ""},
		{"a directory", "/tmp", env, ""},
		{"not on PATH", "no-such-command-nai", env, ""},
		{"no PATH at all", "sh", nil, ""},
		{"relative PATH entries are refused", "run.sh", []string{"PATH=."}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookPathIn(tc.cmd, dir, tc.env)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("lookPathIn(%q) = %q, want an error", tc.cmd, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("lookPathIn(%q) = %q, %v; want %q", tc.cmd, got, err, tc.want)
			}
		})
	}
}
