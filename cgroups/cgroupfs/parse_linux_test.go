package cgroupfs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
	"golang.org/x/sys/unix"
)

func TestParseProcCgroup(t *testing.T) {
	in := `9:name=systemd:/
4:memory:/process_api/7ed7
2:cpu,cpuacct:/jobs
0::/agent.service
`
	v1, unified, err := parseProcCgroup(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name=systemd": "/", "memory": "/process_api/7ed7", "cpu": "/jobs", "cpuacct": "/jobs"}
	if diff := cmp.Diff(want, v1); diff != "" {
		t.Errorf("v1 paths (-want +got):\n%s", diff)
	}
	if unified != "/agent.service" {
		t.Errorf("unified = %q", unified)
	}
	if _, _, err := parseProcCgroup(strings.NewReader("garbage\n")); err == nil {
		t.Error("garbage parsed without error")
	}
}

func TestParseMountinfo(t *testing.T) {
	in := `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /ns /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/with\040space rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`
	got, err := parseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := mounts{
		{Root: "/", Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Controllers: []string{"cpu", "cpuacct"}},
		{Root: "/ns", Mountpoint: "/sys/fs/cgroup/memory", Controllers: []string{"memory"}},
		{Root: "/", Mountpoint: "/sys/fs/cgroup/systemd", Controllers: []string{"xattr"}},
		{Root: "/", Mountpoint: "/sys/fs/cgroup/with space", V2: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseMountinfo (-want +got):\n%s", diff)
	}
	mem, ok := got.controller("memory")
	if !ok {
		t.Fatal("memory hierarchy not found")
	}
	if rel, err := mem.relative("/ns/agent"); err != nil || rel != "/agent" {
		t.Errorf("relative(/ns/agent) = %q, %v; want /agent", rel, err)
	}
	if _, err := mem.relative("/elsewhere"); err == nil {
		t.Error("a cgroup outside the mount's root was accepted")
	}
}

func TestOutsideNai(t *testing.T) {
	for in, want := range map[string]string{
		"/":                               "/",
		"/process_api/7ed7":               "/process_api/7ed7",
		"/process_api/7ed7/nai":           "/process_api/7ed7",
		"/process_api/7ed7/nai/alloc-1":   "/process_api/7ed7",
		"/nai/alloc-1":                    "/",
		"/nai":                            "/",
		"/system.slice/nai.service":       "/system.slice/nai.service",
		"/system.slice/nai.service/nai/x": "/system.slice/nai.service",
	} {
		if got := outsideNai(in); got != want {
			t.Errorf("outsideNai(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModeOf(t *testing.T) {
	noMount := errors.New("no such file or directory")
	for _, tc := range []struct {
		name    string
		types   map[string]int64 // path -> filesystem magic; missing: statfs fails
		want    int
		wantErr bool
	}{
		{"unified", map[string]int64{"/sys/fs/cgroup": unix.CGROUP2_SUPER_MAGIC}, 2, false},
		{"legacy", map[string]int64{"/sys/fs/cgroup": unix.TMPFS_MAGIC}, 1, false},
		{"hybrid", map[string]int64{"/sys/fs/cgroup": unix.TMPFS_MAGIC, "/sys/fs/cgroup/unified": unix.CGROUP2_SUPER_MAGIC}, 1, false},
		{"nothing mounted", map[string]int64{}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := modeOf(func(p string) (int64, error) {
				if typ, ok := tc.types[p]; ok {
					return typ, nil
				}
				return 0, noMount
			})
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("modeOf = %d, %v; want %d (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestMode(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Skipf("no /sys/fs/cgroup: %v", err)
	}
	want := 1
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		want = 2
	}
	got, err := Mode()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Mode() = %d, want %d", got, want)
	}
}

// TestUsageFiles reads usage from control files as the kernel writes them
// (testdata/), for both versions, whatever this host runs.
func TestUsageFiles(t *testing.T) {
	v1 := func(dir string, ctrls ...string) func() (*structs.ResourceUsage, error) {
		var ds controllerDirs
		for _, c := range ctrls {
			ds = append(ds, controllerDir{c, filepath.Join("testdata", dir, c)})
		}
		return func() (*structs.ResourceUsage, error) { return v1Usage(ds) }
	}
	v2 := func(dir string) func() (*structs.ResourceUsage, error) {
		return func() (*structs.ResourceUsage, error) { return v2Usage(filepath.Join("testdata", dir)) }
	}
	for _, tc := range []struct {
		name    string
		read    func() (*structs.ResourceUsage, error)
		want    structs.ResourceUsage
		wantErr bool
	}{
		{"v1", v1("v1", "cpuacct", "memory"), structs.ResourceUsage{CPUSeconds: 0.123456789, MaxMemoryBytes: 128 << 20, OOMKills: 2}, false},
		{"v1 kernel without oom_kill", v1("v1-old-kernel", "memory"), structs.ResourceUsage{MaxMemoryBytes: 4096}, false},
		{"v1 files missing", v1("v1-old-kernel", "cpuacct"), structs.ResourceUsage{}, false},
		{"v1 no controllers", v1("v1"), structs.ResourceUsage{}, false},
		{"v2", v2("v2/full"), structs.ResourceUsage{CPUSeconds: 2.5, MaxMemoryBytes: 64 << 20, OOMKills: 1}, false},
		{"v2 without memory controller", v2("v2/cpu-only"), structs.ResourceUsage{CPUSeconds: 0.001}, false},
		{"v2 group gone", v2("v2/missing"), structs.ResourceUsage{}, false},
		{"v2 bad cpu.stat", v2("v2/bad"), structs.ResourceUsage{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProcsUnder(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("g/cgroup.procs", "12\n7\n")
	write("g/inner/cgroup.procs", "30\n")
	write("g/inner/deeper/cgroup.procs", "")
	write("bad/cgroup.procs", "12\nnot-a-pid\n")
	got, err := procsUnder(filepath.Join(dir, "g"))
	if err != nil || !slices.Equal(sortedUnique(got), []int{7, 12, 30}) {
		t.Errorf("procsUnder = %v, %v; want [7 12 30]", got, err)
	}
	if got, err := procsUnder(filepath.Join(dir, "gone")); err != nil || len(got) != 0 {
		t.Errorf("procsUnder of a missing cgroup = %v, %v; want none", got, err)
	}
	if _, err := procsUnder(filepath.Join(dir, "bad")); err == nil || !strings.Contains(err.Error(), "not-a-pid") {
		t.Errorf("procsUnder of a bad file: error %v, want it to name the bad pid", err)
	}
}

func TestValidateName(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "/abs", "x\x00y", strings.Repeat("n", 201)} {
		if err := ValidateName(name); err == nil {
			t.Errorf("ValidateName(%q) accepted", name)
		}
	}
	for _, name := range []string{"alloc-1", "3f2a9c1e-7d4b-4c1a-9b5e-0a1b2c3d4e5f"} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q): %v", name, err)
		}
	}
}
