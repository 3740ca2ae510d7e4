package cgroups

import (
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestV2Resources pins the translation of Limits to what containerd
// writes on cgroup v2, for hosts where the v2 controllers cannot be
// exercised (this project's CI hosts are v1).
func TestV2Resources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		name string
		l    Limits
		want *cgroup2.Resources
	}{
		{"nothing", Limits{}, &cgroup2.Resources{}},
		{"memory with swap off", Limits{MemoryBytes: 64 << 20}, &cgroup2.Resources{
			Memory: &cgroup2.Memory{Max: i64(64 << 20), Swap: i64(0)},
		}},
		{"half a core", Limits{CPU: 0.5}, &cgroup2.Resources{
			CPU: &cgroup2.CPU{Max: cgroup2.NewCPUMax(i64(50000), u64(100000))},
		}},
		{"pids", Limits{Pids: 64}, &cgroup2.Resources{Pids: &cgroup2.Pids{Max: 64}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := v2Resources(tc.l, -1)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("v2Resources (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("cpu.max text", func(t *testing.T) {
		r := v2Resources(Limits{CPU: 2.25}, -1)
		if got := string(r.CPU.Max); got != "225000 100000" {
			t.Errorf("cpu.max = %q, want \"225000 100000\"", got)
		}
		if got := r.EnabledControllers(); !cmp.Equal(got, []string{"cpu"}) {
			t.Errorf("controllers = %v, want [cpu] (no cpuset)", got)
		}
	})
	t.Run("devices deny all then allow", func(t *testing.T) {
		r := v2Resources(Limits{Devices: &DeviceRules{GPUs: []Device{{195, 3}}}}, 508)
		first := r.Devices[0]
		if first.Allow || first.Type != "a" || *first.Major != -1 || *first.Minor != -1 {
			t.Errorf("first rule %+v, want deny all", first)
		}
		var allowed []string
		for _, d := range r.Devices[1:] {
			if !d.Allow || d.Type != "c" {
				t.Errorf("rule %+v, want an allowed char device", d)
			}
			allowed = append(allowed, devString(d))
		}
		for _, want := range []string{"195:3 rw", "195:255 rw", "195:254 rw", "508:0 rw", "508:1 rw", "1:3 rwm", "136:-1 rwm"} {
			if !strings.Contains(strings.Join(allowed, ","), want) {
				t.Errorf("allowed %v lacks %s", allowed, want)
			}
		}
		// containerd must be able to compile the rules to eBPF.
		if _, _, err := cgroup2.DeviceFilter(r.Devices); err != nil {
			t.Errorf("DeviceFilter: %v", err)
		}
	})
}

func devString(d specs.LinuxDeviceCgroup) string {
	return strconv.FormatInt(*d.Major, 10) + ":" + strconv.FormatInt(*d.Minor, 10) + " " + d.Access
}

func TestV1Resources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		name  string
		l     Limits
		memsw bool
		want  *specs.LinuxResources
	}{
		{"nothing", Limits{}, true, &specs.LinuxResources{}},
		{"memory+swap equal turns swap off", Limits{MemoryBytes: 1 << 30}, true, &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: i64(1 << 30), Swap: i64(1 << 30)},
		}},
		{"no swap accounting: swappiness 0", Limits{MemoryBytes: 1 << 30}, false, &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: i64(1 << 30), Swappiness: u64(0)},
		}},
		{"cpu and pids", Limits{CPU: 4, Pids: 1000}, true, &specs.LinuxResources{
			CPU:  &specs.LinuxCPU{Quota: i64(400000), Period: u64(100000)},
			Pids: &specs.LinuxPids{Limit: i64(1000)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, v1Resources(tc.l, tc.memsw, -1)); diff != "" {
				t.Errorf("v1Resources (-want +got):\n%s", diff)
			}
		})
	}
}
