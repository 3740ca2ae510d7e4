package cgroupfs

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// A cgroup a task nests inside its allocation's still counts: its
// processes are listed, Delete refuses while they live and removes the
// nested cgroup once they are gone.
func TestV1NestedCgroup(t *testing.T) {
	g := makeGroup(t, v1Tree(t))
	memory, _ := g.(*v1Group).dirs.dir("memory")
	nested := filepath.Join(memory, "inner")
	if err := os.Mkdir(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(nested) }) // after the sleeper's end
	pid, stop := startSleeper(t)
	if err := os.WriteFile(filepath.Join(nested, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatal(err)
	}
	if pids, err := g.Pids(); err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids = %v, %v; want %d from the nested cgroup", pids, err, pid)
	}
	if err := g.Delete(); err == nil {
		t.Fatal("Delete succeeded with a process inside")
	}
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	stop() // reaps it
	if err := g.Delete(); err != nil {
		t.Fatalf("Delete after kill: %v", err)
	}
	if _, err := os.Stat(nested); !os.IsNotExist(err) {
		t.Fatalf("nested cgroup %s survives Delete: %v", nested, err)
	}
	if err := g.Delete(); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestReadControlFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oom := write("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
	noKey := write("old.oom_control", "oom_kill_disable 0\nunder_oom 0\n")
	bad := write("bad.oom_control", "oom_kill x\n")
	usage := write("cpuacct.usage", "123456789\n")
	tests := []struct {
		name    string
		read    func() (uint64, error)
		want    uint64
		wantErr bool
	}{
		{"keyed value", func() (uint64, error) { return readKeyedUint(oom, "oom_kill") }, 3, false},
		{"missing key is zero", func() (uint64, error) { return readKeyedUint(noKey, "oom_kill") }, 0, false},
		{"bad keyed value", func() (uint64, error) { return readKeyedUint(bad, "oom_kill") }, 0, true},
		{"plain number", func() (uint64, error) { return readUintFile(usage) }, 123456789, false},
		{"not a number", func() (uint64, error) { return readUintFile(oom) }, 0, true},
		{"missing file", func() (uint64, error) { return readUintFile(filepath.Join(dir, "nope")) }, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read()
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %d, %v; want %d (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
