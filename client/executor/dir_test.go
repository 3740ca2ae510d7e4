package executor

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

// The files of an allocation dir are a contract between agents and
// executors of different versions (during an upgrade, a new agent watches
// the executors an old one started): their names and JSON fields must
// stay as they are. These are the bytes the previous versions wrote.
func TestDirContract(t *testing.T) {
	names := map[string]string{
		AllocFile: "alloc.json", SpecFile: "executor.json", PidFile: "executor.pid", StopFile: "stop", ExitFile: "exit.json",
		StartErrorFile: "start-error", RestartFile: "restart", RestartsFile: "restarts.json",
	}
	for got, want := range names {
		if got != want {
			t.Errorf("file %q was called %q", got, want)
		}
	}
	if got := Dir("/d").LogPath("stderr"); got != "/d/logs/stderr" {
		t.Errorf("stderr log at %s, was /d/logs/stderr", got)
	}

	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	code := 137
	tests := []struct {
		file string
		v    any
		want string
	}{
		{SpecFile, &Spec{
			AllocID: "a1", Argv: []string{"python3", "train.py"}, Dir: "/data/allocs/a1/work", Env: []string{"PATH=/bin"},
			TimeLimit: structs.Duration(30 * time.Minute), KillGrace: structs.Duration(10 * time.Second),
			CgroupParent: "/nai", Cgroup: "nai-n1-a1",
			User:   &User{Name: "alice", UID: 1000, GID: 1000, Groups: []uint32{27, 44}, Home: "/home/alice"},
			Labels: map[string]string{"team": "vision"},
			Service: &RestartPolicy{BackoffMin: structs.Duration(time.Second), BackoffMax: structs.Duration(time.Minute),
				ResetAfter: structs.Duration(10 * time.Minute), ShutdownDelay: structs.Duration(5 * time.Second)},
		}, `{
  "alloc_id": "a1",
  "argv": [
    "python3",
    "train.py"
  ],
  "dir": "/data/allocs/a1/work",
  "env": [
    "PATH=/bin"
  ],
  "time_limit": "30m0s",
  "kill_grace": "10s",
  "cgroup_parent": "/nai",
  "cgroup": "nai-n1-a1",
  "user": {
    "name": "alice",
    "uid": 1000,
    "gid": 1000,
    "groups": [
      27,
      44
    ],
    "home": "/home/alice"
  },
  "labels": {
    "team": "vision"
  },
  "service": {
    "backoff_min": "1s",
    "backoff_max": "1m0s",
    "reset_after": "10m0s",
    "shutdown_delay": "5s"
  }
}
`},
		{SpecFile, &Spec{AllocID: "a2", Argv: []string{"true"}, Dir: "/w", Env: []string{}}, `{
  "alloc_id": "a2",
  "argv": [
    "true"
  ],
  "dir": "/w",
  "env": [],
  "time_limit": "0s",
  "kill_grace": "0s"
}
`},
		{ExitFile, &ExitStatus{ExitCode: &code, Reason: "oom-killed", Message: "the task ran out of its memory limit",
			StartTime: start, EndTime: start.Add(time.Minute), Usage: &structs.ResourceUsage{CPUSeconds: 1.5, MaxMemoryBytes: 1 << 20, OOMKills: 1}}, `{
  "exit_code": 137,
  "reason": "oom-killed",
  "message": "the task ran out of its memory limit",
  "start_time": "2025-03-01T12:00:00Z",
  "end_time": "2025-03-01T12:01:00Z",
  "usage": {
    "cpu_seconds": 1.5,
    "max_memory_bytes": 1048576,
    "oom_kills": 1
  }
}
`},
		{ExitFile, &ExitStatus{Reason: "node-lost", EndTime: start}, `{
  "exit_code": null,
  "reason": "node-lost",
  "end_time": "2025-03-01T12:00:00Z"
}
`},
		{RestartsFile, &RestartRecord{Restarts: 2, LastExit: "killed by SIGKILL", RunStart: start, NextStart: start.Add(time.Second)}, `{
  "restarts": 2,
  "last_exit": "killed by SIGKILL",
  "run_start": "2025-03-01T12:00:00Z",
  "next_start": "2025-03-01T12:00:01Z"
}
`},
	}
	for _, tc := range tests {
		dir := Dir(t.TempDir())
		if err := WriteJSONAtomic(dir.Path(tc.file), tc.v); err != nil {
			t.Fatal(err)
		}
		got := readFile(t, dir.Path(tc.file))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s changed (-was +now):\n%s", tc.file, diff)
		}
		// What a previous version wrote reads back whole.
		back := map[string]func() (any, error){
			SpecFile: func() (any, error) { var s Spec; err := ReadJSON(dir.Path(SpecFile), &s); return &s, err },
			ExitFile: func() (any, error) { return dir.ReadExit() },
			RestartsFile: func() (any, error) {
				r, err := dir.ReadRestarts()
				return &r, err
			},
		}[tc.file]
		v, err := back()
		if err != nil {
			t.Fatalf("read %s: %v", tc.file, err)
		}
		if diff := cmp.Diff(tc.v, v); diff != "" {
			t.Errorf("%s read back (-wrote +read):\n%s", tc.file, diff)
		}
	}
}

func TestDirReadsNothingYet(t *testing.T) {
	dir := Dir(t.TempDir())
	if st, err := dir.ReadExit(); st != nil || err != nil {
		t.Errorf("ReadExit of an empty dir = %v, %v; want nil, nil", st, err)
	}
	if rec, err := dir.ReadRestarts(); rec != (RestartRecord{}) || err != nil {
		t.Errorf("ReadRestarts of an empty dir = %+v, %v; want a zero record", rec, err)
	}
	if pid := dir.ReadPid(); pid != 0 {
		t.Errorf("ReadPid of an empty dir = %d", pid)
	}
	if err := WriteFileAtomic(dir.Path(PidFile), []byte("1234\n")); err != nil {
		t.Fatal(err)
	}
	if pid := dir.ReadPid(); pid != 1234 {
		t.Errorf("ReadPid = %d, want 1234", pid)
	}
	if err := WriteFileAtomic(dir.Path(ExitFile), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := dir.ReadExit(); err == nil || !strings.Contains(err.Error(), ExitFile) {
		t.Errorf("a broken exit.json read as %v; want an error naming it", err)
	}
}
